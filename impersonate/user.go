package impersonate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/idtokens/idtokens/internal/credfile"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// ErrInvalidUserCredentials is wrapped by every failure to read an
// authorized_user file.
var ErrInvalidUserCredentials = errors.New("impersonate: invalid authorized_user credentials")

// QuotaProjectExtra is the oauth2.Token Extra key under which a base
// token may name the project to bill for the IAM calls; they then carry
// it as X-Goog-User-Project. AuthorizedUserBase sets it from the file's
// quota_project_id.
const QuotaProjectExtra = "quota_project_id"

// AuthorizedUser is a parsed authorized_user credentials file: what
// `gcloud auth application-default login` writes to
// ~/.config/gcloud/application_default_credentials.json. Its String and
// GoString never print the secret or the refresh token.
type AuthorizedUser = credfile.AuthorizedUser

// ParseAuthorizedUser parses and validates an authorized_user file; an
// empty token_uri becomes DefaultTokenURL. Errors wrap
// ErrInvalidUserCredentials and never contain the secret or the refresh
// token.
func ParseAuthorizedUser(data []byte) (*AuthorizedUser, error) {
	u, err := credfile.ParseAuthorizedUser(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserCredentials, err)
	}
	if u.TokenURI == "" {
		u.TokenURI = DefaultTokenURL
	}
	return u, nil
}

// AuthorizedUserBase returns a cached source of the user's OAuth 2.0
// access tokens, refreshed with golang.org/x/oauth2 from the refresh
// token in credentialsJSON (an authorized_user file) at its token_uri.
// Use it as Config.Base or KeylessConfig.Base: a developer signed in with
// `gcloud auth application-default login` then gets ID tokens for any
// audience, as a service account they hold the Token Creator role on.
// httpClient sends the refresh requests (nil: a client with a 30 s
// timeout). ctx is not stored.
func AuthorizedUserBase(ctx context.Context, credentialsJSON []byte, httpClient *http.Client) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("impersonate: %w", err)
	}
	u, err := ParseAuthorizedUser(credentialsJSON)
	if err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = httpx.NewClient()
	}
	s := &userSource{
		conf: oauth2.Config{
			ClientID:     u.ClientID,
			ClientSecret: u.ClientSecret,
			// Google's own clients send the client in the form.
			Endpoint: oauth2.Endpoint{TokenURL: u.TokenURI, AuthStyle: oauth2.AuthStyleInParams},
		},
		refresh:      u.RefreshToken,
		client:       httpClient,
		quotaProject: u.QuotaProjectID,
	}
	return cache.New(s.fetch, cache.Options{}), nil
}

type userSource struct {
	conf         oauth2.Config
	client       *http.Client
	quotaProject string

	mu      sync.Mutex
	refresh string // Google may hand out a new one
}

func (s *userSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	rt := s.refresh
	s.mu.Unlock()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	tok, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return nil, fmt.Errorf("impersonate: refreshing user credentials: %w", &HTTPError{
				Endpoint:    s.conf.Endpoint.TokenURL,
				StatusCode:  re.Response.StatusCode,
				Code:        re.ErrorCode,
				Description: re.ErrorDescription,
			})
		}
		return nil, fmt.Errorf("impersonate: refreshing user credentials: %w", err)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		s.mu.Lock()
		s.refresh = tok.RefreshToken
		s.mu.Unlock()
	}
	// Only the access token leaves: the refresh token stays here.
	out := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.Type(), Expiry: tok.Expiry}
	if s.quotaProject != "" {
		// The IAM calls bill this project (X-Goog-User-Project), as
		// Google's clients do for user credentials.
		out = out.WithExtra(map[string]any{QuotaProjectExtra: s.quotaProject})
	}
	return out, nil
}
