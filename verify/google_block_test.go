package verify_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

// A metadata-server token requested with format=full carries
// google.compute_engine; it must verify and expose the block. A block of
// an unknown shape must not make a genuine token unusable: Google is then
// nil (no access levels: denies rather than grants).
func TestGoogleBlock(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	const aud = "https://svc.example"
	v, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{aud}, KeysURL: emu.CertsURL()})
	require.NoError(t, err)

	good := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud, Email: "vm@p.iam.gserviceaccount.com", Extra: map[string]any{
		"google": map[string]any{"compute_engine": map[string]any{"project_id": "p", "project_number": 42, "zone": "us-central1-a"}},
	}})
	c, err := v.Verify(context.Background(), good)
	require.NoError(t, err)
	require.NotNil(t, c.Google)
	require.NotNil(t, c.Google.ComputeEngine)
	assert.EqualValues(t, 42, c.Google.ComputeEngine.ProjectNumber)
	assert.Equal(t, "us-central1-a", c.Google.ComputeEngine.Zone)

	odd := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud, Extra: map[string]any{
		"google": map[string]any{"compute_engine": map[string]any{"project_number": "not-a-number"}},
	}})
	c, err = v.Verify(context.Background(), odd)
	require.NoError(t, err)
	assert.Nil(t, c.Google)
	assert.Contains(t, string(c.Raw), "not-a-number")
}

func TestKeysURLMustBeHTTPSOffLoopback(t *testing.T) {
	t.Parallel()
	for url, ok := range map[string]bool{
		"https://keys.example/jwks":    true,
		"http://127.0.0.1:8080/jwks":   true,
		"http://[::1]:8080/jwks":       true,
		"http://localhost/jwks":        true,
		"http://keys.example/jwks":     false,
		"http://10.0.0.1/jwks":         false,
		"http://127.0.0.1.nip.io/jwks": false,
		"ftp://keys.example/jwks":      false,
	} {
		_, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{"a"}, KeysURL: url})
		if ok {
			assert.NoError(t, err, url)
		} else {
			assert.ErrorIs(t, err, verify.ErrConfig, url)
		}
	}
}
