package idtoken_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

// recorder is a base RoundTripper that records what it was sent.
type recorder struct {
	n    atomic.Int32
	last atomic.Pointer[http.Request]
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.n.Add(1)
	r.last.Store(req)
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

func staticSource(tok string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"})
}

func TestTransportRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://example.com/", "http://10.0.0.1:8080/x", "http://[2001:db8::1]/", "http://localhost.example.com/", "HTTP://hello-abc-uc.a.run.app/"} {
		rec := &recorder{}
		tr := &idtoken.Transport{Source: staticSource("s3cr3t-value"), Base: rec}
		body := &trackedBody{Reader: strings.NewReader("payload")}
		req, err := http.NewRequest(http.MethodPost, u, body)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.ErrorIs(t, err, idtoken.ErrInsecureTransport, u)
		assert.NotContains(t, err.Error(), "s3cr3t")
		assert.Zero(t, rec.n.Load(), "nothing sent to %s", u)
		assert.True(t, body.closed.Load(), "RoundTrip must close the body on error")
	}
	// Through an http.Client too.
	c := &http.Client{Transport: &idtoken.Transport{Source: staticSource("tok"), Base: &recorder{}}}
	_, err := c.Get("http://example.com/")
	assert.ErrorIs(t, err, idtoken.ErrInsecureTransport)
}

func TestTransportAllowsHTTPSAndLoopback(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://example.com/", "http://127.0.0.1:8080/", "http://127.8.9.10/", "http://[::1]:9/", "http://localhost/", "http://LOCALHOST.:1/", "http://svc.localhost/"} {
		rec := &recorder{}
		tr := &idtoken.Transport{Source: staticSource("tok-1"), Base: rec}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("X-Keep", "yes")
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err, u)
		_ = resp.Body.Close()
		sent := rec.last.Load()
		assert.Equal(t, "Bearer tok-1", sent.Header.Get("Authorization"), u)
		assert.Equal(t, "yes", sent.Header.Get("X-Keep"))
		assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not modified")
		assert.NotSame(t, req, sent)
	}
	rec := &recorder{}
	tr := &idtoken.Transport{Source: staticSource("tok-2"), Base: rec, AllowInsecureHTTP: true}
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, "Bearer tok-2", rec.last.Load().Header.Get("Authorization"))
}

func TestTransportUsesRequestContext(t *testing.T) {
	t.Parallel()
	src := &ctxSource{got: make(chan any, 1), tok: &oauth2.Token{AccessToken: "ctx-tok", TokenType: "Bearer"}}
	rec := &recorder{}
	tr := &idtoken.Transport{Source: src, Base: rec}
	req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), ctxKey{}, "req-value"), http.MethodGet, "https://svc.example/", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, "req-value", <-src.got)

	boom := errors.New("no token today")
	tr = &idtoken.Transport{Source: &funcSource{f: func() (*oauth2.Token, error) { return nil, boom }}, Base: rec}
	req, _ = http.NewRequest(http.MethodGet, "https://svc.example/", nil)
	_, err = tr.RoundTrip(req)
	assert.ErrorIs(t, err, boom)

	// A plain TokenSource is not called for an already-cancelled request.
	fs := &funcSource{f: func() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "x"}, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "https://svc.example/", nil)
	_, err = (&idtoken.Transport{Source: fs, Base: rec}).RoundTrip(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, fs.n.Load())

	_, err = (&idtoken.Transport{Base: rec}).RoundTrip(req)
	assert.EqualError(t, err, "idtoken: Transport.Source is nil")
}

// NewClient end to end: detection (a key file from the injected env) →
// token from the emulator → request to a backend on loopback that checks
// the token with Google's own validator (google.golang.org/api/idtoken,
// pointed at the emulator's certs).
func TestNewClientReachesBackend(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("client")
	p := writeFile(t, t.TempDir(), "key.json", sa.KeyJSON())

	validator, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		payload, err := validator.Validate(r.Context(), raw, aud)
		if err != nil {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "hello "+payload.Claims["email"].(string))
	}))
	t.Cleanup(backend.Close)

	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": p}}
	client, err := idtoken.NewClient(context.Background(), aud, e.opts(idtoken.Options{HTTPClient: emu.Client()}))
	require.NoError(t, err)
	for range 3 {
		resp, err := client.Get(backend.URL)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, "hello "+sa.Email, string(body))
	}
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken), "the token is cached across requests")

	// The wrong audience is rejected by the backend: the check is real.
	other, err := idtoken.NewClient(context.Background(), "https://other.example", e.opts(idtoken.Options{HTTPClient: emu.Client()}))
	require.NoError(t, err)
	resp, err := other.Get(backend.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	backend.CloseClientConnections()
}

// NewClient → a backend wrapped in verify.BearerMiddleware (this module's
// verifier, keys from the emulator), end to end.
func TestNewClientThroughVerifyMiddleware(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("to-verify")
	v, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{aud}, KeysURL: emu.CertsURL()})
	require.NoError(t, err)
	var rejected atomic.Int32
	mw := verify.BearerMiddleware(v, verify.MiddlewareOptions{OnError: func(*http.Request, error) { rejected.Add(1) }})
	backend := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "caller="+c.Email)
	})))
	t.Cleanup(backend.Close)

	client, err := idtoken.NewClient(context.Background(), aud, idtoken.Options{CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	resp, err := client.Get(backend.URL + "/hello")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "caller="+sa.Email, string(body))

	// Without the token (a plain client) and with the wrong audience: 401.
	resp, err = http.Get(backend.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	wrong, err := idtoken.NewClient(context.Background(), "https://elsewhere.example", idtoken.Options{CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	resp, err = wrong.Get(backend.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.EqualValues(t, 2, rejected.Load())
	backend.CloseClientConnections()
}
