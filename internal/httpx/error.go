package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Error is an HTTP failure reported by a Google endpoint (or anything that
// answered in its place). It never carries the request, so no credential
// ends up in its text.
type Error struct {
	// Endpoint is the URL that was called, without its query string.
	Endpoint string
	// StatusCode is the HTTP status of the reply.
	StatusCode int
	// Code is Google's machine-readable error: the OAuth "error" field
	// (e.g. "invalid_grant") or, for JSON APIs, "error.status"
	// (e.g. "PERMISSION_DENIED").
	Code string
	// Description is the OAuth "error_description" or the JSON API
	// "error.message". Empty when the body carried neither.
	Description string
	// RetryAfter is the delay the server asked for in Retry-After, if any.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		fmt.Fprintf(&b, " %s", t)
	}
	if e.Endpoint != "" {
		fmt.Fprintf(&b, " from %s", e.Endpoint)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed if tried again:
// 408, 429 and every 5xx.
func (e *Error) Temporary() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// maxErrorText caps the length of any server-provided text kept in an
// Error, so a hostile endpoint cannot make error strings arbitrarily large.
const maxErrorText = 512

// newError builds an Error from a non-2xx reply, parsing both error shapes
// Google uses: OAuth ({"error":"…","error_description":"…"}) and JSON APIs
// ({"error":{"code":403,"message":"…","status":"PERMISSION_DENIED"}}).
func newError(endpoint string, status int, header http.Header, body []byte, now time.Time) *Error {
	e := &Error{Endpoint: endpoint, StatusCode: status}
	e.Code, e.Description = ParseGoogleError(body)
	if ra := header.Get("Retry-After"); ra != "" {
		e.RetryAfter = parseRetryAfter(ra, now)
	}
	return e
}

// ParseGoogleError extracts Google's error code and message from a reply
// body, whichever of the two shapes it has. Anything else yields "", "".
func ParseGoogleError(body []byte) (code, description string) {
	var raw struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &raw) != nil || len(raw.Error) == 0 {
		return "", ""
	}
	var s string
	if json.Unmarshal(raw.Error, &s) == nil {
		return clip(s), clip(raw.ErrorDescription)
	}
	var obj struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(raw.Error, &obj) == nil {
		return clip(obj.Status), clip(obj.Message)
	}
	return "", ""
}

// credentialLike matches the credential shapes a server could echo back:
// JWTs (assertions, ID tokens), Google access tokens, refresh tokens and
// OAuth client secrets.
var credentialLike = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*|ya29\.[A-Za-z0-9_\-.]+|1//[A-Za-z0-9_\-]+|GOCSPX-[A-Za-z0-9_\-]+`)

// secretFormFields are the OAuth, STS and PKCE form fields that carry a
// credential. Other fields (grant_type, audience, scope) stay readable in
// error text: they are what a user needs to diagnose a failure.
var secretFormFields = []string{
	"assertion", "client_assertion", "client_secret", "refresh_token",
	"subject_token", "actor_token", "code", "code_verifier", "password",
	"access_token", "id_token", "token",
}

// redactEcho removes from server-provided text anything that looks like a
// credential and the value of every credential-carrying form field of the
// request, so an endpoint that echoes the request cannot put an
// assertion, refresh token or client secret into an error string.
func redactEcho(s string, reqBody []byte) string {
	if s == "" {
		return s
	}
	s = credentialLike.ReplaceAllString(s, "[redacted]")
	if len(reqBody) > 0 {
		if form, err := url.ParseQuery(string(reqBody)); err == nil {
			for _, field := range secretFormFields {
				for _, v := range form[field] {
					if len(v) >= 8 {
						s = strings.ReplaceAll(s, v, "[redacted]")
					}
				}
			}
		}
	}
	return s
}

func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "…"
	}
	return s
}

// maxRetryAfter caps a Retry-After value: far beyond any retry budget, and
// small enough that adding it to an elapsed time cannot overflow.
const maxRetryAfter = 365 * 24 * time.Hour

// parseRetryAfter reads delay-seconds or an HTTP date. Unparseable or
// negative values give 0; huge ones are capped at maxRetryAfter (a naive
// seconds × time.Second overflows to a negative delay past 2^63 ns).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(v), "-") {
		return maxRetryAfter
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
