package impersonate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
)

// userFixture: a developer signed in with gcloud, holding the Token
// Creator role on the target.
func userFixture(t *testing.T) (*fixture, []byte, idtokentest.OAuthClient, string) {
	f := newFixture(t)
	client := f.emu.NewOAuthClient()
	dev := f.emu.NewUser("dev@example.com")
	rt := f.emu.IssueRefreshToken(client, dev)
	f.emu.AllowImpersonation(dev.Email, f.target.Email)
	return f, f.emu.AuthorizedUserJSON(client, rt), client, rt
}

func TestAuthorizedUserBase(t *testing.T) {
	t.Parallel()
	f, creds, _, _ := userFixture(t)
	base, err := impersonate.AuthorizedUserBase(context.Background(), creds, nil)
	require.NoError(t, err)
	at := token(t, base)
	assert.True(t, strings.HasPrefix(at.AccessToken, "ya29."), "an access token")
	assert.Empty(t, at.RefreshToken, "the refresh token never leaves the source")
	assert.False(t, at.Expiry.IsZero())

	// Any audience: a developer gets what Cloud Run wants.
	for _, audience := range []string{aud, "1234-abc.apps.googleusercontent.com"} {
		ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
			Audience: audience, TargetPrincipal: f.target.Email, IncludeEmail: true,
			Base: base, Endpoint: f.emu.IAMCredentialsURL(),
		})
		require.NoError(t, err)
		c := claims(t, token(t, ts).AccessToken)
		assert.Equal(t, audience, c["aud"])
		assert.Equal(t, f.target.Email, c["email"])
	}
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointToken), "the base is cached across sources")
}

// Round trips per cold token, base included: impersonation 1 + 1,
// keyless 2 + 1.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	f, creds, _, _ := userFixture(t)
	base, err := impersonate.AuthorizedUserBase(context.Background(), creds, nil)
	require.NoError(t, err)
	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: aud, TargetPrincipal: f.target.Email, Base: base, Endpoint: f.emu.IAMCredentialsURL(),
	})
	require.NoError(t, err)
	token(t, ts)
	assert.Equal(t, map[idtokentest.Endpoint]int{
		idtokentest.EndpointToken: 1, idtokentest.EndpointGenerateIDToken: 1,
	}, f.emu.Counts())

	f.emu.ResetCounts()
	base2, err := impersonate.AuthorizedUserBase(context.Background(), creds, nil)
	require.NoError(t, err)
	ks, err := impersonate.NewKeylessTokenSource(context.Background(), impersonate.KeylessConfig{
		Audience: aud, ServiceAccount: f.target.Email, Base: base2,
		IAMEndpoint: f.emu.IAMCredentialsURL(), TokenURL: f.emu.TokenURL(),
	})
	require.NoError(t, err)
	c := claims(t, token(t, ks).AccessToken)
	assert.Equal(t, f.target.Email, c["email"])
	assert.Equal(t, map[idtokentest.Endpoint]int{
		idtokentest.EndpointToken: 2, idtokentest.EndpointSignJWT: 1,
	}, f.emu.Counts())
}

func TestAuthorizedUserRevoked(t *testing.T) {
	t.Parallel()
	f, creds, client, rt := userFixture(t)
	f.emu.RevokeRefreshToken(rt)
	base, err := impersonate.AuthorizedUserBase(context.Background(), creds, nil)
	require.NoError(t, err)
	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: aud, TargetPrincipal: f.target.Email, Base: base, Endpoint: f.emu.IAMCredentialsURL(),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, impersonate.ErrBase)
	var he *impersonate.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 400, he.StatusCode)
	assert.Equal(t, "invalid_grant", he.Code)
	assert.Contains(t, err.Error(), "refreshing user credentials")
	assertNoSecret(t, err, rt, client.Secret)
	assert.Zero(t, f.emu.Count(idtokentest.EndpointGenerateIDToken))
}

func TestAuthorizedUserWithoutRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	client := f.emu.NewOAuthClient()
	rt := f.emu.IssueRefreshToken(client, f.emu.NewUser("nobody@example.com"))
	base, err := impersonate.AuthorizedUserBase(context.Background(), f.emu.AuthorizedUserJSON(client, rt), nil)
	require.NoError(t, err)
	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: aud, TargetPrincipal: f.target.Email, Base: base, Endpoint: f.emu.IAMCredentialsURL(), Retry: noRetry,
	})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *impersonate.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)
	assert.Equal(t, "PERMISSION_DENIED", he.Code)
}

func TestAuthorizedUserQuotaProject(t *testing.T) {
	t.Parallel()
	f, creds, _, _ := userFixture(t)
	var m map[string]any
	require.NoError(t, json.Unmarshal(creds, &m))
	m["quota_project_id"] = "billing"
	b, _ := json.Marshal(m)
	base, err := impersonate.AuthorizedUserBase(context.Background(), b, f.emu.Client())
	require.NoError(t, err)
	assert.Equal(t, "billing", token(t, base).Extra(impersonate.QuotaProjectExtra))
}

func TestParseAuthorizedUser(t *testing.T) {
	t.Parallel()
	secret, rt := "GOCSPX-topsecretvalue", "1//refresh-token-value"
	good := map[string]any{"type": "authorized_user", "client_id": "c", "client_secret": secret, "refresh_token": rt}
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for key, val := range good {
			c[key] = val
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return b
	}
	u, err := impersonate.ParseAuthorizedUser(with("x", nil))
	require.NoError(t, err)
	assert.Equal(t, impersonate.DefaultTokenURL, u.TokenURI)
	assert.NotContains(t, fmt.Sprint(u), secret)
	assert.NotContains(t, fmt.Sprint(u), rt)

	for name, tc := range map[string]struct {
		data []byte
		text string
	}{
		"not json":        {[]byte(`{"type":`), "not JSON (syntax error"},
		"service account": {with("type", "service_account"), `type is "service_account"`},
		"no secret":       {with("client_secret", nil), "missing client_secret"},
		"no refresh":      {with("refresh_token", ""), "missing refresh_token"},
		"bad token_uri":   {with("token_uri", "oauth2.googleapis.com/token"), "token_uri"},
		"wrong type":      {with("client_id", 5), `"client_id" has the wrong JSON type`},
	} {
		_, err := impersonate.ParseAuthorizedUser(tc.data)
		require.ErrorIs(t, err, impersonate.ErrInvalidUserCredentials, name)
		assert.Contains(t, err.Error(), tc.text, name)
		assertNoSecret(t, err, secret, rt)
		_, err = impersonate.AuthorizedUserBase(context.Background(), tc.data, nil)
		require.ErrorIs(t, err, impersonate.ErrInvalidUserCredentials, name)
	}
}

func FuzzParseAuthorizedUser(f *testing.F) {
	f.Add([]byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}`))
	f.Add([]byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"http://127.0.0.1:1/token"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := impersonate.ParseAuthorizedUser(data)
		if err != nil {
			if u != nil {
				t.Fatal("value and error")
			}
			return
		}
		if u.ClientID == "" || u.ClientSecret == "" || u.RefreshToken == "" || u.TokenURI == "" {
			t.Fatalf("accepted incomplete credentials %q", data)
		}
		if strings.Contains(u.String(), u.ClientSecret) && len(u.ClientSecret) > 8 && !strings.Contains(u.ClientID, u.ClientSecret) {
			t.Fatal("String leaks the secret")
		}
	})
}

func Example() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	target := emu.NewServiceAccount("invoker")
	client := emu.NewOAuthClient()
	dev := emu.NewUser("dev@example.com")
	emu.AllowImpersonation(dev.Email, target.Email)
	adc := emu.AuthorizedUserJSON(client, emu.IssueRefreshToken(client, dev)) // what gcloud writes

	base, err := impersonate.AuthorizedUserBase(context.Background(), adc, nil)
	if err != nil {
		panic(err)
	}
	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience:        "https://hello-abc123-uc.a.run.app",
		TargetPrincipal: target.Email,
		IncludeEmail:    true,
		Base:            base,
		Endpoint:        emu.IAMCredentialsURL(), // on Google: leave empty
	})
	if err != nil {
		panic(err)
	}
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType, tok.Expiry.Sub(emu.Now()).Round(time.Minute))
	// Output: Bearer 1h0m0s
}

var _ oauth2.TokenSource = (*countingBase)(nil)
