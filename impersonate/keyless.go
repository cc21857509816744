package impersonate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// KeylessConfig configures NewKeylessTokenSource. Audience,
// ServiceAccount and Base are required.
type KeylessConfig struct {
	// Audience is the target_audience: the URL of the Cloud Run service
	// or Cloud Function, or the IAP OAuth client ID.
	Audience string
	// ServiceAccount is the email of the service account the token is
	// for; IAM signs the assertion with its Google-managed key. The base
	// principal needs roles/iam.serviceAccountTokenCreator on it (or on
	// the first delegate).
	ServiceAccount string
	// Delegates is the chain of service accounts (emails) between the
	// base principal and ServiceAccount, as in Config.
	Delegates []string
	// Base supplies the access tokens that authenticate the signJwt call.
	Base oauth2.TokenSource
	// IAMEndpoint is the IAM Credentials API root; default
	// DefaultEndpoint.
	IAMEndpoint string
	// TokenURL is the OAuth 2.0 token endpoint the signed assertion is
	// exchanged at, and the assertion's aud; default DefaultTokenURL.
	TokenURL string
	// HTTPClient sends both requests; nil means a client with a 30 s
	// timeout. Its transport must not add credentials of its own.
	HTTPClient *http.Client
	// Retry bounds retries of transient failures (zero: defaults).
	Retry Retry
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock (for the assertion's iat and exp, and the cache);
	// nil means time.Now.
	Now func() time.Time
}

type keylessSource struct {
	iam
	audience string
	account  string
	tokenURL string
	now      func() time.Time
}

// NewKeylessTokenSource validates cfg and returns a cached source of ID
// tokens for cfg.ServiceAccount obtained without any key: IAM Credentials
// signJwt signs a jwt-bearer assertion carrying target_audience, and the
// token endpoint exchanges it for an ID token, exactly the one a key
// file would give. Two round trips per cold token, plus whatever the base
// needs. ctx is not stored.
func NewKeylessTokenSource(ctx context.Context, cfg KeylessConfig) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	if cfg.Audience == "" {
		return nil, ErrNoAudience
	}
	if err := checkPrincipal(cfg.ServiceAccount, "ServiceAccount"); err != nil {
		return nil, err
	}
	in, err := newIAM(cfg.Base, cfg.IAMEndpoint, cfg.Delegates, cfg.HTTPClient, cfg.Retry, cfg.Now)
	if err != nil {
		return nil, err
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if err := checkURL(tokenURL, "TokenURL"); err != nil {
		return nil, err
	}
	s := &keylessSource{iam: in, audience: cfg.Audience, account: cfg.ServiceAccount, tokenURL: tokenURL, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: cfg.Now}), nil
}

func (s *keylessSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	now := s.now()
	claims, err := json.Marshal(map[string]any{
		"iss":             s.account,
		"aud":             s.tokenURL,
		"iat":             now.Unix(),
		"exp":             now.Add(time.Hour).Unix(),
		"target_audience": s.audience,
	})
	if err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	req := map[string]any{"payload": string(claims)}
	if len(s.delegates) > 0 {
		req["delegates"] = s.delegates
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	reply, err := s.call(ctx, s.account, "signJwt", body)
	if err != nil {
		return nil, err
	}
	assertion, err := ParseSignJWTReply(reply)
	if err != nil {
		return nil, err
	}
	resp, err := httpx.PostForm(ctx, s.http, s.tokenURL, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	})
	if err != nil {
		return nil, fmt.Errorf("impersonate: exchanging the signed assertion: %w", err)
	}
	return ParseTokenReply(resp.Body)
}

// ParseSignJWTReply reads the reply of signJwt, {"keyId": "…",
// "signedJwt": "<JWT>"}, and returns the signed JWT.
func ParseSignJWTReply(body []byte) (string, error) {
	var r struct {
		KeyID     string `json:"keyId"`
		SignedJWT string `json:"signedJwt"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("%w: signJwt reply", ErrBadReply)
	}
	if r.SignedJWT == "" {
		return "", fmt.Errorf("%w: signJwt reply has no signedJwt", ErrBadReply)
	}
	return r.SignedJWT, nil
}

// ParseTokenReply reads a token endpoint reply to a jwt-bearer grant
// with target_audience, {"id_token": "<JWT>"}.
func ParseTokenReply(body []byte) (*oauth2.Token, error) {
	var r struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: token endpoint reply", ErrBadReply)
	}
	if r.IDToken == "" {
		return nil, fmt.Errorf("%w: token endpoint reply has no id_token", ErrBadReply)
	}
	return idToken(r.IDToken)
}
