package signin

import (
	"errors"

	"github.com/idtokens/idtokens/internal/httpx"
)

// HTTPError is the error for a non-2xx reply from the token endpoint. It
// is the same type in every package of this module, so one errors.As
// catches them all.
type HTTPError = httpx.Error

// Retry bounds the retries of transient failures (5xx, 429, connection
// errors): MaxAttempts, BaseDelay, MaxDelay, MaxElapsed. The zero value
// is the defaults (4 attempts, 30 s in all); MaxAttempts 1 disables them.
// It is the same type in every package of this module.
type Retry = httpx.Retry

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidConfig: the Config cannot work (no client ID, scopes
	// without openid, a bad URL or port).
	ErrInvalidConfig = errors.New("signin: invalid Config")
	// ErrListen: the loopback listener for the redirect could not be
	// opened (port taken, no loopback interface).
	ErrListen = errors.New("signin: cannot listen for the sign-in redirect")
	// ErrStateMismatch: the redirect's state is not the one sent: a
	// forged or stale redirect. The sign-in is abandoned.
	ErrStateMismatch = errors.New("signin: the redirect's state does not match (forged or stale redirect)")
	// ErrAccessDenied: the person declined to grant access.
	ErrAccessDenied = errors.New("signin: access denied by the user")
	// ErrAuthorization: the authorization server redirected with another
	// error (the text carries its error code and description).
	ErrAuthorization = errors.New("signin: authorization failed")
	// ErrNoCode: the redirect carried neither a code nor an error.
	ErrNoCode = errors.New("signin: the redirect carries no authorization code")
	// ErrNotSignedIn: no refresh token is stored and Config.NonInteractive
	// forbids starting a browser sign-in.
	ErrNotSignedIn = errors.New("signin: not signed in")
	// ErrReauthRequired: the refresh token was revoked or has expired
	// (the token endpoint said invalid_grant), or none was issued. The
	// stored token is left as it is; sign in again with
	// Config.ForceSignIn, which replaces it.
	ErrReauthRequired = errors.New("signin: sign in again: the refresh token is revoked, expired or missing")
	// ErrNoIDToken: the token endpoint's reply has no id_token (was the
	// openid scope granted?).
	ErrNoIDToken = errors.New("signin: token endpoint reply has no id_token")
	// ErrBadReply: the token endpoint's reply is not what OAuth 2.0
	// specifies.
	ErrBadReply = errors.New("signin: token endpoint reply is not valid")
	// ErrInvalidToken: the ID token is unusable (no exp, or an audience
	// other than the OAuth client).
	ErrInvalidToken = errors.New("signin: token endpoint returned an unusable ID token")
	// ErrStore: the refresh token store failed to load or save.
	ErrStore = errors.New("signin: refresh token store")
	// ErrInvalidCredentials: an authorized_user JSON is malformed.
	ErrInvalidCredentials = errors.New("signin: invalid authorized_user credentials")
)
