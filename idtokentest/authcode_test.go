package idtokentest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
)

const acLoopback = "http://127.0.0.1:8085/"

var acNoFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func acChallenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const acVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier-of-some-length"

func acAuthorize(t *testing.T, emu *idtokentest.Server, params url.Values) *http.Response {
	t.Helper()
	resp, err := acNoFollow.Get(emu.AuthURL() + "?" + params.Encode())
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func acParams(c idtokentest.OAuthClient) url.Values {
	return url.Values{
		"client_id": {c.ID}, "redirect_uri": {acLoopback}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st-123"},
		"code_challenge": {acChallenge(acVerifier)}, "code_challenge_method": {"S256"},
		"access_type": {"offline"},
	}
}

// acRedirectQuery returns the query of a 302 to the acLoopback redirect_uri.
func acRedirectQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8085", loc.Host)
	require.Equal(t, "/", loc.Path)
	return loc.Query()
}

func acRedeem(t *testing.T, emu *idtokentest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(emu.TokenURL(), form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func acCodeForm(c idtokentest.OAuthClient, code, v string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {acLoopback},
		"client_id": {c.ID}, "client_secret": {c.Secret}, "code_verifier": {v},
	}
}

func acClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	client := emu.NewOAuthClient()
	user := emu.NewUser("ada@example.com")
	emu.SetSignInUser(user)

	q := acRedirectQuery(t, acAuthorize(t, emu, acParams(client)))
	assert.Equal(t, "st-123", q.Get("state"))
	code := q.Get("code")
	require.NotEmpty(t, code)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointAuthorize))

	status, reply := acRedeem(t, emu, acCodeForm(client, code, acVerifier))
	require.Equal(t, http.StatusOK, status, reply)
	c := acClaims(t, reply["id_token"].(string))
	assert.Equal(t, client.ID, c["aud"], "a user's ID token is for the OAuth client")
	assert.Equal(t, user.Email, c["email"])
	assert.Equal(t, user.Subject, c["sub"])
	rt := reply["refresh_token"].(string)
	require.NotEmpty(t, rt)
	assert.NotEmpty(t, reply["access_token"])

	// A code is spent once.
	status, reply = acRedeem(t, emu, acCodeForm(client, code, acVerifier))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", reply["error"])

	// The refresh token gives fresh ID tokens.
	status, reply = acRedeem(t, emu, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client.ID}, "client_secret": {client.Secret},
	})
	require.Equal(t, http.StatusOK, status, reply)
	assert.Equal(t, user.Email, acClaims(t, reply["id_token"].(string))["email"])
}

func TestAuthorizationCodeRejections(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu := idtokentest.NewServer(t, idtokentest.Options{Now: clock})
	client := emu.NewOAuthClient()
	other := emu.NewOAuthClient()
	newCode := func() string {
		return acRedirectQuery(t, acAuthorize(t, emu, acParams(client))).Get("code")
	}
	cases := map[string]struct {
		form        func() url.Values
		status      int
		code, descr string
	}{
		"wrong verifier": {func() url.Values { return acCodeForm(client, newCode(), acVerifier+"x") }, 400, "invalid_grant", "Invalid code verifier."},
		"no verifier":    {func() url.Values { return acCodeForm(client, newCode(), "") }, 400, "invalid_grant", "Missing code verifier."},
		"unknown code":   {func() url.Values { return acCodeForm(client, "4/0nope", acVerifier) }, 400, "invalid_grant", "Malformed auth code."},
		"no code":        {func() url.Values { return acCodeForm(client, "", acVerifier) }, 400, "invalid_request", "Missing required parameter: code"},
		"other client": {func() url.Values {
			f := acCodeForm(other, newCode(), acVerifier)
			return f
		}, 400, "invalid_grant", "Unauthorized"},
		"wrong secret": {func() url.Values {
			f := acCodeForm(client, newCode(), acVerifier)
			f.Set("client_secret", "nope")
			return f
		}, 401, "invalid_client", "The OAuth client was not found."},
		"other redirect_uri": {func() url.Values {
			f := acCodeForm(client, newCode(), acVerifier)
			f.Set("redirect_uri", "http://127.0.0.1:9999/")
			return f
		}, 400, "redirect_uri_mismatch", "Bad Request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, reply := acRedeem(t, emu, tc.form())
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, reply["error"])
			assert.Equal(t, tc.descr, reply["error_description"])
		})
	}
	t.Run("expired code", func(t *testing.T) {
		code := newCode()
		mu.Lock()
		now = now.Add(idtokentest.AuthCodeLifetime + time.Second)
		mu.Unlock()
		status, reply := acRedeem(t, emu, acCodeForm(client, code, acVerifier))
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_grant", reply["error"])
	})
	t.Run("a failed attempt spends the code", func(t *testing.T) {
		code := newCode()
		status, _ := acRedeem(t, emu, acCodeForm(client, code, "wrong"))
		require.Equal(t, 400, status)
		status, _ = acRedeem(t, emu, acCodeForm(client, code, acVerifier))
		assert.Equal(t, 400, status)
	})
}

func TestAuthorizeRequestErrors(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	client := emu.NewOAuthClient()
	with := func(k, v string) url.Values {
		p := acParams(client)
		if v == "" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
		return p
	}
	// Errors about the client or the redirect_uri: an error page, never a
	// redirect.
	for name, p := range map[string]url.Values{
		"unknown client":     with("client_id", "123-x.apps.googleusercontent.com"),
		"no redirect":        with("redirect_uri", ""),
		"https redirect":     with("redirect_uri", "https://127.0.0.1:8085/"),
		"remote redirect":    with("redirect_uri", "http://evil.example:8085/"),
		"oob redirect":       with("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
		"redirect with user": with("redirect_uri", "http://u:p@127.0.0.1:8085/"),
	} {
		resp := acAuthorize(t, emu, p)
		assert.Contains(t, []int{400, 401}, resp.StatusCode, name)
		assert.Empty(t, resp.Header.Get("Location"), name)
	}
	// The rest: a redirect carrying error and state.
	for name, tc := range map[string]struct {
		p    url.Values
		want string
	}{
		"token response type": {with("response_type", "token"), "unsupported_response_type"},
		"no scope":            {with("scope", ""), "invalid_request"},
		"no PKCE":             {with("code_challenge", ""), "invalid_request"},
		"plain PKCE":          {with("code_challenge_method", "plain"), "invalid_request"},
		"short challenge":     {with("code_challenge", "abc"), "invalid_request"},
	} {
		q := acRedirectQuery(t, acAuthorize(t, emu, tc.p))
		assert.Equal(t, tc.want, q.Get("error"), name)
		assert.Equal(t, "st-123", q.Get("state"), name)
		assert.Empty(t, q.Get("code"), name)
	}
	emu.SetSignInDenied(true)
	q := acRedirectQuery(t, acAuthorize(t, emu, acParams(client)))
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "st-123", q.Get("state"))
	emu.SetSignInDenied(false)
	q = acRedirectQuery(t, acAuthorize(t, emu, acParams(client)))
	assert.NotEmpty(t, q.Get("code"))
	assert.Equal(t, idtokentest.DefaultSignInEmail, emu.SignInUser().Email)
}
