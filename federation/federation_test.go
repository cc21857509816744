package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idtokens/idtokens/internal/fakeclock"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	aud     = "https://hello-abc123-uc.a.run.app"
	subject = "repo:acme/app:ref:refs/heads/main"
)

var noRetry = federation.Retry{MaxAttempts: 1}

// fixture is an emulator with one workload identity pool provider, a
// service account the provider's principal may get ID tokens for, and a
// subject token file.
type fixture struct {
	emu       *idtokentest.Server
	p         *idtokentest.Provider
	sa        *idtokentest.ServiceAccount
	tokenFile string
	subject   string
}

func newFixture(t *testing.T, emuOpts idtokentest.Options, po idtokentest.ProviderOptions) *fixture {
	t.Helper()
	emu := idtokentest.NewServer(t, emuOpts)
	if po.Pool == "" {
		po.Pool, po.Provider = "ci-pool", "github"
	}
	p := emu.RegisterProvider(po)
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(p.Principal(subject), sa.Email)
	f := &fixture{emu: emu, p: p, sa: sa, tokenFile: filepath.Join(t.TempDir(), "token.jwt")}
	f.writeSubjectToken(t, p.SignSubjectToken(subject, "", time.Hour))
	return f
}

func (f *fixture) writeSubjectToken(t *testing.T, tok string) {
	t.Helper()
	f.subject = tok
	require.NoError(t, os.WriteFile(f.tokenFile, []byte(tok), 0o600))
}

// fileJSON is a file-sourced external_account file; sa non-empty adds a
// service_account_impersonation_url.
func (f *fixture) fileJSON(sa string) []byte {
	return f.p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: f.tokenFile, ServiceAccount: sa})
}

func claims(t *testing.T, tok *oauth2.Token) jwt.Claims {
	t.Helper()
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	require.NoError(t, err)
	return c
}

func total(emu *idtokentest.Server) int {
	n := 0
	for _, c := range emu.Counts() {
		n += c
	}
	return n
}

// Direct mode: no service_account_impersonation_url; STS then
// generateIdToken with the federated token: two round trips in all.
func TestDirectModeTwoRoundTrips(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience:        aud,
		CredentialsJSON: f.fileJSON(""),
		ServiceAccount:  f.sa.Email,
		IncludeEmail:    true,
		HTTPClient:      f.emu.Client(), // iamcredentials.googleapis.com → emulator
	})
	require.NoError(t, err)
	assert.Zero(t, total(f.emu), "construction sends nothing")

	tok, err := ts.Token()
	require.NoError(t, err)
	c := claims(t, tok)
	assert.Equal(t, []string{aud}, c.Audience)
	assert.Equal(t, f.sa.Email, c.Email)
	assert.Equal(t, f.sa.UniqueID, c.Subject)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	assert.Equal(t, c.Expiry, tok.Expiry)

	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSTS))
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.Equal(t, 0, f.emu.Count(idtokentest.EndpointGenerateAccessToken))
	assert.Equal(t, 2, total(f.emu), "two round trips in all")

	tok2, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok, tok2, "cached")
	assert.Equal(t, 2, total(f.emu))
}

// With service_account_impersonation_url the target comes from the URL,
// the IAM root too, and there is still no generateAccessToken hop.
func TestImpersonationURLNoExtraHop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	path := filepath.Join(t.TempDir(), "cred.json")
	require.NoError(t, os.WriteFile(path, f.fileJSON(f.sa.Email), 0o600))
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsFile: path, IncludeEmail: true,
	})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, f.sa.Email, claims(t, tok).Email)
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSTS))
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.Equal(t, 0, f.emu.Count(idtokentest.EndpointGenerateAccessToken), "no needless generateAccessToken hop")
	assert.Equal(t, 2, total(f.emu))

	// Config.ServiceAccount wins over the URL.
	other := f.emu.NewServiceAccount("other")
	f.emu.AllowImpersonation(f.p.Principal(subject), other.Email)
	ts, err = federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsFile: path, ServiceAccount: other.Email, IncludeEmail: true,
	})
	require.NoError(t, err)
	tok, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, other.Email, claims(t, tok).Email)
}

// Google's validator, pointed at the emulator, accepts the token.
func TestGoogleValidatorAcceptsToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email),
	})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(f.emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(context.Background(), tok.AccessToken, aud)
	require.NoError(t, err)
	assert.Equal(t, f.sa.UniqueID, p.Subject)
	_, err = v.Validate(context.Background(), tok.AccessToken, "https://other.example")
	require.Error(t, err)
}

func TestMissingServiceAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	_, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: f.fileJSON("")})
	require.ErrorIs(t, err, federation.ErrNoServiceAccount)
	assert.Contains(t, err.Error(), "service_account_impersonation_url")
	assert.NotContains(t, err.Error(), `"."`)
	assert.Zero(t, total(f.emu))
}

// A subject token STS rejects surfaces as *HTTPError with Google's code
// and message; no token appears in the error text.
func TestBadSubjectToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	stranger := f.emu.NewExternalIssuer(f.p.Issuer.URL) // same iss, other key
	cases := map[string]struct {
		tok  string
		want string
	}{
		"wrong audience":   {f.p.SignSubjectToken(subject, "https://elsewhere.example", time.Hour), "audience"},
		"foreign key":      {stranger.SignSubjectToken(subject, f.p.Audience(), time.Hour), "signature"},
		"expired":          {f.p.SignSubjectToken(subject, "", -time.Minute), "expired"},
		"not a JWT":        {"opaque-token-value", "parse"},
		"wrong issuer":     {f.emu.NewExternalIssuer("https://evil.example").SignSubjectToken(subject, f.p.Audience(), time.Hour), "signature"},
		"no sub":           {f.p.Issuer.Sign(map[string]any{"iss": f.p.Issuer.URL, "aud": f.p.Audience(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}), "sub"},
		"audience in list": {f.p.Issuer.Sign(map[string]any{"iss": f.p.Issuer.URL, "aud": []string{"x", "y"}, "sub": subject, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}), "audience"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Not parallel: the cases share the subject token file.
			f.writeSubjectToken(t, tc.tok)
			before := f.emu.Count(idtokentest.EndpointGenerateIDToken)
			ts, err := federation.NewTokenSource(context.Background(), federation.Config{
				Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email), Retry: noRetry,
			})
			require.NoError(t, err)
			_, err = ts.Token()
			require.Error(t, err)
			var he *federation.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusBadRequest, he.StatusCode)
			assert.Equal(t, "invalid_grant", he.Code)
			assert.Contains(t, strings.ToLower(he.Description), tc.want)
			assert.Equal(t, f.emu.STSURL(), he.Endpoint)
			assert.False(t, he.Temporary())
			assert.True(t, strings.HasPrefix(err.Error(), "federation: STS token exchange: HTTP 400"), err.Error())
			assert.NotContains(t, err.Error(), tc.tok)
			assert.Equal(t, before, f.emu.Count(idtokentest.EndpointGenerateIDToken), "no IAM call after a failed exchange")
		})
	}
}

func TestUnknownProvider(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	ext := &externalaccount.Config{
		Audience:         strings.Replace(f.p.Audience(), "ci-pool", "no-such-pool", 1),
		SubjectTokenType: idtokentest.TokenTypeJWT,
		TokenURL:         f.emu.STSURL(),
		CredentialSource: &externalaccount.CredentialSource{File: f.tokenFile},
	}
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, External: ext, ServiceAccount: f.sa.Email, IAMEndpoint: f.emu.IAMCredentialsURL(),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "invalid_target", he.Code)
}

// The federated principal lacks getOpenIdToken on the account: 403 with
// a hint naming the roles.
func TestIAMPermissionDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	locked := f.emu.NewServiceAccount("locked")
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(locked.Email), Retry: noRetry,
	})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusForbidden, he.StatusCode)
	assert.Equal(t, "PERMISSION_DENIED", he.Code)
	assert.Contains(t, he.Description, "iam.serviceAccounts.getOpenIdToken")
	assert.Contains(t, err.Error(), "roles/iam.workloadIdentityUser")
	assert.Contains(t, err.Error(), locked.Email)
	assert.NotContains(t, err.Error(), "ya29.", "no federated token in the error")
	assert.NotContains(t, err.Error(), f.subject)
}

func TestDelegates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	hop := f.emu.NewServiceAccount("hop")
	target := f.emu.NewServiceAccount("target")
	f.emu.AllowImpersonation(f.p.Principal(subject), hop.Email)
	f.emu.AllowImpersonation(hop.Email, target.Email)
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(target.Email), Delegates: []string{hop.Email}, IncludeEmail: true,
	})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, target.Email, claims(t, tok).Email)
}

// A transient STS failure is retried.
func TestSTSRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	f.emu.InjectFault(idtokentest.EndpointSTS, 1, idtokentest.Fault{Status: http.StatusServiceUnavailable})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email)})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, 2, f.emu.Count(idtokentest.EndpointSTS))
}

// Once the ID token (and the federated token, which lives no longer)
// expires, the source exchanges the subject token again: the rotated one
// a CI job wrote into the file.
func TestExpiredTokensReExchanged(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Now())
	f := newFixture(t, idtokentest.Options{Now: clock.Now, TokenLifetime: 20 * time.Minute},
		idtokentest.ProviderOptions{TokenLifetime: 10 * time.Minute})
	f.writeSubjectToken(t, f.p.SignSubjectToken(subject, "", 25*time.Minute))
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email), Now: clock.Now, EarlyRefresh: -1, Retry: noRetry,
	})
	require.NoError(t, err)
	tok1, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, clock.Now().Add(20*time.Minute).Unix(), tok1.Expiry.Unix())

	clock.Add(15 * time.Minute) // federated token expired, ID token still valid: no request
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok1, tok)
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSTS))

	clock.Add(15 * time.Minute) // ID token and subject token expired
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he, "the stale subject token is refused")
	assert.Contains(t, he.Description, "expired")
	assert.Equal(t, 2, f.emu.Count(idtokentest.EndpointSTS))

	f.writeSubjectToken(t, f.p.SignSubjectToken(subject, "", time.Hour)) // the CI rotates it
	clock.Add(2 * time.Minute)                                           // past the backoff
	tok2, err := ts.Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok1.AccessToken, tok2.AccessToken)
	assert.Equal(t, clock.Now().Add(20*time.Minute).Unix(), tok2.Expiry.Unix())
	assert.Equal(t, 3, f.emu.Count(idtokentest.EndpointSTS))
	assert.Equal(t, 2, f.emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.Equal(t, 0, f.emu.Count(idtokentest.EndpointGenerateAccessToken))
}

// In the early-refresh window the cached token is served while one
// background refresh (STS + IAM) runs.
func TestEarlyRefresh(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Now())
	f := newFixture(t, idtokentest.Options{Now: clock.Now}, idtokentest.ProviderOptions{})
	f.writeSubjectToken(t, f.p.SignSubjectToken(subject, "", 3*time.Hour))
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email), Now: clock.Now, EarlyRefresh: 10 * time.Minute,
	})
	require.NoError(t, err)
	tok1, err := ts.Token()
	require.NoError(t, err)
	clock.Add(55 * time.Minute)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok1, tok, "still valid: served from cache")
	require.Eventually(t, func() bool { return f.emu.Count(idtokentest.EndpointGenerateIDToken) == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		tok, err := ts.Token()
		return err == nil && tok.AccessToken != tok1.AccessToken
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2, f.emu.Count(idtokentest.EndpointSTS))
}

// URL-sourced subject token, JSON format with subject_token_field_name,
// request headers (GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL shape).
func TestURLSourcedJSONWithHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	var calls atomic.Int32
	var fail atomic.Bool
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "bearer request-token" || r.URL.Query().Get("audience") != f.p.Audience() || fail.Load() {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": f.p.SignSubjectToken(subject, "", time.Hour)})
	}))
	t.Cleanup(idp.Close)
	cred := f.p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{
		SubjectTokenURL:       idp.URL + "/token?audience=" + url.QueryEscape(f.p.Audience()),
		Headers:               map[string]string{"Authorization": "bearer request-token"},
		Format:                "json",
		SubjectTokenFieldName: "value",
		ServiceAccount:        f.sa.Email,
	})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred, IncludeEmail: true, Retry: noRetry})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, f.sa.Email, claims(t, tok).Email)
	assert.EqualValues(t, 1, calls.Load())

	// A failing subject-token URL is a typed error too, naming that URL.
	fail.Store(true)
	ts, err = federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred, Retry: noRetry})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.StatusCode)
	assert.Equal(t, idp.URL+"/token", he.Endpoint, "no query in the error")
	assert.True(t, strings.HasPrefix(err.Error(), "federation: subject token: "), err.Error())
	assert.NotContains(t, err.Error(), "request-token")
}

// A custom supplier gets the STS audience, token type and the caller's
// context values.
func TestCustomSupplier(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	type key struct{}
	var got externalaccount.SupplierOptions
	var gotValue any
	supplier := federation.SubjectTokenFunc(func(ctx context.Context, o externalaccount.SupplierOptions) (string, error) {
		got, gotValue = o, ctx.Value(key{})
		return f.p.SignSubjectToken(subject, "", time.Hour), nil
	})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud,
		External: &externalaccount.Config{
			Audience:             f.p.Audience(),
			SubjectTokenType:     idtokentest.TokenTypeIDToken,
			TokenURL:             f.emu.STSURL(),
			SubjectTokenSupplier: supplier,
		},
		ServiceAccount: f.sa.Email,
		IAMEndpoint:    f.emu.IAMCredentialsURL(),
		IncludeEmail:   true,
	})
	require.NoError(t, err)
	tok, err := ts.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}).TokenContext(context.WithValue(context.Background(), key{}, "caller"))
	require.NoError(t, err)
	assert.Equal(t, f.sa.Email, claims(t, tok).Email)
	assert.Equal(t, f.p.Audience(), got.Audience)
	assert.Equal(t, idtokentest.TokenTypeIDToken, got.SubjectTokenType)
	assert.Equal(t, "caller", gotValue)
	assert.Equal(t, 2, total(f.emu))

	// A supplier error is wrapped, not an HTTP error.
	boom := errors.New("vault unreachable")
	ts, err = federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud,
		External: &externalaccount.Config{
			Audience: f.p.Audience(), SubjectTokenType: idtokentest.TokenTypeJWT, TokenURL: f.emu.STSURL(),
			SubjectTokenSupplier: federation.SubjectTokenFunc(func(context.Context, externalaccount.SupplierOptions) (string, error) { return "", boom }),
		},
		ServiceAccount: f.sa.Email,
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, federation.ErrSubjectToken)
	assert.Contains(t, err.Error(), "vault unreachable")
}

// Workforce pools: workforce_pool_user_project reaches STS as
// options={"userProject":…}.
func TestWorkforcePoolUserProject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{Pool: "staff", Provider: "okta", Workforce: true})
	assert.Equal(t, "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta", f.p.Audience())
	rec := &formRecorder{base: f.emu.Transport(nil)}
	cred := f.p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: f.tokenFile, WorkforcePoolUserProject: "987654321"})
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: cred, ServiceAccount: f.sa.Email, HTTPClient: &http.Client{Transport: rec},
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	form := rec.form(idtokentest.EndpointSTS)
	require.NotNil(t, form)
	assert.JSONEq(t, `{"userProject":"987654321"}`, form.Get("options"))
	assert.Equal(t, f.p.Audience(), form.Get("audience"))
	assert.Equal(t, "urn:ietf:params:oauth:grant-type:token-exchange", form.Get("grant_type"))
	assert.Equal(t, "urn:ietf:params:oauth:token-type:access_token", form.Get("requested_token_type"))
	assert.Equal(t, federation.CloudPlatformScope, form.Get("scope"))
	assert.Equal(t, f.subject, form.Get("subject_token"))

	// Without it, STS refuses the workforce exchange.
	ts, err = federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(""), ServiceAccount: f.sa.Email, HTTPClient: f.emu.Client(),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "invalid_request", he.Code)

	// And x/oauth2 refuses a user project on a workload pool at construction.
	g := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	_, err = federation.NewTokenSource(context.Background(), federation.Config{
		Audience:        aud,
		CredentialsJSON: g.p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: g.tokenFile, WorkforcePoolUserProject: "1"}),
		ServiceAccount:  g.sa.Email,
	})
	require.ErrorIs(t, err, federation.ErrInvalidCredentials)
}

// formRecorder keeps the form of the last STS request.
type formRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	sts  url.Values
}

func (r *formRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/v1/token" && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		v, _ := url.ParseQuery(string(b))
		r.mu.Lock()
		r.sts = v
		r.mu.Unlock()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return r.base.RoundTrip(req)
}

func (r *formRecorder) form(idtokentest.Endpoint) url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sts
}

// Executable-sourced credentials are refused unless
// GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1, as in Google's libraries;
// with it they work. Not parallel: t.Setenv.
func TestExecutableSource(t *testing.T) {
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	dir := t.TempDir()
	out, err := json.Marshal(map[string]any{
		"version": 1, "success": true, "token_type": idtokentest.TokenTypeJWT,
		"id_token": f.p.SignSubjectToken(subject, "", time.Hour), "expiration_time": time.Now().Add(time.Hour).Unix(),
	})
	require.NoError(t, err)
	script := filepath.Join(dir, "token.sh")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out.json"), out, 0o600))
	require.NoError(t, os.WriteFile(script, fmt.Appendf(nil, "#!/bin/sh\ncat %s\n", filepath.Join(dir, "out.json")), 0o700))
	cred, err := json.Marshal(map[string]any{
		"type": "external_account", "audience": f.p.Audience(), "subject_token_type": idtokentest.TokenTypeJWT,
		"token_url":                         f.emu.STSURL(),
		"service_account_impersonation_url": f.emu.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + f.sa.Email + ":generateAccessToken",
		"credential_source":                 map[string]any{"executable": map[string]any{"command": script, "timeout_millis": 5000}},
	})
	require.NoError(t, err)

	t.Setenv(federation.AllowExecutablesEnv, "")
	_, err = federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred})
	require.ErrorIs(t, err, federation.ErrExecutableNotAllowed)
	assert.Contains(t, err.Error(), "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1")
	assert.Zero(t, total(f.emu))

	t.Setenv(federation.AllowExecutablesEnv, "1")
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred, IncludeEmail: true})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, f.sa.Email, claims(t, tok).Email)
	assert.Equal(t, 2, total(f.emu))
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	good := f.fileJSON(f.sa.Email)
	var m map[string]any
	require.NoError(t, json.Unmarshal(good, &m))
	const secret = "GOCSPX-very-secret"
	with := func(k string, v any) []byte {
		c := map[string]any{"client_id": "cid", "client_secret": secret}
		for key, val := range m {
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
	cases := map[string]struct {
		cfg  federation.Config
		want error
		text string
	}{
		"no audience":      {federation.Config{CredentialsJSON: good}, federation.ErrNoAudience, "Audience is required"},
		"no credentials":   {federation.Config{Audience: aud}, federation.ErrNoCredentials, "exactly one"},
		"two credentials":  {federation.Config{Audience: aud, CredentialsJSON: good, CredentialsFile: "x"}, federation.ErrNoCredentials, "exactly one"},
		"missing file":     {federation.Config{Audience: aud, CredentialsFile: filepath.Join(t.TempDir(), "nope.json")}, os.ErrNotExist, "reading credentials file"},
		"malformed":        {federation.Config{Audience: aud, CredentialsJSON: []byte(`{"type":`)}, federation.ErrInvalidCredentials, "not JSON"},
		"array":            {federation.Config{Audience: aud, CredentialsJSON: []byte(`[]`)}, federation.ErrInvalidCredentials, "not a JSON object"},
		"wrong type":       {federation.Config{Audience: aud, CredentialsJSON: with("type", "service_account")}, federation.ErrInvalidCredentials, `type is "service_account"`},
		"no type":          {federation.Config{Audience: aud, CredentialsJSON: with("type", nil)}, federation.ErrInvalidCredentials, `no "type"`},
		"audience number":  {federation.Config{Audience: aud, CredentialsJSON: with("audience", 5)}, federation.ErrInvalidCredentials, `"audience" has the wrong JSON type`},
		"no sts audience":  {federation.Config{Audience: aud, CredentialsJSON: with("audience", nil)}, federation.ErrInvalidCredentials, "missing audience"},
		"no token type":    {federation.Config{Audience: aud, CredentialsJSON: with("subject_token_type", nil)}, federation.ErrInvalidCredentials, "missing subject_token_type"},
		"no source":        {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", nil)}, federation.ErrInvalidCredentials, "missing credential_source"},
		"empty source":     {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", map[string]any{})}, federation.ErrInvalidCredentials, "exactly one of file, url"},
		"two sources":      {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", map[string]any{"file": "a", "url": "https://b"})}, federation.ErrInvalidCredentials, "exactly one of file, url"},
		"bad format":       {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", map[string]any{"file": "a", "format": map[string]any{"type": "xml"}})}, federation.ErrInvalidCredentials, `"xml"`},
		"json no field":    {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", map[string]any{"file": "a", "format": map[string]any{"type": "json"}})}, federation.ErrInvalidCredentials, "subject_token_field_name"},
		"aws2":             {federation.Config{Audience: aud, CredentialsJSON: with("credential_source", map[string]any{"environment_id": "aws2"})}, federation.ErrInvalidCredentials, "aws2"},
		"relative url":     {federation.Config{Audience: aud, CredentialsJSON: with("token_url", "/v1/token")}, federation.ErrInvalidCredentials, "token_url is not an absolute"},
		"bad imperson url": {federation.Config{Audience: aud, CredentialsJSON: with("service_account_impersonation_url", "https://iam.example/v1/sa:getIt")}, federation.ErrInvalidCredentials, "service_account_impersonation_url"},
		"bad iam endpoint": {federation.Config{Audience: aud, CredentialsJSON: good, IAMEndpoint: "iam"}, nil, "IAM endpoint"},
		"bad delegate":     {federation.Config{Audience: aud, CredentialsJSON: good, Delegates: []string{"projects/x/y"}}, nil, "delegate"},
		"sa not email":     {federation.Config{Audience: aud, CredentialsJSON: good, ServiceAccount: "a/b"}, nil, "not an email"},
		"no target": {federation.Config{Audience: aud, External: &externalaccount.Config{
			Audience: f.p.Audience(), SubjectTokenType: idtokentest.TokenTypeJWT, CredentialSource: &externalaccount.CredentialSource{File: "x"},
		}}, federation.ErrNoServiceAccount, "no target service account"},
		"external invalid": {federation.Config{Audience: aud, ServiceAccount: f.sa.Email, External: &externalaccount.Config{
			Audience: f.p.Audience(), CredentialSource: &externalaccount.CredentialSource{File: "x"},
		}}, federation.ErrInvalidCredentials, "Subject token type must be set"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := federation.NewTokenSource(context.Background(), tc.cfg)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "federation: "), err.Error())
			assert.NotContains(t, err.Error(), secret)
		})
	}
	assert.Zero(t, total(f.emu), "bad config never reaches the network")
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := federation.NewTokenSource(ctx, federation.Config{Audience: aud})
	require.ErrorIs(t, err, context.Canceled)
}

type staticAWS struct {
	region string
	creds  externalaccount.AwsSecurityCredentials
	calls  atomic.Int32
}

func (s *staticAWS) AwsRegion(context.Context, externalaccount.SupplierOptions) (string, error) {
	return s.region, nil
}

func (s *staticAWS) AwsSecurityCredentials(context.Context, externalaccount.SupplierOptions) (*externalaccount.AwsSecurityCredentials, error) {
	s.calls.Add(1)
	c := s.creds
	return &c, nil
}

const awsARN = "arn:aws:sts::111122223333:assumed-role/ci-runner/i-0abc"

// AWS: x/oauth2 signs a GetCallerIdentity request (SigV4) as the subject
// token; the emulator's AWS provider checks the signature.
func TestAWSSupplier(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	p := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "aws-pool", Provider: "aws", AWS: true})
	p.AddAWSCredentials("AKIAEMULATOR", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", awsARN)
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(p.Principal(awsARN), sa.Email)
	sup := &staticAWS{region: "eu-west-1", creds: externalaccount.AwsSecurityCredentials{
		AccessKeyID: "AKIAEMULATOR", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SessionToken: "session",
	}}
	cfg := federation.Config{
		Audience: aud,
		External: &externalaccount.Config{
			Audience:                       p.Audience(),
			SubjectTokenType:               idtokentest.TokenTypeAWS4Request,
			TokenURL:                       emu.STSURL(),
			AwsSecurityCredentialsSupplier: sup,
		},
		ServiceAccount: sa.Email,
		IAMEndpoint:    emu.IAMCredentialsURL(),
		IncludeEmail:   true,
		Retry:          noRetry,
	}
	ts, err := federation.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, sa.Email, claims(t, tok).Email)
	assert.EqualValues(t, 1, sup.calls.Load())
	assert.Equal(t, 2, total(emu))

	// A wrong secret: the signature does not match.
	bad := &staticAWS{region: "eu-west-1", creds: externalaccount.AwsSecurityCredentials{AccessKeyID: "AKIAEMULATOR", SecretAccessKey: "wrong"}}
	ext := *cfg.External
	ext.AwsSecurityCredentialsSupplier = bad
	cfg.External = &ext
	ts, err = federation.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	var he *federation.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "invalid_grant", he.Code)
	assert.Contains(t, he.Description, "signature")
	assert.NotContains(t, err.Error(), "wrong")
}

// AWS from an external_account file (environment_id aws1) with the
// credentials in the environment, as on a CI runner. Not parallel: t.Setenv.
func TestAWSFileFromEnvironment(t *testing.T) {
	emu := idtokentest.NewServer(t)
	p := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "aws-pool", Provider: "aws", AWS: true})
	p.AddAWSCredentials("AKIAENVIRONMENT", "env-secret", awsARN)
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(p.Principal(awsARN), sa.Email)
	t.Setenv("AWS_REGION", "us-east-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	cred, err := json.Marshal(map[string]any{
		"type": "external_account", "audience": p.Audience(), "subject_token_type": idtokentest.TokenTypeAWS4Request,
		"token_url":                         emu.STSURL(),
		"service_account_impersonation_url": emu.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + sa.Email + ":generateAccessToken",
		"credential_source": map[string]any{
			"environment_id":                 "aws1",
			"region_url":                     "http://169.254.169.254/latest/meta-data/placement/availability-zone",
			"url":                            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
			"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
		},
	})
	require.NoError(t, err)
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred, IncludeEmail: true})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, sa.Email, claims(t, tok).Email)
	assert.Equal(t, 2, total(emu), "no AWS metadata request: credentials from the environment")
}

// universe_domain picks the STS and IAM hosts when the file names neither.
func TestUniverseDomainEndpoints(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	idt := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud, Subject: "1"})
	var mu sync.Mutex
	var hosts []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, r.URL.Host)
		mu.Unlock()
		body := `{"token":"` + idt + `"}`
		if r.URL.Path == "/v1/token" {
			body = `{"access_token":"fed","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`
		}
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	cred, err := json.Marshal(map[string]any{
		"type": "external_account", "universe_domain": "example.goog",
		"audience":           "//iam.example.goog/projects/1/locations/global/workloadIdentityPools/p/providers/x",
		"subject_token_type": idtokentest.TokenTypeJWT,
		"credential_source":  map[string]any{"file": filepath.Join(t.TempDir(), "missing")},
	})
	require.NoError(t, err)
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: cred, ServiceAccount: "sa@p.iam.gserviceaccount.com", HTTPClient: &http.Client{Transport: rt},
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, federation.ErrSubjectToken, "the subject token file is missing")
	assert.Empty(t, hosts)

	ts, err = federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, ServiceAccount: "sa@p.iam.gserviceaccount.com", HTTPClient: &http.Client{Transport: rt},
		External: &externalaccount.Config{
			Audience: "//iam.example.goog/projects/1/locations/global/workloadIdentityPools/p/providers/x", UniverseDomain: "example.goog",
			SubjectTokenType:     idtokentest.TokenTypeJWT,
			SubjectTokenSupplier: federation.SubjectTokenFunc(func(context.Context, externalaccount.SupplierOptions) (string, error) { return "t", nil }),
		},
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, []string{"sts.example.goog", "iamcredentials.example.goog"}, hosts)
}

// Concurrent callers share one refresh: one STS exchange, one IAM call.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	f.emu.SetLatency(20 * time.Millisecond)
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email)})
	require.NoError(t, err)
	var wg sync.WaitGroup
	toks := make([]*oauth2.Token, 16)
	for i := range toks {
		wg.Go(func() {
			tok, err := ts.Token()
			assert.NoError(t, err)
			toks[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range toks {
		assert.Same(t, toks[0], tok)
	}
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSTS))
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
}
