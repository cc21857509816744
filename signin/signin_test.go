package signin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/signin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var noRetry = signin.Retry{MaxAttempts: 1} // the public alias users write

// browser plays the person's browser: it visits the sign-in URL and
// follows the emulator's redirect to the loopback listener. It records
// the URL it was given and the status of the final page.
type browser struct {
	t      *testing.T
	mu     sync.Mutex
	url    string
	status int
	// rewrite, when set, changes the URL to visit (to tamper with the
	// request) or the redirect target (to tamper with the reply).
	rewriteAuth     func(u *url.URL)
	rewriteRedirect func(u *url.URL)
}

func (b *browser) open(authURL string) error {
	b.mu.Lock()
	b.url = authURL
	b.mu.Unlock()
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	if b.rewriteAuth != nil {
		b.rewriteAuth(u)
	}
	c := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if b.rewriteRedirect != nil {
			b.rewriteRedirect(r.URL)
		}
		return nil
	}}
	resp, err := c.Get(u.String())
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.mu.Lock()
	b.status = resp.StatusCode
	b.mu.Unlock()
	return nil
}

func setup(t *testing.T) (*idtokentest.Server, idtokentest.OAuthClient, idtokentest.User) {
	emu := idtokentest.NewServer(t)
	client := emu.NewOAuthClient()
	user := emu.NewUser("ada@example.com")
	emu.SetSignInUser(user)
	return emu, client, user
}

func config(emu *idtokentest.Server, client idtokentest.OAuthClient, b *browser, out io.Writer) signin.Config {
	return signin.Config{
		ClientID: client.ID, ClientSecret: client.Secret,
		AuthURL: emu.AuthURL(), TokenURL: emu.TokenURL(),
		OpenBrowser: b.open, Out: out, Retry: noRetry,
	}
}

func claims(t *testing.T, raw string) jwt.Claims {
	t.Helper()
	c, err := jwt.UnverifiedClaims(raw)
	require.NoError(t, err)
	return c
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" {
			assert.NotContains(t, err.Error(), s, "error text leaks a secret")
		}
	}
}

func TestSignInEndToEnd(t *testing.T) {
	t.Parallel()
	emu, client, user := setup(t)
	store := signin.FileStore{Path: filepath.Join(t.TempDir(), "cfg", "token.json")}
	b := &browser{t: t}
	var out bytes.Buffer
	cfg := config(emu, client, b, &out)
	cfg.Store = store
	ctx := context.Background()

	ts, err := signin.NewTokenSource(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, b.status, "the loopback page says signed in")
	assert.Contains(t, out.String(), b.url, "the URL is printed")

	// What the browser was sent to.
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, emu.AuthURL(), u.Scheme+"://"+u.Host+u.Path)
	assert.Equal(t, client.ID, q.Get("client_id"))
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, "openid email", q.Get("scope"))
	assert.Equal(t, "offline", q.Get("access_type"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43)
	assert.GreaterOrEqual(t, len(q.Get("state")), 43)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/$`, q.Get("redirect_uri"))
	assert.Empty(t, q.Get("client_secret"))

	tok, err := ts.Token()
	require.NoError(t, err)
	c := claims(t, tok.AccessToken)
	assert.Equal(t, []string{client.ID}, c.Audience, "a user's ID token is for the OAuth client")
	assert.Equal(t, user.Email, c.Email)
	assert.Equal(t, user.Subject, c.Subject)
	assert.Equal(t, c.Expiry, tok.Expiry)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointAuthorize))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken), "the sign-in's own ID token is handed out: one round trip")

	v, err := googleidtoken.NewValidator(ctx, option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(ctx, tok.AccessToken, client.ID)
	require.NoError(t, err, "Google's validator accepts it for the client ID")
	assert.Equal(t, user.Email, p.Claims["email"])

	// The refresh token was stored, 0600.
	fi, err := os.Stat(store.Path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(filepath.Dir(store.Path))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	}
	rt, err := store.Load(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, rt)

	// The next run signs in silently with the stored refresh token.
	cfg2 := cfg
	cfg2.OpenBrowser = func(string) error { t.Error("no browser expected"); return nil }
	ts2, err := signin.NewTokenSource(ctx, cfg2)
	require.NoError(t, err)
	tok2, err := ts2.Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, tok2.AccessToken, "a fresh token from the refresh grant")
	assert.Equal(t, user.Email, claims(t, tok2.AccessToken).Email)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointToken))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointAuthorize))
}

func TestWrongState(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	b := &browser{t: t, rewriteRedirect: func(u *url.URL) {
		if u.Host != "" && strings.HasPrefix(u.Host, "127.0.0.1") && u.Query().Get("state") != "" {
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
		}
	}}
	_, err := signin.NewTokenSource(context.Background(), config(emu, client, b, io.Discard))
	require.ErrorIs(t, err, signin.ErrStateMismatch)
	assert.Equal(t, http.StatusBadRequest, b.status)
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointToken), "the code is never redeemed")
}

// A browser (or attacker) that swaps the PKCE challenge: the emulator
// binds the code to that challenge and refuses our verifier.
func TestWrongCodeVerifier(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	var code string
	b := &browser{t: t,
		rewriteAuth: func(u *url.URL) {
			q := u.Query()
			q.Set("code_challenge", strings.Repeat("A", 43))
			u.RawQuery = q.Encode()
		},
		rewriteRedirect: func(u *url.URL) { code = u.Query().Get("code") },
	}
	_, err := signin.NewTokenSource(context.Background(), config(emu, client, b, io.Discard))
	var he *signin.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "invalid_grant", he.Code)
	assert.Equal(t, "Invalid code verifier.", he.Description)
	assert.Contains(t, err.Error(), "signin: exchanging the authorization code: HTTP 400")
	require.NotEmpty(t, code)
	assertNoSecrets(t, err, code, client.Secret)
}

func TestPortTaken(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := config(emu, client, &browser{t: t}, io.Discard)
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.OpenBrowser = func(string) error { t.Error("no browser expected"); return nil }
	_, err = signin.NewTokenSource(context.Background(), cfg)
	require.ErrorIs(t, err, signin.ErrListen)
	require.ErrorIs(t, err, syscall.EADDRINUSE)
}

func TestFixedPort(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	b := &browser{t: t}
	cfg := config(emu, client, b, io.Discard)
	cfg.Port = port
	_, err = signin.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	u, _ := url.Parse(b.url)
	assert.Equal(t, "http://"+net.JoinHostPort("127.0.0.1", itoa(port))+"/", u.Query().Get("redirect_uri"))
}

// The person gives up (Ctrl-C) while the program waits for the browser,
// which never opened: the URL was printed, the wait ends with the
// context's error, and the listener is closed.
func TestCancelWhileWaitingForBrowser(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	var redirect string
	cfg := config(emu, client, &browser{t: t}, &out)
	cfg.OpenBrowser = func(u string) error {
		pu, _ := url.Parse(u)
		redirect = pu.Query().Get("redirect_uri")
		cancel()
		return errors.New("no display")
	}
	_, err := signin.NewTokenSource(ctx, cfg)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "waiting for the browser")
	assert.Contains(t, out.String(), "Go to the following link in your browser")
	assert.Contains(t, out.String(), emu.AuthURL()+"?")
	ru, err := url.Parse(redirect)
	require.NoError(t, err)
	_, err = net.Dial("tcp", ru.Host)
	assert.Error(t, err, "the loopback listener is closed")
}

func TestAccessDenied(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	emu.SetSignInDenied(true)
	b := &browser{t: t}
	_, err := signin.NewTokenSource(context.Background(), config(emu, client, b, io.Discard))
	require.ErrorIs(t, err, signin.ErrAccessDenied)
	assert.Equal(t, http.StatusBadRequest, b.status)
}

func TestAuthorizationError(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	b := &browser{t: t, rewriteAuth: func(u *url.URL) {
		q := u.Query()
		q.Set("response_type", "token")
		u.RawQuery = q.Encode()
	}}
	_, err := signin.NewTokenSource(context.Background(), config(emu, client, b, io.Discard))
	require.ErrorIs(t, err, signin.ErrAuthorization)
	assert.Contains(t, err.Error(), "unsupported_response_type")
}

func TestNonInteractive(t *testing.T) {
	t.Parallel()
	emu, client, _ := setup(t)
	cfg := config(emu, client, &browser{t: t}, io.Discard)
	cfg.NonInteractive = true
	cfg.Store = signin.FileStore{Path: filepath.Join(t.TempDir(), "none.json")}
	cfg.OpenBrowser = func(string) error { t.Error("no browser expected"); return nil }
	_, err := signin.NewTokenSource(context.Background(), cfg)
	require.ErrorIs(t, err, signin.ErrNotSignedIn)
	_, err = os.Stat(cfg.Store.(signin.FileStore).Path)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")
}

// A failed refresh, whatever the cause, leaves the stored refresh token
// file byte for byte as it was, mode 0600.
func TestFailedRefreshLeavesStoreIntact(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		prepare func(emu *idtokentest.Server, rt string)
		check   func(t *testing.T, err error)
	}{
		"revoked": {
			prepare: func(emu *idtokentest.Server, rt string) { emu.RevokeRefreshToken(rt) },
			check: func(t *testing.T, err error) {
				require.ErrorIs(t, err, signin.ErrReauthRequired)
				var he *signin.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, "invalid_grant", he.Code)
				assert.Equal(t, "Token has been expired or revoked.", he.Description)
			},
		},
		"server error": {
			prepare: func(emu *idtokentest.Server, _ string) {
				emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Status: 503})
			},
			check: func(t *testing.T, err error) {
				assert.NotErrorIs(t, err, signin.ErrReauthRequired)
				var he *signin.HTTPError
				require.ErrorAs(t, err, &he)
				assert.True(t, he.Temporary())
			},
		},
		"garbage reply": {
			prepare: func(emu *idtokentest.Server, _ string) {
				emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Garbage: true})
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, signin.ErrBadReply) },
		},
		"connection dropped": {
			prepare: func(emu *idtokentest.Server, _ string) {
				emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Drop: true})
			},
			check: func(t *testing.T, err error) { assert.Contains(t, err.Error(), "signin: refreshing: POST") },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu, client, user := setup(t)
			rt := emu.IssueRefreshToken(client, user, "openid", "email")
			store := signin.FileStore{Path: filepath.Join(t.TempDir(), "token.json")}
			require.NoError(t, store.Save(context.Background(), rt))
			before, err := os.ReadFile(store.Path)
			require.NoError(t, err)
			tc.prepare(emu, rt)

			cfg := config(emu, client, &browser{t: t}, io.Discard)
			cfg.Store = store
			cfg.OpenBrowser = func(string) error { t.Error("no browser expected"); return nil }
			ts, err := signin.NewTokenSource(context.Background(), cfg)
			require.NoError(t, err)
			_, err = ts.Token()
			require.Error(t, err)
			tc.check(t, err)
			assertNoSecrets(t, err, rt, client.Secret)

			after, err := os.ReadFile(store.Path)
			require.NoError(t, err)
			assert.Equal(t, before, after, "the stored refresh token is untouched")
			fi, err := os.Stat(store.Path)
			require.NoError(t, err)
			if runtime.GOOS != "windows" {
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			}
			entries, err := os.ReadDir(filepath.Dir(store.Path))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary files left")
		})
	}
}

// After ErrReauthRequired, ForceSignIn signs in again and replaces the
// revoked token.
func TestForceSignInReplacesRevokedToken(t *testing.T) {
	t.Parallel()
	emu, client, user := setup(t)
	old := emu.IssueRefreshToken(client, user, "openid", "email")
	emu.RevokeRefreshToken(old)
	store := signin.FileStore{Path: filepath.Join(t.TempDir(), "token.json")}
	require.NoError(t, store.Save(context.Background(), old))
	cfg := config(emu, client, &browser{t: t}, io.Discard)
	cfg.Store = store
	cfg.ForceSignIn = true
	ts, err := signin.NewTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	rt, err := store.Load(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, old, rt)
	assert.NotEmpty(t, rt)
}

func TestAccessTokenSourceAsImpersonationBase(t *testing.T) {
	t.Parallel()
	emu, client, user := setup(t)
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(user.Email, sa.Email)
	cfg := config(emu, client, &browser{t: t}, io.Discard)
	cfg.Scopes = []string{"openid", "email", "https://www.googleapis.com/auth/cloud-platform"}
	ts, err := signin.NewAccessTokenSource(context.Background(), cfg)
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "ya29."))
	assert.False(t, tok.Expiry.IsZero())

	// It is a base credential for package impersonate: the user's access
	// token mints the service account's ID token for any audience.
	its, err := impersonate.NewTokenSource(context.Background(), impersonate.Config{
		Audience: "https://svc.example", TargetPrincipal: sa.Email, IncludeEmail: true,
		Base: ts, Endpoint: emu.IAMCredentialsURL(),
	})
	require.NoError(t, err)
	idt, err := its.Token()
	require.NoError(t, err)
	c := claims(t, idt.AccessToken)
	assert.Equal(t, []string{"https://svc.example"}, c.Audience)
	assert.Equal(t, sa.Email, c.Email)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg  signin.Config
		text string
	}{
		"no client":         {signin.Config{}, "ClientID is required"},
		"scopes w/o openid": {signin.Config{ClientID: "c", Scopes: []string{"email"}}, `must include "openid"`},
		"bad port":          {signin.Config{ClientID: "c", Port: 70000}, "Port 70000"},
		"bad token url":     {signin.Config{ClientID: "c", TokenURL: "/token"}, "TokenURL"},
		"bad auth url":      {signin.Config{ClientID: "c", AuthURL: "accounts.google.com"}, "AuthURL"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := signin.NewTokenSource(context.Background(), tc.cfg)
			require.ErrorIs(t, err, signin.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "signin: "), err.Error())
		})
	}
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := signin.FileStore{Path: filepath.Join(dir, "a", "b", "token.json")}
	rt, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Empty(t, rt, "nothing stored yet")
	require.NoError(t, s.Save(ctx, "1//first"))
	require.NoError(t, s.Save(ctx, "1//second"))
	rt, err = s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1//second", rt)
	entries, err := os.ReadDir(filepath.Dir(s.Path))
	require.NoError(t, err)
	assert.Len(t, entries, 1)

	// An authorized_user file loads too.
	au := filepath.Join(dir, "adc.json")
	require.NoError(t, os.WriteFile(au, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"1//adc"}`), 0o600))
	rt, err = signin.FileStore{Path: au}.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1//adc", rt)

	// A corrupt file is an error, not an empty store: it is not
	// overwritten behind the user's back.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("1//raw-secret-token"), 0o600))
	_, err = signin.FileStore{Path: bad}.Load(ctx)
	require.ErrorIs(t, err, signin.ErrStore)
	assert.NotContains(t, err.Error(), "raw-secret-token")

	_, err = signin.FileStore{}.Load(ctx)
	require.ErrorIs(t, err, signin.ErrStore)
}

func TestFromAuthorizedUser(t *testing.T) {
	t.Parallel()
	emu, client, user := setup(t)
	rt := emu.IssueRefreshToken(client, user)
	ts, err := signin.FromAuthorizedUser(context.Background(), emu.AuthorizedUserJSON(client, rt), signin.AuthorizedUserConfig{})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	c := claims(t, tok.AccessToken)
	assert.Equal(t, []string{client.ID}, c.Audience, "the audience is the file's client_id")
	assert.Equal(t, user.Email, c.Email)
	assert.Equal(t, c.Expiry, tok.Expiry)

	emu.RevokeRefreshToken(rt)
	ts, err = signin.FromAuthorizedUser(context.Background(), emu.AuthorizedUserJSON(client, rt), signin.AuthorizedUserConfig{Retry: noRetry})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, signin.ErrReauthRequired)
	assertNoSecrets(t, err, rt, client.Secret)
}

func TestFromAuthorizedUserNoOpenID(t *testing.T) {
	t.Parallel()
	emu, client, user := setup(t)
	rt := emu.IssueRefreshToken(client, user, "https://www.googleapis.com/auth/cloud-platform")
	ts, err := signin.FromAuthorizedUser(context.Background(), emu.AuthorizedUserJSON(client, rt), signin.AuthorizedUserConfig{})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, signin.ErrNoIDToken)
}

func TestParseAuthorizedUserErrors(t *testing.T) {
	t.Parallel()
	const secret, rt = "GOCSPX-very-secret", "1//refresh-secret"
	good := map[string]any{"type": "authorized_user", "client_id": "c.apps.googleusercontent.com", "client_secret": secret, "refresh_token": rt}
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for key, val := range good {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	cases := map[string]struct {
		in   []byte
		text string
	}{
		"not json":      {[]byte(`{"type":`), "not JSON"},
		"array":         {[]byte(`[]`), "not a JSON object"},
		"service acct":  {with("type", "service_account"), `type is "service_account"`},
		"no type":       {with("type", nil), `no "type"`},
		"no secret":     {with("client_secret", nil), "missing client_secret"},
		"no rt":         {with("refresh_token", nil), "missing refresh_token"},
		"rt wrong type": {with("refresh_token", 5), `"refresh_token" has the wrong JSON type`},
		"bad token_uri": {with("token_uri", "file:///etc/passwd"), "token_uri"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := signin.FromAuthorizedUser(context.Background(), tc.in, signin.AuthorizedUserConfig{})
			require.ErrorIs(t, err, signin.ErrInvalidCredentials)
			assert.Contains(t, err.Error(), tc.text)
			assertNoSecrets(t, err, secret, rt)
		})
	}
	a, err := signin.ParseAuthorizedUser(with("token_uri", "https://oauth2.googleapis.com/token"))
	require.NoError(t, err)
	assert.NotContains(t, a.String(), secret)
	assert.NotContains(t, a.String(), rt)
}

func itoa(i int) string { return strconv.Itoa(i) }

// A Save that cannot complete leaves no temporary file behind and reports
// ErrStore.
func TestFileStoreFailedSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "token.json")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "occupied"), 0o700)) // rename over a non-empty dir fails
	err := signin.FileStore{Path: target}.Save(context.Background(), "1//new-secret")
	require.ErrorIs(t, err, signin.ErrStore)
	assert.NotContains(t, err.Error(), "new-secret")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary file was removed")
}
