package impersonate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
)

func (f *fixture) keyless() impersonate.KeylessConfig {
	return impersonate.KeylessConfig{
		Audience: aud, ServiceAccount: f.target.Email, Base: f.base,
		IAMEndpoint: f.emu.IAMCredentialsURL(), TokenURL: f.emu.TokenURL(), Retry: noRetry,
	}
}

func TestKeyless(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts, err := impersonate.NewKeylessTokenSource(context.Background(), f.keyless())
	require.NoError(t, err)
	tok := token(t, ts)
	c := claims(t, tok.AccessToken)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, f.target.Email, c["email"], "like a key file: email always present")
	assert.Equal(t, f.target.UniqueID, c["sub"])
	assert.Equal(t, time.Unix(int64(c["exp"].(float64)), 0).UTC(), tok.Expiry)
	assert.Same(t, tok, token(t, ts))
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSignJWT))
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointToken))
	assert.Zero(t, f.emu.Count(idtokentest.EndpointGenerateIDToken))

	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(f.emu.Client()))
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), tok.AccessToken, aud)
	require.NoError(t, err)
}

// With the default token URL the assertion's aud is Google's token URL;
// the emulator accepts it too (the transport routes Google's hosts to it).
func TestKeylessDefaultURLs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.keyless()
	cfg.IAMEndpoint, cfg.TokenURL, cfg.HTTPClient = "", "", f.emu.Client()
	ts, err := impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, f.target.Email, claims(t, token(t, ts).AccessToken)["email"])
}

func TestKeylessFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	stranger := f.emu.NewServiceAccount("stranger2")
	strangerTok, _ := f.emu.IssueAccessToken(stranger.Email, 0)

	cfg := f.keyless()
	cfg.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: strangerTok})
	ts, err := impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	var he *impersonate.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)
	assert.Contains(t, err.Error(), "impersonate: signJwt for "+f.target.Email)
	assert.Zero(t, f.emu.Count(idtokentest.EndpointToken), "no exchange without a signature")

	cfg = f.keyless()
	cfg.ServiceAccount = "ghost@idtokens-emulator.iam.gserviceaccount.com"
	ts, err = impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 404, he.StatusCode)

	// A clock two hours ahead: IAM signs (exp is within 12 h), the token
	// endpoint refuses the assertion (iat in the future).
	cfg = f.keyless()
	cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	ts, err = impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 400, he.StatusCode)
	assert.Equal(t, "invalid_grant", he.Code)
	assert.Contains(t, err.Error(), "impersonate: exchanging the signed assertion")

	// A clock two hours behind: the assertion's exp is in the past and
	// IAM refuses to sign it.
	cfg.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	ts, err = impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 400, he.StatusCode)
	assert.Equal(t, "INVALID_ARGUMENT", he.Code)
	assert.Contains(t, err.Error(), "impersonate: signJwt for")
}

func TestKeylessDelegates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hop := f.emu.NewServiceAccount("hop")
	end := f.emu.NewServiceAccount("end")
	f.emu.AllowImpersonation(f.caller.Email, hop.Email)
	f.emu.AllowImpersonation(hop.Email, end.Email)
	cfg := f.keyless()
	cfg.ServiceAccount, cfg.Delegates = end.Email, []string{hop.Email}
	ts, err := impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, end.Email, claims(t, token(t, ts).AccessToken)["email"])

	cfg.Delegates = nil // caller may not sign for end directly
	ts, err = impersonate.NewKeylessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	var he *impersonate.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)
}

// The assertion handed to signJwt and then to the token endpoint.
func TestKeylessWireFormat(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var signReq map[string]any
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, ":signJwt"):
			_ = json.NewDecoder(r.Body).Decode(&signReq)
			_, _ = w.Write([]byte(`{"keyId":"k1","signedJwt":"signed.assertion.sig"}`))
		case r.URL.Path == "/token":
			_ = r.ParseForm()
			form = r.PostForm
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
		}
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1_800_000_000, 0)
	ts, err := impersonate.NewKeylessTokenSource(context.Background(), impersonate.KeylessConfig{
		Audience: aud, ServiceAccount: "sa@p.iam.gserviceaccount.com", Delegates: []string{"d@p.iam.gserviceaccount.com"},
		Base: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.base"}), IAMEndpoint: srv.URL + "/",
		TokenURL: srv.URL + "/token", Retry: noRetry, Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "signed.assertion.sig")

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []any{"projects/-/serviceAccounts/d@p.iam.gserviceaccount.com"}, signReq["delegates"])
	var payload map[string]any
	require.NoError(t, json.Unmarshal([]byte(signReq["payload"].(string)), &payload))
	assert.Equal(t, map[string]any{
		"iss": "sa@p.iam.gserviceaccount.com", "aud": srv.URL + "/token",
		"iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix()), "target_audience": aud,
	}, payload)
	assert.Equal(t, "urn:ietf:params:oauth:grant-type:jwt-bearer", form.Get("grant_type"))
	assert.Equal(t, "signed.assertion.sig", form.Get("assertion"))
}

func TestKeylessConfigErrors(t *testing.T) {
	t.Parallel()
	base := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "a"})
	for name, tc := range map[string]struct {
		cfg  impersonate.KeylessConfig
		want error
	}{
		"no audience":  {impersonate.KeylessConfig{ServiceAccount: "s@p", Base: base}, impersonate.ErrNoAudience},
		"no account":   {impersonate.KeylessConfig{Audience: aud, Base: base}, impersonate.ErrNoTarget},
		"no base":      {impersonate.KeylessConfig{Audience: aud, ServiceAccount: "s@p"}, impersonate.ErrNoBase},
		"bad tokenURL": {impersonate.KeylessConfig{Audience: aud, ServiceAccount: "s@p", Base: base, TokenURL: "/token"}, impersonate.ErrBadConfig},
	} {
		_, err := impersonate.NewKeylessTokenSource(context.Background(), tc.cfg)
		assert.ErrorIs(t, err, tc.want, name)
	}
}
