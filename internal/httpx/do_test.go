package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/internal/httpx"
)

// sleeps records the waits Do asks for and never waits.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// script serves the replies in order (the last one repeats) and counts
// requests.
type script struct {
	n       atomic.Int32
	replies []func(w http.ResponseWriter, r *http.Request)
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	s.replies[min(i, len(s.replies)-1)](w, r)
}

func status(code int, body string, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// drop closes the connection without any reply.
func drop(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

func serve(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		srv.Close()
	})
	return srv, c
}

var fast = httpx.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}

func post(ctx context.Context, o httpx.Options, u string) (*httpx.Response, error) {
	return httpx.PostForm(ctx, o, u, url.Values{"assertion": {"BODYSECRET-assertion"}})
}

func TestRetries5xxThenSucceeds(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){
		status(500, `{"error":"internal"}`), status(500, ""), status(200, `{"ok":true}`),
	}}
	srv, c := serve(t, s)
	var sl sleeps
	resp, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, `{"ok":true}`, string(resp.Body))
	assert.Equal(t, 3, resp.Attempts)
	assert.EqualValues(t, 3, s.n.Load())
	require.Len(t, sl.got(), 2)
	for i, d := range sl.got() {
		// full-jitter exponential backoff: in [base·2^i / 2, base·2^i]
		hi := time.Millisecond << i
		assert.True(t, d >= hi/2 && d <= hi, "wait %d = %s", i, d)
	}
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){
		status(429, `{"error":"rate_limited"}`, "Retry-After", "2"), status(200, `{}`),
	}}
	srv, c := serve(t, s)
	var sl sleeps
	resp, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, []time.Duration{2 * time.Second}, sl.got())
}

func TestRetryAfterHTTPDateHonoured(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &script{replies: []func(http.ResponseWriter, *http.Request){
		status(503, ``, "Retry-After", now.Add(3*time.Second).Format(http.TimeFormat)), status(200, `{}`),
	}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{
		Client: c, Retry: fast, Sleep: sl.sleep, Now: func() time.Time { return now },
	}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{3 * time.Second}, sl.got())
}

func TestRetryAfterBeyondBudgetFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){
		status(429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, "Retry-After", "3600"),
		status(200, `{}`),
	}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 429, he.StatusCode)
	assert.Equal(t, time.Hour, he.RetryAfter, "the caller learns when to come back")
	assert.Equal(t, "RESOURCE_EXHAUSTED", he.Code)
	assert.Equal(t, "Quota exceeded", he.Description)
	assert.True(t, he.Temporary())
	assert.Empty(t, sl.got(), "no wait beyond the budget")
	assert.EqualValues(t, 1, s.n.Load())
}

// The elapsed budget counts injected sleeps, so it bounds retries in tests
// exactly as real waiting would.
func TestElapsedBudgetCountsSleeps(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(503, ``, "Retry-After", "8")}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{
		Client: c, Sleep: sl.sleep,
		Retry: httpx.Retry{MaxAttempts: 10, MaxDelay: 5 * time.Second, MaxElapsed: 20 * time.Second},
	}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 503, he.StatusCode)
	assert.Equal(t, []time.Duration{8 * time.Second, 8 * time.Second}, sl.got(), "a third 8 s wait would pass 20 s")
	assert.EqualValues(t, 3, s.n.Load())
}

func TestWaitBeyondContextDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(503, ``, "Retry-After", "10"), status(200, `{}`)}}
	srv, c := serve(t, s)
	var sl sleeps
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := post(ctx, httpx.Options{Client: c, Retry: httpx.Retry{MaxDelay: 10 * time.Second}, Sleep: sl.sleep}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he, "the server's answer, not a deadline the caller would hit while waiting")
	assert.Equal(t, 10*time.Second, he.RetryAfter)
	assert.Empty(t, sl.got())
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(502, `<html>bad gateway</html>`)}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{Client: c, Retry: httpx.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond}, Sleep: sl.sleep}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 502, he.StatusCode)
	assert.Empty(t, he.Code, "an HTML body has no Google error fields")
	assert.EqualValues(t, 3, s.n.Load())
	assert.Len(t, sl.got(), 2)
}

func TestClientErrorsNotRetried(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		status     int
		body       string
		code, desc string
	}{
		"400 oauth":      {400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, "invalid_grant", "Invalid JWT Signature."},
		"401 oauth":      {401, `{"error":"invalid_client","error_description":"The OAuth client was not found."}`, "invalid_client", "The OAuth client was not found."},
		"403 json api":   {403, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getOpenIdToken' denied","status":"PERMISSION_DENIED"}}`, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getOpenIdToken' denied"},
		"404 plain text": {404, `not found`, "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &script{replies: []func(http.ResponseWriter, *http.Request){status(tc.status, tc.body), status(200, `{}`)}}
			srv, c := serve(t, s)
			var sl sleeps
			_, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL+"/token")
			var he *httpx.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tc.status, he.StatusCode)
			assert.Equal(t, tc.code, he.Code)
			assert.Equal(t, tc.desc, he.Description)
			assert.Equal(t, srv.URL+"/token", he.Endpoint)
			assert.False(t, he.Temporary())
			assert.EqualValues(t, 1, s.n.Load(), "4xx is never retried")
			assert.Empty(t, sl.got())
		})
	}
}

func TestHungEndpointHonoursDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before the server closes
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := post(ctx, httpx.Options{Client: c}, srv.URL+"?access_token=QUERYSECRET")
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotContains(t, err.Error(), "QUERYSECRET")
		assert.Contains(t, err.Error(), "POST "+srv.URL+":")
	case <-time.After(20 * time.Second): // a watchdog, not a speed assertion
		t.Fatal("Do did not return after its context deadline")
	}
}

func TestDroppedConnectionRetried(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){drop, status(200, `{"id_token":"x"}`)}}
	srv, c := serve(t, s)
	var sl sleeps
	resp, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.EqualValues(t, 2, s.n.Load())
	assert.Len(t, sl.got(), 1)
}

func TestDroppedConnectionEveryTime(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){drop}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{Client: c, Retry: httpx.Retry{MaxAttempts: 3}, Sleep: sl.sleep}, srv.URL+"?audience=QUERYSECRET")
	require.Error(t, err)
	assert.ErrorIs(t, err, io.EOF)
	assert.EqualValues(t, 3, s.n.Load())
	assert.NotContains(t, err.Error(), "QUERYSECRET")
}

// A connection cut in the middle of the body is as transient as one cut
// before the headers.
func TestTruncatedBodyRetried(t *testing.T) {
	t.Parallel()
	truncated := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"id_tok`)
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}
	s := &script{replies: []func(http.ResponseWriter, *http.Request){truncated, status(200, `{}`)}}
	srv, c := serve(t, s)
	var sl sleeps
	resp, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "{}", string(resp.Body))
	assert.EqualValues(t, 2, s.n.Load())
}

func TestOversizedBodyRefusedNotRetried(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2048)
	cases := map[string]func(http.ResponseWriter, *http.Request){
		"announced": status(200, big),
		"streamed": func(w http.ResponseWriter, _ *http.Request) { // no Content-Length
			w.WriteHeader(200)
			for range 4 {
				_, _ = io.WriteString(w, big[:512])
				w.(http.Flusher).Flush()
			}
		},
		"error reply": status(500, big),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &script{replies: []func(http.ResponseWriter, *http.Request){h, status(200, `{}`)}}
			srv, c := serve(t, s)
			var sl sleeps
			_, err := post(context.Background(), httpx.Options{Client: c, Retry: fast, Sleep: sl.sleep, MaxBody: 1024}, srv.URL)
			require.ErrorIs(t, err, httpx.ErrBodyTooLarge)
			assert.EqualValues(t, 1, s.n.Load())
			assert.Empty(t, sl.got())
		})
	}
	// Exactly at the limit is fine.
	srv, c := serve(t, &script{replies: []func(http.ResponseWriter, *http.Request){status(200, big[:1024])}})
	resp, err := post(context.Background(), httpx.Options{Client: c, MaxBody: 1024}, srv.URL)
	require.NoError(t, err)
	assert.Len(t, resp.Body, 1024)
}

// Neither the query string (audience, access_token) nor the request body
// (assertion, refresh token, client secret) appears in any error text.
func TestErrorTextHasNoQueryOrBody(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(400, `{"error":"invalid_request"}`)}}
	srv, c := serve(t, s)
	const q = "?access_token=QUERYSECRET&audience=https%3A%2F%2FQUERYSECRET.example"
	urls := map[string]string{
		"http error":   srv.URL + "/token" + q,
		"refused":      closed.URL + "/token" + q,
		"malformed":    "http://exa mple.com/token" + q,
		"control char": "http://example.com/\x7ftoken" + q,
		"userinfo":     "http://user:QUERYSECRET@" + strings.TrimPrefix(srv.URL, "http://") + "/token",
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := post(context.Background(), httpx.Options{Client: c, Retry: httpx.Retry{MaxAttempts: 2}, Sleep: (&sleeps{}).sleep}, u)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "QUERYSECRET")
			assert.NotContains(t, err.Error(), "BODYSECRET")
			assert.NotContains(t, err.Error(), "access_token")
		})
	}
}

// A POST carries credentials in its body: a redirect must not re-post
// them to wherever the Location points.
func TestPostDoesNotFollowRedirect(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	s := &script{replies: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}}}
	srv, c := serve(t, s)
	_, err := post(context.Background(), httpx.Options{Client: c, Retry: fast}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTemporaryRedirect, he.StatusCode)
	assert.Zero(t, elsewhere.Load())
	assert.Nil(t, c.CheckRedirect, "the caller's client is not modified")

	// A GET (no body) still follows redirects, as net/http does.
	got, err := httpx.Do(context.Background(), httpx.Options{Client: c}, httpx.Request{Method: "GET", URL: srv.URL})
	require.NoError(t, err)
	assert.Equal(t, 200, got.StatusCode)
	assert.EqualValues(t, 1, elsewhere.Load())
}

func TestSleepInterruptedByCancel(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(503, `{"error":"backendError"}`)}}
	srv, c := serve(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := post(ctx, httpx.Options{Client: c, Retry: fast, Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}}, srv.URL)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "last failure: HTTP 503")
}

func TestDefaultSleepWaits(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(503, ``), status(200, `{}`)}}
	srv, c := serve(t, s)
	resp, err := post(context.Background(), httpx.Options{Client: c, Retry: httpx.Retry{BaseDelay: time.Millisecond}}, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	a, b := httpx.NewClient(), httpx.NewClient()
	assert.Equal(t, 30*time.Second, a.Timeout)
	assert.Equal(t, httpx.DefaultTimeout, a.Timeout)
	assert.NotSame(t, http.DefaultTransport, a.Transport, "never the shared global transport")
	assert.NotSame(t, a.Transport, b.Transport, "each client has its own transport")
	assert.Nil(t, a.CheckRedirect)
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	e := &httpx.Error{Endpoint: "https://oauth2.googleapis.com/token", StatusCode: 400, Code: "invalid_grant", Description: "Invalid JWT Signature."}
	assert.Equal(t, "HTTP 400 Bad Request from https://oauth2.googleapis.com/token: invalid_grant: Invalid JWT Signature.", e.Error())
	assert.Equal(t, "HTTP 599", (&httpx.Error{StatusCode: 599}).Error())
	for code, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 408: true, 429: true, 500: true, 502: true, 503: true, 504: true} {
		assert.Equal(t, want, (&httpx.Error{StatusCode: code}).Temporary(), "%d", code)
	}
	var target *httpx.Error
	wrapped := errors.Join(errors.New("x"), e)
	require.ErrorAs(t, wrapped, &target)
	assert.Same(t, e, target)
}

// An endpoint that echoes the request (a proxy, a debugging server, a
// hostile host) cannot put the credential it received into error text.
func TestEchoedCredentialsRedacted(t *testing.T) {
	t.Parallel()
	const assertion = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
	s := &script{replies: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		status(400, `{"error":"invalid_grant `+r.PostForm.Get("client_secret")+`","error_description":"bad assertion `+
			r.PostForm.Get("assertion")+` for `+r.PostForm.Get("refresh_token")+` with ya29.a0AfH6SMBx and opaque `+r.PostForm.Get("subject_token")+
			` for audience `+r.PostForm.Get("audience")+`"}`)(w, r)
	}}}
	srv, c := serve(t, s)
	_, err := httpx.PostForm(context.Background(), httpx.Options{Client: c}, srv.URL, url.Values{
		"assertion":     {assertion},
		"client_secret": {"GOCSPX-abcdefghijkl"},
		"refresh_token": {"1//0gabcdefghijkl"},
		"subject_token": {"an-opaque-credential-value"},
		"audience":      {"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x"},
	})
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	for _, leak := range []string{assertion, "eyJ", "GOCSPX-", "1//0g", "ya29.", "an-opaque-credential-value"} {
		assert.NotContains(t, err.Error(), leak)
	}
	assert.Equal(t, "bad assertion [redacted] for [redacted] with [redacted] and opaque [redacted]"+
		" for audience //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x", he.Description,
		"non-secret fields stay readable")
	assert.Equal(t, "invalid_grant [redacted]", he.Code)
}

// A Retry-After too large for time.Duration once overflowed to a negative
// wait, turning "come back in 300 years" into an immediate retry.
func TestHugeRetryAfterIsNotImmediateRetry(t *testing.T) {
	t.Parallel()
	s := &script{replies: []func(http.ResponseWriter, *http.Request){status(503, ``, "Retry-After", "10000000000"), status(200, `{}`)}}
	srv, c := serve(t, s)
	var sl sleeps
	_, err := post(context.Background(), httpx.Options{Client: c, Sleep: sl.sleep}, srv.URL)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	assert.Positive(t, he.RetryAfter)
	assert.Empty(t, sl.got())
	assert.EqualValues(t, 1, s.n.Load())
}
