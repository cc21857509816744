package impersonate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/internal/jwt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const aud = "https://hello-abc123-uc.a.run.app"

var noRetry = httpx.Retry{MaxAttempts: 1}

// fixture is an emulator with a caller allowed to impersonate a target.
type fixture struct {
	emu            *idtokentest.Server
	caller, target *idtokentest.ServiceAccount
	base           *countingBase
}

func newFixture(t *testing.T) *fixture {
	emu := idtokentest.NewServer(t)
	f := &fixture{emu: emu, caller: emu.NewServiceAccount("caller"), target: emu.NewServiceAccount("target")}
	emu.AllowImpersonation(f.caller.Email, f.target.Email)
	tok, _ := emu.IssueAccessToken(f.caller.Email, 0)
	f.base = &countingBase{tok: &oauth2.Token{AccessToken: tok, TokenType: "Bearer"}}
	return f
}

func (f *fixture) config() impersonate.Config {
	return impersonate.Config{
		Audience: aud, TargetPrincipal: f.target.Email, Base: f.base,
		Endpoint: f.emu.IAMCredentialsURL(), Retry: noRetry,
	}
}

// countingBase is a base token source with TokenContext that counts calls
// and records the context it was given.
type countingBase struct {
	tok *oauth2.Token
	err error
	n   atomic.Int32
	ctx atomic.Value
}

func (b *countingBase) Token() (*oauth2.Token, error) { return b.TokenContext(context.Background()) }
func (b *countingBase) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	b.n.Add(1)
	b.ctx.Store(ctx)
	return b.tok, b.err
}

// claims decodes a token's payload.
func claims(t *testing.T, raw string) map[string]any {
	t.Helper()
	p, err := jwt.Split(raw)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(p.Payload, &m))
	return m
}

func token(t *testing.T, ts oauth2.TokenSource) *oauth2.Token {
	t.Helper()
	tok, err := ts.Token()
	require.NoError(t, err)
	return tok
}

func TestGenerateIDToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.config()
	cfg.IncludeEmail = true
	ts, err := impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	assert.Zero(t, f.base.n.Load(), "construction makes no call")

	tok := token(t, ts)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	c := claims(t, tok.AccessToken)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, f.target.Email, c["email"])
	assert.Equal(t, f.target.UniqueID, c["sub"])
	assert.Equal(t, time.Unix(int64(c["exp"].(float64)), 0).UTC(), tok.Expiry)

	assert.Same(t, tok, token(t, ts), "cached")
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.EqualValues(t, 1, f.base.n.Load())

	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(f.emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(context.Background(), tok.AccessToken, aud)
	require.NoError(t, err)
	assert.Equal(t, f.target.Email, p.Claims["email"])
}

func TestIncludeEmailFalse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts, err := impersonate.NewTokenSource(context.Background(), f.config())
	require.NoError(t, err)
	c := claims(t, token(t, ts).AccessToken)
	assert.NotContains(t, c, "email")
	assert.NotContains(t, c, "email_verified")
	assert.Equal(t, f.target.UniqueID, c["sub"])
}

func TestIAMFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	stranger := f.emu.NewServiceAccount("stranger")
	strangerTok, _ := f.emu.IssueAccessToken(stranger.Email, 0)
	shortTok, _ := f.emu.IssueAccessToken(f.caller.Email, time.Minute)

	cases := map[string]struct {
		mod    func(*impersonate.Config)
		status int
		code   string
		skew   bool
	}{
		"no token creator role": {func(c *impersonate.Config) {
			c.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: strangerTok})
		}, 403, "PERMISSION_DENIED", false},
		"unknown target": {func(c *impersonate.Config) {
			c.TargetPrincipal = "ghost@idtokens-emulator.iam.gserviceaccount.com"
		}, 404, "NOT_FOUND", false},
		"unknown base token": {func(c *impersonate.Config) {
			c.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.forged"})
		}, 401, "UNAUTHENTICATED", false},
		"expired base token": {func(c *impersonate.Config) {
			c.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: shortTok})
		}, 401, "UNAUTHENTICATED", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			emu := f.emu
			if tc.skew {
				// Its own emulator: the clock moves past the base token's expiry.
				g := newFixture(t)
				emu = g.emu
				tok, _ := emu.IssueAccessToken(g.caller.Email, time.Minute)
				emu.SetClockSkew(2 * time.Minute)
				tc.mod = func(c *impersonate.Config) {
					c.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})
					c.Endpoint, c.TargetPrincipal = emu.IAMCredentialsURL(), g.target.Email
				}
			} else {
				t.Parallel()
			}
			cfg := f.config()
			tc.mod(&cfg)
			ts, err := impersonate.NewTokenSource(context.Background(), cfg)
			require.NoError(t, err)
			_, err = ts.Token()
			var he *impersonate.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tc.status, he.StatusCode)
			assert.Equal(t, tc.code, he.Code)
			assert.False(t, he.Temporary())
			assert.True(t, strings.HasPrefix(err.Error(), "impersonate: generateIdToken for "), err.Error())
			assertNoSecret(t, err, strangerTok, shortTok, f.base.tok.AccessToken)
		})
	}
}

func TestDelegates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d1 := f.emu.NewServiceAccount("hop1")
	d2 := f.emu.NewServiceAccount("hop2")
	end := f.emu.NewServiceAccount("end")
	f.emu.AllowImpersonation(f.caller.Email, d1.Email)
	f.emu.AllowImpersonation(d1.Email, d2.Email)
	f.emu.AllowImpersonation(d2.Email, end.Email)

	cfg := f.config()
	cfg.TargetPrincipal, cfg.IncludeEmail = end.Email, true
	cfg.Delegates = []string{d1.Email, "projects/-/serviceAccounts/" + d2.Email} // both spellings
	ts, err := impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, end.Email, claims(t, token(t, ts).AccessToken)["email"])

	// Broken link: hop1 may not impersonate end directly.
	cfg.Delegates = []string{d1.Email}
	ts, err = impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	var he *impersonate.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.StatusCode)

	// Unknown delegate.
	cfg.Delegates = []string{"nobody@idtokens-emulator.iam.gserviceaccount.com"}
	ts, err = impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 404, he.StatusCode)
}

func TestBaseFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.config()
	boom := errors.New("boom")
	cfg.Base = &countingBase{err: boom}
	ts, err := impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, impersonate.ErrBase)
	require.ErrorIs(t, err, boom)

	cfg.Base = &countingBase{tok: &oauth2.Token{}}
	ts, err = impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, impersonate.ErrBase)
	assert.Zero(t, f.emu.Count(idtokentest.EndpointGenerateIDToken), "no IAM call without a base token")
}

type ctxKey struct{}

func TestContextReachesBase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts, err := impersonate.NewTokenSource(context.Background(), f.config())
	require.NoError(t, err)
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	_, err = ts.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}).TokenContext(ctx)
	require.NoError(t, err)
	got := f.base.ctx.Load().(context.Context)
	assert.Equal(t, "v", got.Value(ctxKey{}))
}

// The request on the wire, checked by a recording server.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var path, authz, quota, ctype string
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		path, authz, quota, ctype = r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("X-Goog-User-Project"), r.Header.Get("Content-Type")
		_ = json.Unmarshal(b, &body)
		mu.Unlock()
		w.WriteHeader(500)
	}))
	t.Cleanup(srv.Close)
	base := oauth2.StaticTokenSource((&oauth2.Token{AccessToken: "ya29.base"}).WithExtra(map[string]any{impersonate.QuotaProjectExtra: "billing-proj"}))
	ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: aud, TargetPrincipal: "t@p.iam.gserviceaccount.com", Delegates: []string{"d@p.iam.gserviceaccount.com"},
		IncludeEmail: true, Base: base, Endpoint: srv.URL, Retry: noRetry,
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateIdToken", path)
	assert.Equal(t, "Bearer ya29.base", authz)
	assert.Equal(t, "billing-proj", quota)
	assert.Equal(t, "application/json", ctype)
	assert.Equal(t, map[string]any{
		"audience": aud, "includeEmail": true,
		"delegates": []any{"projects/-/serviceAccounts/d@p.iam.gserviceaccount.com"},
	}, body)
	assert.NotContains(t, err.Error(), "ya29.base")
}

func TestReplyFailures(t *testing.T) {
	t.Parallel()
	noExp := "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln"
	cases := map[string]struct {
		body string
		want error
	}{
		"not json":    {`<html>`, impersonate.ErrBadReply},
		"no token":    {`{"accessToken":"x"}`, impersonate.ErrBadReply},
		"token array": {`{"token":["x"]}`, impersonate.ErrBadReply},
		"no exp":      {`{"token":"` + noExp + `"}`, impersonate.ErrInvalidToken},
		"not a jwt":   {`{"token":"abc"}`, impersonate.ErrInvalidToken},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			ts, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
				Audience: aud, TargetPrincipal: "t@p", Base: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "a"}), Endpoint: srv.URL,
			})
			require.NoError(t, err)
			_, err = ts.Token()
			require.ErrorIs(t, err, tc.want)
			assert.NotContains(t, err.Error(), noExp)
		})
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.emu.InjectFault(idtokentest.EndpointGenerateIDToken, 2, idtokentest.Fault{Status: 503})
	cfg := f.config()
	cfg.Retry = httpx.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
	ts, err := impersonate.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	token(t, ts)
	assert.Equal(t, 3, f.emu.Count(idtokentest.EndpointGenerateIDToken))
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	base := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "a"})
	cases := map[string]struct {
		cfg  impersonate.Config
		want error
		text string
	}{
		"no audience":    {impersonate.Config{TargetPrincipal: "t@p", Base: base}, impersonate.ErrNoAudience, "Audience is required"},
		"no target":      {impersonate.Config{Audience: aud, Base: base}, impersonate.ErrNoTarget, "target service account"},
		"target path":    {impersonate.Config{Audience: aud, TargetPrincipal: "projects/-/serviceAccounts/t@p", Base: base}, impersonate.ErrBadConfig, "TargetPrincipal"},
		"no base":        {impersonate.Config{Audience: aud, TargetPrincipal: "t@p"}, impersonate.ErrNoBase, "Base"},
		"bad endpoint":   {impersonate.Config{Audience: aud, TargetPrincipal: "t@p", Base: base, Endpoint: "iamcredentials.googleapis.com"}, impersonate.ErrBadConfig, "Endpoint"},
		"empty delegate": {impersonate.Config{Audience: aud, TargetPrincipal: "t@p", Base: base, Delegates: []string{""}}, impersonate.ErrBadConfig, "delegate"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := impersonate.NewTokenSource(context.Background(), tc.cfg)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "impersonate: "), err.Error())
		})
	}
}

func TestConcurrentCallersOneRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts, err := impersonate.NewTokenSource(context.Background(), f.config())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ts.Token()
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.EqualValues(t, 1, f.base.n.Load())
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" {
			assert.NotContains(t, err.Error(), s, "error text leaks a secret")
		}
	}
}

func FuzzParseGenerateIDTokenReply(f *testing.F) {
	f.Add([]byte(`{"token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln"}`))
	f.Add([]byte(`{"token":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := impersonate.ParseGenerateIDTokenReply(body)
		if err == nil && (tok.AccessToken == "" || tok.Expiry.IsZero()) {
			t.Fatalf("accepted %q as %+v", body, tok)
		}
	})
}

func FuzzParseSignJWTReply(f *testing.F) {
	f.Add([]byte(`{"keyId":"k","signedJwt":"a.b.c"}`))
	f.Add([]byte(`{"signedJwt":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := impersonate.ParseSignJWTReply(body)
		if err == nil && s == "" {
			t.Fatalf("accepted %q with an empty JWT", body)
		}
	})
}

func FuzzParseTokenReply(f *testing.F) {
	f.Add([]byte(`{"id_token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln"}`))
	f.Add([]byte(`{"access_token":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := impersonate.ParseTokenReply(body)
		if err == nil && (tok.AccessToken == "" || tok.Expiry.IsZero()) {
			t.Fatalf("accepted %q as %+v", body, tok)
		}
	})
}
