package metadata_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/metadata"
)

// The metadata server's access token is a working base for impersonation:
// from a Cloud Run service, an ID token as another account.
func TestAccessTokenAsImpersonationBase(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	runtimeSA := emu.NewServiceAccount("runtime")
	target := emu.NewServiceAccount("target")
	emu.SetMetadataServiceAccount(runtimeSA)
	emu.AllowImpersonation(runtimeSA.Email, target.Email)

	base, err := metadata.NewAccessTokenSource(context.Background(), metadata.AccessConfig{Host: emu.MetadataHost()})
	require.NoError(t, err)
	tok, err := base.Token()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "ya29."))
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, 5*time.Second)

	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: "https://svc.example", TargetPrincipal: target.Email, IncludeEmail: true,
		Base: base, Endpoint: emu.IAMCredentialsURL(),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataToken))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointGenerateIDToken))
}

func TestAccessTokenErrors(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	// No service account attached: 404.
	base, err := metadata.NewAccessTokenSource(context.Background(), metadata.AccessConfig{Host: emu.MetadataHost()})
	require.NoError(t, err)
	_, err = base.Token()
	require.ErrorIs(t, err, metadata.ErrNotFound)

	_, err = metadata.NewAccessTokenSource(context.Background(), metadata.AccessConfig{Account: "a/b"})
	require.ErrorIs(t, err, metadata.ErrBadConfig)
	_, err = metadata.NewAccessTokenSource(context.Background(), metadata.AccessConfig{Host: "http://x"})
	require.ErrorIs(t, err, metadata.ErrBadConfig)
}

func FuzzParseAccessToken(f *testing.F) {
	f.Add([]byte(`{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}`))
	f.Add([]byte(`{"access_token":"","expires_in":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		tok, err := metadata.ParseAccessToken(body, now)
		if err != nil {
			if tok != nil {
				t.Fatal("token with error")
			}
			if strings.Contains(err.Error(), "ya29") {
				t.Fatal("error quotes the token")
			}
			return
		}
		if tok.AccessToken == "" || !tok.Expiry.After(now) || tok.Expiry.After(now.Add(24*time.Hour)) {
			t.Fatalf("accepted an unusable token: %+v", tok)
		}
	})
}
