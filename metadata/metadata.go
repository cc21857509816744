package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	gcemd "cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// HostEnv is the environment variable that overrides the metadata
// server's host (host or host:port, no scheme), as in Google's clients.
const HostEnv = "GCE_METADATA_HOST"

// DefaultHost is the metadata server's address on every Google Cloud
// runtime (metadata.google.internal resolves to it).
const DefaultHost = "169.254.169.254"

// MaxBody caps a metadata reply; an ID token is about 1 KiB.
const MaxBody = 64 << 10

// HTTPError is the error for a non-2xx reply from the metadata server. It
// is the same type in every package of this module, so one errors.As
// catches them all. Its Description is the server's reply text.
type HTTPError = httpx.Error

// Sentinel errors; test with errors.Is.
var (
	ErrNoAudience   = errors.New("metadata: Config.Audience is required")
	ErrBadConfig    = errors.New("metadata: invalid Config")
	ErrNotFound     = errors.New("metadata: service account not found on this instance")
	ErrInvalidToken = errors.New("metadata: metadata server returned an unusable ID token")
)

// Config configures NewTokenSource. Only Audience is required.
type Config struct {
	// Audience is the aud of the token: the URL of the Cloud Run service
	// or Cloud Function, or the IAP OAuth client ID.
	Audience string
	// Account is "default" (the default) or the email of a service
	// account attached to the instance.
	Account string
	// Format is "full" (the default: email and instance details in the
	// token) or "standard".
	Format string
	// Licenses asks for the instance's license codes in a full token.
	Licenses bool
	// Host is the metadata server's host[:port]; empty means the
	// GCE_METADATA_HOST environment variable (read at each request), else
	// DefaultHost. Tests set it to idtokentest's MetadataHost().
	Host string
	// HTTPClient sends the requests; nil means a client with a 2 s dial
	// and 5 s request timeout (those of Google's metadata client). Its
	// transport must not add credentials of its own.
	HTTPClient *http.Client
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type source struct {
	client *gcemd.Client
	suffix string // path and query after /computeMetadata/v1/
	host   string // "" means: env, else default (for error texts)
}

// NewTokenSource validates cfg and returns a cached source of ID tokens
// from the metadata server. It makes no request: the first Token does.
// ctx is not stored.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if cfg.Audience == "" {
		return nil, ErrNoAudience
	}
	acct := cfg.Account
	if acct == "" {
		acct = "default"
	}
	if strings.ContainsAny(acct, "/?#% \t\r\n") {
		return nil, fmt.Errorf("%w: Account %q is neither \"default\" nor an email", ErrBadConfig, acct)
	}
	format := cfg.Format
	if format == "" {
		format = "full"
	}
	if format != "full" && format != "standard" {
		return nil, fmt.Errorf("%w: Format is %q, want \"full\" or \"standard\"", ErrBadConfig, cfg.Format)
	}
	if cfg.Licenses && format != "full" {
		return nil, fmt.Errorf("%w: Licenses needs Format \"full\"", ErrBadConfig)
	}
	if err := checkHost(cfg.Host); err != nil {
		return nil, err
	}
	q := url.Values{"audience": {cfg.Audience}, "format": {format}}
	if cfg.Licenses {
		q.Set("licenses", "TRUE")
	}
	s := &source{
		client: gcemd.NewWithOptions(&gcemd.Options{Client: httpClient(cfg)}),
		suffix: "instance/service-accounts/" + url.PathEscape(acct) + "/identity?" + q.Encode(),
		host:   cfg.Host,
	}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: cfg.Now}), nil
}

func checkHost(h string) error {
	if h == "" {
		return nil
	}
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/?# ") {
		return fmt.Errorf("%w: Host %q must be host or host:port, without scheme or path", ErrBadConfig, h)
	}
	return nil
}

// httpClient returns the client handed to Google's metadata package: a
// copy of cfg.HTTPClient (or a default one) whose transport caps reply
// bodies and, when cfg.Host is set, sends every request there. Google's
// package takes the host only from the environment; rewriting the URL in
// the transport lets Config.Host work without touching process state.
func httpClient(cfg Config) *http.Client {
	var c http.Client
	if cfg.HTTPClient != nil {
		c = *cfg.HTTPClient
	} else {
		c = http.Client{Timeout: 5 * time.Second, Transport: defaultTransport()}
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &transport{host: cfg.Host, base: base}
	return &c
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the metadata server is link-local: never via a proxy
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.IdleConnTimeout = 60 * time.Second
	return t
}

type transport struct {
	host string
	base http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.host != "" {
		r = r.Clone(r.Context())
		r.URL.Host = t.host
		r.Host = t.host
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxBody}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more than allowed tells "exactly at the limit" apart.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w (%d bytes)", httpx.ErrBodyTooLarge, MaxBody)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func (s *source) endpoint() string {
	h := s.host
	if h == "" {
		if h = os.Getenv(HostEnv); h == "" {
			h = DefaultHost
		}
	}
	path, _, _ := strings.Cut(s.suffix, "?")
	return "http://" + h + "/computeMetadata/v1/" + path
}

func (s *source) fetch(ctx context.Context) (*oauth2.Token, error) {
	body, err := s.client.GetWithContext(ctx, s.suffix)
	if err != nil {
		return nil, s.wrap(err)
	}
	return ParseIdentity([]byte(body))
}

// wrap turns the errors of Google's metadata package into this package's.
func (s *source) wrap(err error) error {
	var nd gcemd.NotDefinedError
	if errors.As(err, &nd) {
		return fmt.Errorf("%w: %w", ErrNotFound, &HTTPError{Endpoint: s.endpoint(), StatusCode: http.StatusNotFound})
	}
	var me *gcemd.Error
	if errors.As(err, &me) {
		return fmt.Errorf("metadata: %w", &HTTPError{
			Endpoint: s.endpoint(), StatusCode: me.Code, Description: clip(strings.TrimSpace(me.Message)),
		})
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text holds the query (the audience): keep it out
	}
	return fmt.Errorf("metadata: GET %s: %w", s.endpoint(), err)
}

func clip(s string) string {
	const max = 256
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// ParseIdentity turns the body of an identity reply into a token:
// surrounding whitespace is ignored, the rest must be a compact JWT with
// an exp claim. Errors wrap ErrInvalidToken.
func ParseIdentity(body []byte) (*oauth2.Token, error) {
	raw := strings.TrimSpace(string(body))
	if raw == "" {
		return nil, fmt.Errorf("%w: empty reply", ErrInvalidToken)
	}
	tok, err := cache.FromIDToken(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return tok, nil
}
