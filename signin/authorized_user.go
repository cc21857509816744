package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// AuthorizedUser is a parsed authorized_user credentials file: what
// `gcloud auth application-default login` writes
// (~/.config/gcloud/application_default_credentials.json).
type AuthorizedUser struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	RefreshToken   string `json:"refresh_token"`
	TokenURI       string `json:"token_uri"`
	QuotaProjectID string `json:"quota_project_id"`
	UniverseDomain string `json:"universe_domain"`
}

// String never prints the secret or the refresh token.
func (a *AuthorizedUser) String() string {
	return "authorized_user credentials for OAuth client " + a.ClientID
}

// ParseAuthorizedUser parses and validates an authorized_user JSON.
// Errors wrap ErrInvalidCredentials and never contain its secrets.
func ParseAuthorizedUser(data []byte) (*AuthorizedUser, error) {
	var a AuthorizedUser
	if err := json.Unmarshal(data, &a); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: not JSON (syntax error at byte %d)", ErrInvalidCredentials, se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("%w: field %q has the wrong JSON type", ErrInvalidCredentials, te.Field)
		}
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidCredentials)
	}
	if a.Type != "authorized_user" {
		if a.Type == "" {
			return nil, fmt.Errorf("%w: no \"type\" field", ErrInvalidCredentials)
		}
		return nil, fmt.Errorf("%w: type is %q, want \"authorized_user\"", ErrInvalidCredentials, cleanText(a.Type))
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"client_id", a.ClientID}, {"client_secret", a.ClientSecret}, {"refresh_token", a.RefreshToken},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", ErrInvalidCredentials, strings.Join(missing, ", "))
	}
	if a.TokenURI != "" {
		if err := checkURL("token_uri", a.TokenURI); err != nil {
			return nil, fmt.Errorf("%w: token_uri is not an absolute http(s) URL", ErrInvalidCredentials)
		}
	}
	return &a, nil
}

// AuthorizedUserConfig configures FromAuthorizedUser. Every field is
// optional.
type AuthorizedUserConfig struct {
	// TokenURL overrides the token endpoint (default: the file's
	// token_uri, else DefaultTokenURL).
	TokenURL string
	// HTTPClient, Retry, EarlyRefresh and Now are as in Config.
	HTTPClient   *http.Client
	Retry        httpx.Retry
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
