package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// DefaultMaxBody is the largest reply body read from any endpoint unless
// Options says otherwise. Google's largest replies (JWKS) are a few KiB.
const DefaultMaxBody = 1 << 20

// ErrBodyTooLarge is returned when a reply exceeds the body limit.
var ErrBodyTooLarge = errors.New("reply body exceeds size limit")

// Retry bounds the retries of one request. The zero value means the
// defaults: 4 attempts, 200 ms base delay, 5 s max delay, 30 s in all.
// Set MaxAttempts to 1 to disable retries.
type Retry struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxElapsed  time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 4
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 200 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 5 * time.Second
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 30 * time.Second
	}
	return r
}

// Options configures Do. Every field is optional.
type Options struct {
	// Client sends the requests; nil means a client from NewClient.
	Client *http.Client
	// Retry bounds retries.
	Retry Retry
	// MaxBody caps the reply body; 0 means DefaultMaxBody.
	MaxBody int64
	// Now is the clock used for Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Sleep waits between attempts; nil means a timer that honours ctx.
	// Tests inject it to run retries without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Request is a request that can be sent more than once.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Response is a successful (2xx) reply with its body fully read.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Attempts is how many times the request was sent.
	Attempts int
}

// DefaultTimeout bounds one attempt of a request made with NewClient.
const DefaultTimeout = 30 * time.Second

// NewClient returns a fresh http.Client with a timeout and its own
// transport (a clone of http.DefaultTransport), so callers never share or
// mutate a global.
func NewClient() *http.Client {
	return &http.Client{
		Timeout:   DefaultTimeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
}

// Do sends r, retrying transient failures, and returns the 2xx reply or an
// error. A non-2xx final reply is an *Error; a transport failure is
// wrapped as is; ctx cancellation returns ctx.Err() wrapped.
//
// What is retried: 5xx, 408 and 429 replies, and transport failures that
// say nothing about the request itself (connection refused or reset,
// EOF or a truncated reply, timeouts). Never retried: other 4xx, 3xx
// (redirects of a request with a body are not followed, see below), a
// reply larger than MaxBody (ErrBodyTooLarge), TLS certificate and DNS
// "no such host" failures, and malformed URLs.
//
// Do assumes r is safe to repeat, even after a failure that may have
// reached the server (a connection reset mid-reply). That holds for every
// request this module sends: the OAuth token endpoint (jwt-bearer,
// refresh_token), STS token exchange and IAM Credentials
// generateIdToken/generateAccessToken/signJwt each mint a fresh,
// independent credential and change no state, so a repeat at worst
// mints one more short-lived token. A caller with a non-idempotent
// request must set Retry.MaxAttempts to 1.
//
// Waits: a Retry-After (seconds or HTTP date) is honoured as given; a
// reply without one gets jittered exponential backoff. When the wait
// would exceed 4×MaxDelay, the remaining MaxElapsed budget, or ctx's
// deadline, Do gives up at once and returns the last failure (for an
// *Error, RetryAfter tells the caller when to come back). The budget
// counts both wall-clock time and the waits asked of Sleep, so injected
// sleeps in tests consume it exactly as real ones do.
//
// Requests with a body (the POSTs that carry assertions, refresh tokens
// or client secrets) do not follow redirects: a 3xx reply is returned as
// an *Error, so a hostile or misconfigured endpoint cannot have the
// credential re-posted elsewhere.
func Do(ctx context.Context, o Options, r Request) (*Response, error) {
	retry := o.Retry.withDefaults()
	client := o.Client
	if client == nil {
		client = NewClient()
	}
	if r.Body != nil {
		c := *client
		c.CheckRedirect = noRedirect
		client = &c
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	maxBody := o.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	endpoint := stripQuery(r.URL)
	start := time.Now()
	var slept time.Duration
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := once(ctx, client, r, maxBody)
		if err == nil && resp.StatusCode/100 == 2 {
			resp.Attempts = attempt
			return resp, nil
		}
		var delay time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", r.Method, endpoint, ctx.Err())
			}
			lastErr = fmt.Errorf("%s %s: %w", r.Method, endpoint, err)
			if !retryableTransport(err) {
				return nil, lastErr
			}
		default:
			he := newError(endpoint, resp.StatusCode, resp.Header, resp.Body, now())
			he.Code, he.Description = redactEcho(he.Code, r.Body), redactEcho(he.Description, r.Body)
			lastErr = he
			if !he.Temporary() {
				return nil, he
			}
			delay = he.RetryAfter
		}
		if attempt >= retry.MaxAttempts {
			return nil, lastErr
		}
		if delay == 0 {
			delay = backoff(retry, attempt)
		}
		elapsed := max(time.Since(start), slept)
		if delay > retry.MaxDelay*4 || elapsed+delay > retry.MaxElapsed {
			// The server asks for a wait beyond our budget: report now
			// rather than hang.
			return nil, lastErr
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			// The caller would give up during the wait: say why now.
			return nil, lastErr
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s %s: %w (last failure: %v)", r.Method, endpoint, err, lastErr)
		}
		slept += delay
	}
}

// noRedirect stops a client from following a redirect; the 3xx reply is
// then returned to Do as is.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func once(ctx context.Context, client *http.Client, r Request, maxBody int64) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, errBadRequest{scrubURLError(err)}
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, scrubURLError(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxBody {
		return nil, fmt.Errorf("%w (%d bytes announced, limit %d)", ErrBodyTooLarge, resp.ContentLength, maxBody)
	}
	b, err := ReadLimited(resp.Body, maxBody)
	if err != nil {
		if errors.Is(err, ErrBodyTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("reading reply: %w", err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// ReadLimited reads all of r, failing with ErrBodyTooLarge past max bytes.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, max)
	}
	return b, nil
}

// scrubURLError drops the URL from a *url.Error (the caller adds the
// endpoint without its query, which may hold an audience or a token).
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errBadRequest marks a request that could not even be built (a
// malformed URL): repeating it cannot help.
type errBadRequest struct{ err error }

func (e errBadRequest) Error() string { return "invalid request: " + e.err.Error() }
func (e errBadRequest) Unwrap() error { return e.err }

// retryableTransport reports whether a transport failure may go away if
// the request is sent again. Connection-level failures (refused, reset,
// EOF, broken pipe, truncated reply, timeouts) may; failures that will
// repeat identically (bad URL, no such host, TLS certificate rejected,
// reply too large) may not. Unknown errors are not retried.
func retryableTransport(err error) bool {
	var bad errBadRequest
	if errors.Is(err, ErrBodyTooLarge) || errors.As(err, &bad) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidCert) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// backoff is full-jitter exponential backoff: a random delay in
// [base·2^(n-1)/2, base·2^(n-1)], capped at MaxDelay.
func backoff(r Retry, attempt int) time.Duration {
	d := r.BaseDelay << (attempt - 1)
	if d <= 0 || d > r.MaxDelay {
		d = r.MaxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery = ""
	u.Fragment = ""
	u.User = nil
	return u.String()
}

// PostForm is a convenience for an application/x-www-form-urlencoded POST.
func PostForm(ctx context.Context, o Options, endpoint string, form url.Values) (*Response, error) {
	return Do(ctx, o, Request{
		Method: http.MethodPost,
		URL:    endpoint,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body:   []byte(form.Encode()),
	})
}
