package metadata

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

	gcemd "cloud.google.com/go/compute/metadata"

	"github.com/idtokens/idtokens/internal/cache"
)

// ErrInvalidAccessToken is returned when the metadata server's access
// token reply is not usable.
var ErrInvalidAccessToken = errors.New("metadata: metadata server returned an unusable access token")

// AccessConfig configures NewAccessTokenSource. Every field is optional.
type AccessConfig struct {
	// Account is "default" (the default) or the email of a service
	// account attached to the instance.
	Account string
	// Scopes, when set, asks for these scopes (Cloud Run and GKE honour
	// it; GCE gives the instance's scopes whatever is asked).
	Scopes []string
	// Host, HTTPClient, EarlyRefresh and Now: as in Config.
	Host         string
	HTTPClient   *http.Client
	EarlyRefresh time.Duration
	Now          func() time.Time
}

// NewAccessTokenSource returns a cached source of the attached service
// account's OAuth 2.0 access tokens
// (…/service-accounts/{acct}/token): the base for impersonating another
// account (package impersonate) from a Google Cloud runtime. It makes no
// request: the first Token does. ctx is not stored.
func NewAccessTokenSource(ctx context.Context, cfg AccessConfig) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	acct := cfg.Account
	if acct == "" {
		acct = "default"
	}
	if strings.ContainsAny(acct, "/?#% \t\r\n") {
		return nil, fmt.Errorf("%w: Account %q is neither \"default\" nor an email", ErrBadConfig, acct)
	}
	if err := checkHost(cfg.Host); err != nil {
		return nil, err
	}
	suffix := "instance/service-accounts/" + url.PathEscape(acct) + "/token"
	if len(cfg.Scopes) > 0 {
		suffix += "?" + url.Values{"scopes": {strings.Join(cfg.Scopes, ",")}}.Encode()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &source{
		client: gcemd.NewWithOptions(&gcemd.Options{Client: httpClient(Config{Host: cfg.Host, HTTPClient: cfg.HTTPClient})}),
		suffix: suffix,
		host:   cfg.Host,
	}
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		body, err := s.client.GetWithContext(ctx, s.suffix)
		if err != nil {
			return nil, s.wrap(err)
		}
		return ParseAccessToken([]byte(body), now())
	}
	return cache.New(fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: now}), nil
}

// ParseAccessToken reads the metadata server's access token reply,
// {"access_token","expires_in","token_type"}, received at now. Errors
// wrap ErrInvalidAccessToken and never quote the reply.
func ParseAccessToken(body []byte, now time.Time) (*oauth2.Token, error) {
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: not the expected JSON", ErrInvalidAccessToken)
	}
	if r.AccessToken == "" || r.ExpiresIn <= 0 || r.ExpiresIn > 24*3600 {
		return nil, fmt.Errorf("%w: no token or no usable lifetime", ErrInvalidAccessToken)
	}
	return &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer", Expiry: now.Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}
