package impersonate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// DefaultEndpoint is the IAM Credentials API root.
const DefaultEndpoint = "https://iamcredentials.googleapis.com/"

// DefaultTokenURL is Google's OAuth 2.0 token endpoint.
const DefaultTokenURL = "https://oauth2.googleapis.com/token"

// HTTPError is the error for a non-2xx reply from IAM Credentials or the
// token endpoint. It is the same type in every package of this module,
// so one errors.As catches them all. A missing Service Account Token
// Creator role is StatusCode 403, Code "PERMISSION_DENIED"; an unknown
// account is 404 "NOT_FOUND"; an invalid or expired base token is 401
// "UNAUTHENTICATED".
type HTTPError = httpx.Error

// Retry bounds the retries of one request (Config.Retry,
// KeylessConfig.Retry); the zero value means the defaults: 4 attempts,
// 200 ms base delay, 5 s max delay, 30 s in all. MaxAttempts 1 disables
// retries. It is the same type in every package of this module.
type Retry = httpx.Retry

// Sentinel errors; test with errors.Is.
var (
	ErrNoAudience   = errors.New("impersonate: Audience is required")
	ErrNoTarget     = errors.New("impersonate: the target service account is required")
	ErrNoBase       = errors.New("impersonate: Base token source is required")
	ErrBadConfig    = errors.New("impersonate: invalid configuration")
	ErrBase         = errors.New("impersonate: base credentials failed")
	ErrBadReply     = errors.New("impersonate: reply is not the expected JSON")
	ErrInvalidToken = errors.New("impersonate: endpoint returned an unusable ID token")
)

// Config configures NewTokenSource. Audience, TargetPrincipal and Base
// are required.
type Config struct {
	// Audience is the aud of the token: the URL of the Cloud Run service
	// or Cloud Function, or the IAP OAuth client ID.
	Audience string
	// TargetPrincipal is the email of the service account to get a token
	// for. The base principal needs roles/iam.serviceAccountTokenCreator
	// on it (or on the first delegate).
	TargetPrincipal string
	// Delegates is the chain of service accounts (emails) between the
	// base principal and the target: each needs the Token Creator role on
	// the next, the base principal on the first.
	Delegates []string
	// IncludeEmail puts the target's email (and email_verified) in the
	// token. Cloud Run and Cloud Functions do not need it; many other
	// receivers (and IAP) want it.
	IncludeEmail bool
	// Base supplies the OAuth 2.0 access tokens that authenticate the
	// calls: a service account, metadata server, user (see
	// AuthorizedUserBase) or federated (STS) token source. If it has a
	// TokenContext(ctx) method, the caller's context reaches it.
	Base oauth2.TokenSource
	// Endpoint is the IAM Credentials API root; default DefaultEndpoint.
	// Set it for other universes or an emulator.
	Endpoint string
	// HTTPClient sends the requests to IAM; nil means a client with a
	// 30 s timeout. Its transport must not add credentials of its own:
	// the Authorization header comes from Base.
	HTTPClient *http.Client
	// Retry bounds retries of transient failures (zero: defaults).
	Retry Retry
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// iam is what generateIdToken and signJwt calls share.
type iam struct {
	base      oauth2.TokenSource
	endpoint  string // with trailing slash
	delegates []string
	http      httpx.Options
}

type idTokenSource struct {
	iam
	target string
	body   []byte
}

// NewTokenSource validates cfg and returns a cached source of ID tokens
// for cfg.TargetPrincipal from IAM Credentials generateIdToken. It makes
// no request: the first Token does (one round trip, plus whatever the
// base needs). ctx is not stored.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	if cfg.Audience == "" {
		return nil, ErrNoAudience
	}
	if err := checkPrincipal(cfg.TargetPrincipal, "TargetPrincipal"); err != nil {
		return nil, err
	}
	in, err := newIAM(cfg.Base, cfg.Endpoint, cfg.Delegates, cfg.HTTPClient, cfg.Retry, cfg.Now)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{
		"audience":     cfg.Audience,
		"includeEmail": cfg.IncludeEmail,
		"delegates":    in.delegates,
	})
	if err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	s := &idTokenSource{iam: in, target: cfg.TargetPrincipal, body: body}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: cfg.Now}), nil
}

func checkPrincipal(p, field string) error {
	if p == "" {
		return ErrNoTarget
	}
	if strings.ContainsAny(p, "/?#:% \t\r\n") {
		return fmt.Errorf("%w: %s %q is not a service account email or unique ID", ErrBadConfig, field, p)
	}
	return nil
}

func newIAM(base oauth2.TokenSource, endpoint string, delegates []string, hc *http.Client, retry httpx.Retry, now func() time.Time) (iam, error) {
	if base == nil {
		return iam{}, ErrNoBase
	}
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if err := checkURL(endpoint, "Endpoint"); err != nil {
		return iam{}, err
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	ds := make([]string, 0, len(delegates))
	for _, d := range delegates {
		email := strings.TrimPrefix(d, "projects/-/serviceAccounts/")
		if err := checkPrincipal(email, "delegate"); err != nil {
			return iam{}, fmt.Errorf("%w: delegate %q is not a service account email", ErrBadConfig, d)
		}
		ds = append(ds, "projects/-/serviceAccounts/"+email)
	}
	if hc == nil {
		hc = httpx.NewClient()
	}
	return iam{base: base, endpoint: endpoint, delegates: ds, http: httpx.Options{Client: hc, Retry: retry, Now: now}}, nil
}

func checkURL(raw, field string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("%w: %s %q is not an absolute http(s) URL", ErrBadConfig, field, raw)
	}
	return nil
}

// contextTokenSource is a token source that takes a context, as every
// source of this module and of golang.org/x/oauth2/google/externalaccount
// wrappers do.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// baseToken gets an access token from the base source.
func baseToken(ctx context.Context, base oauth2.TokenSource) (*oauth2.Token, error) {
	var tok *oauth2.Token
	var err error
	if c, ok := base.(contextTokenSource); ok {
		tok, err = c.TokenContext(ctx)
	} else {
		tok, err = base.Token()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBase, err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: it returned an empty access token", ErrBase)
	}
	return tok, nil
}

// call POSTs body to method ("generateIdToken", "signJwt") for the
// service account, authenticated by the base.
func (c *iam) call(ctx context.Context, account, method string, body []byte) ([]byte, error) {
	tok, err := baseToken(ctx, c.base)
	if err != nil {
		return nil, err
	}
	u := c.endpoint + "v1/projects/-/serviceAccounts/" + url.PathEscape(account) + ":" + method
	h := http.Header{
		"Authorization": {tok.Type() + " " + tok.AccessToken},
		"Content-Type":  {"application/json"},
	}
	if qp, ok := tok.Extra(QuotaProjectExtra).(string); ok && qp != "" {
		h.Set("X-Goog-User-Project", qp)
	}
	resp, err := httpx.Do(ctx, c.http, httpx.Request{Method: http.MethodPost, URL: u, Header: h, Body: body})
	if err != nil {
		return nil, fmt.Errorf("impersonate: %s for %s: %w", method, account, err)
	}
	return resp.Body, nil
}

func (s *idTokenSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	body, err := s.call(ctx, s.target, "generateIdToken", s.body)
	if err != nil {
		return nil, err
	}
	return ParseGenerateIDTokenReply(body)
}

// ParseGenerateIDTokenReply reads the reply of generateIdToken,
// {"token": "<JWT>"}, into a token whose Expiry is the JWT's exp.
func ParseGenerateIDTokenReply(body []byte) (*oauth2.Token, error) {
	var r struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: generateIdToken reply", ErrBadReply)
	}
	if r.Token == "" {
		return nil, fmt.Errorf("%w: generateIdToken reply has no token", ErrBadReply)
	}
	return idToken(r.Token)
}

func idToken(raw string) (*oauth2.Token, error) {
	tok, err := cache.FromIDToken(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return tok, nil
}
