package httpx

import (
	"bytes"
	"context"
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
func Do(ctx context.Context, o Options, r Request) (*Response, error) {
	retry := o.Retry.withDefaults()
	client := o.Client
	if client == nil {
		client = NewClient()
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
		if delay > retry.MaxDelay*4 || time.Since(start)+delay > retry.MaxElapsed {
			// The server asks for a wait beyond our budget: report now
			// rather than hang.
			return nil, lastErr
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s %s: %w (last failure: %v)", r.Method, endpoint, err, lastErr)
		}
	}
}

func once(ctx context.Context, client *http.Client, r Request, maxBody int64) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, scrubURLError(err)
	}
	defer resp.Body.Close()
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
		return nil, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, max)
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

func retryableTransport(err error) bool {
	if errors.Is(err, ErrBodyTooLarge) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) {
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
