package signin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/idtokens/idtokens/internal/credfile"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
)

// AuthorizedUser is a parsed authorized_user credentials file: what
// `gcloud auth application-default login` writes
// (~/.config/gcloud/application_default_credentials.json). Its String and
// GoString never print the secret or the refresh token.
type AuthorizedUser = credfile.AuthorizedUser

// ParseAuthorizedUser parses and validates an authorized_user JSON.
// Errors wrap ErrInvalidCredentials and never contain its secrets.
func ParseAuthorizedUser(data []byte) (*AuthorizedUser, error) {
	a, err := credfile.ParseAuthorizedUser(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	return a, nil
}

// AuthorizedUserConfig configures FromAuthorizedUser. Every field is
// optional.
type AuthorizedUserConfig struct {
	// TokenURL overrides the token endpoint (default: the file's
	// token_uri, else DefaultTokenURL).
	TokenURL string
	// HTTPClient, Retry, EarlyRefresh and Now are as in Config.
	HTTPClient   *http.Client
	Retry        Retry
	EarlyRefresh time.Duration
	Now          func() time.Time
}

// FromAuthorizedUser returns a cached source of the user's ID tokens from
// the content of an authorized_user JSON, refreshed with its refresh
// token (the reply's id_token). ctx is used for construction only.
//
// The audience of these tokens is the file's client_id: for
// `gcloud auth application-default login` that is gcloud's own OAuth
// client, which a service accepts only if it allowlists it (IAP can). To
// call a Cloud Run service or anything else that wants its own URL as the
// audience, pass the same file to impersonate.AuthorizedUserBase and use
// that as the base of package impersonate instead: generateIdToken then
// mints a service account's token for any audience (the user needs
// roles/iam.serviceAccountTokenCreator on that service account).
//
// A refresh that the server refuses with invalid_grant (revoked, expired,
// or reauthentication required) wraps ErrReauthRequired: run
// `gcloud auth application-default login` again.
func FromAuthorizedUser(ctx context.Context, credentialsJSON []byte, cfg AuthorizedUserConfig) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signin: %w", err)
	}
	a, err := ParseAuthorizedUser(credentialsJSON)
	if err != nil {
		return nil, err
	}
	tokenURL := DefaultTokenURL
	if a.TokenURI != "" {
		tokenURL = a.TokenURI
	}
	if cfg.TokenURL != "" {
		if err := checkURL("TokenURL", cfg.TokenURL); err != nil {
			return nil, err
		}
		tokenURL = cfg.TokenURL
	}
	s := newRefresher(a.ClientID, a.ClientSecret, tokenURL, cfg.HTTPClient, cfg.Retry, cfg.Now)
	s.rt = a.RefreshToken
	return cache.New(s.fetchID, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: s.now}), nil
}
