package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryableTransport(t *testing.T) {
	t.Parallel()
	op := func(err error) error { return &net.OpError{Op: "read", Net: "tcp", Err: err} }
	cases := map[string]struct {
		err  error
		want bool
	}{
		"reset":             {op(os.NewSyscallError("read", syscall.ECONNRESET)), true},
		"refused":           {op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), true},
		"broken pipe":       {op(syscall.EPIPE), true},
		"eof":               {fmt.Errorf("reading reply: %w", io.EOF), true},
		"unexpected eof":    {fmt.Errorf("reading reply: %w", io.ErrUnexpectedEOF), true},
		"timeout":           {timeoutErr{}, true},
		"other op error":    {op(errors.New("whatever")), true},
		"no such host":      {op(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), false},
		"dns timeout":       {op(&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}), true},
		"dns temporary":     {op(&net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}), true},
		"tls verification":  {&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		"unknown authority": {x509.UnknownAuthorityError{}, false},
		"hostname":          {x509.HostnameError{Host: "x"}, false},
		"body too large":    {fmt.Errorf("%w (limit 1 bytes)", ErrBodyTooLarge), false},
		"bad request":       {errBadRequest{&url.Error{Op: "parse", URL: "x", Err: errors.New("bad")}}, false},
		"unknown":           {errors.New("http: server gave HTTP response to HTTPS client"), false},
	}
	for name, tc := range cases {
		assert.Equal(t, tc.want, retryableTransport(tc.err), name)
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	r := Retry{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for attempt := 1; attempt <= 70; attempt++ { // past the shift overflow
		want := min(r.BaseDelay<<min(attempt-1, 30), r.MaxDelay)
		for range 20 {
			d := backoff(r, attempt)
			assert.True(t, d >= want/2 && d <= want, "attempt %d: %s not in [%s, %s]", attempt, d, want/2, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"0":    0,
		"7":    7 * time.Second,
		" 7":   7 * time.Second,
		"-3":   0,
		"soon": 0,
		now.Add(90 * time.Second).Format(http1123):    90 * time.Second,
		now.Add(60 * time.Second).Format(time.RFC850): 60 * time.Second,
		now.Add(30 * time.Second).Format(time.ANSIC):  30 * time.Second,
		now.Add(-time.Hour).Format(http1123):          0, // already past
	}
	for in, want := range cases {
		assert.Equal(t, want, parseRetryAfter(in, now), "%q", in)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestStripQuery(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "https://oauth2.googleapis.com/token", stripQuery("https://u:p@oauth2.googleapis.com/token?a=b#frag"))
	assert.Equal(t, "(unparseable URL)", stripQuery("http://a b/?secret"))
}

func TestParseGoogleErrorShapes(t *testing.T) {
	t.Parallel()
	cases := map[string][2]string{
		`{"error":"invalid_grant","error_description":"bad"}`:                    {"invalid_grant", "bad"},
		`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`: {"PERMISSION_DENIED", "denied"},
		`{"error":"x"}`:             {"x", ""},
		`{"error":5}`:               {"", ""},
		`{"error":null}`:            {"", ""},
		`[]`:                        {"", ""},
		`<html>`:                    {"", ""},
		``:                          {"", ""},
		`{"error_description":"d"}`: {"", ""},
	}
	for body, want := range cases {
		c, d := ParseGoogleError([]byte(body))
		assert.Equal(t, want, [2]string{c, d}, body)
	}
	long := strings.Repeat("é", 600)
	c, d := ParseGoogleError([]byte(`{"error":"` + long + `","error_description":"` + long + `"}`))
	assert.LessOrEqual(t, len(c), maxErrorText+len("…"))
	assert.LessOrEqual(t, len(d), maxErrorText+len("…"))
}

func FuzzParseGoogleError(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
	f.Add([]byte(`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`))
	f.Add([]byte(`{"error":null,"error_description":5}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, desc := ParseGoogleError(body)
		if len(code) > maxErrorText+len("…") || len(desc) > maxErrorText+len("…") {
			t.Fatalf("unclipped text: %d, %d bytes", len(code), len(desc))
		}
		e := newError("https://x/token", 400, nil, body, time.Now())
		if e.Code != code || e.Description != desc {
			t.Fatal("newError disagrees with ParseGoogleError")
		}
		_ = e.Error()
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add("120")
	f.Add("-1")
	f.Add("99999999999999999999")
	f.Add(now.Add(time.Minute).Format(http1123))
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("delay %s out of range for %q", d, v)
		}
	})
}
