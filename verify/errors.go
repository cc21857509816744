package verify

import (
	"errors"

	"github.com/idtokens/idtokens/internal/httpx"
)

// HTTPError is the error for a non-2xx reply from a keys endpoint. It is
// the same type in every package of this module, so one errors.As catches
// them all.
type HTTPError = httpx.Error

// Retry bounds the retries of a key fetch (Config.Retry). The zero value
// means 4 attempts with jittered backoff; MaxAttempts 1 disables retries.
type Retry = httpx.Retry

// Sentinel errors; test with errors.Is. Every error Verify returns wraps
// exactly one of the token sentinels (ErrMalformed … ErrHeaderMismatch) or
// ErrKeysUnavailable, or a context error. Error texts never contain the
// token or any claim value taken from it.
var (
	// Token shape.
	ErrTooLarge  = errors.New("verify: token exceeds size limit")
	ErrMalformed = errors.New("verify: malformed token")
	ErrHeader    = errors.New("verify: token header not accepted")

	// Signature and keys.
	ErrAlgorithm       = errors.New("verify: token algorithm not accepted")
	ErrUnknownKey      = errors.New("verify: token signed by an unknown key")
	ErrSignature       = errors.New("verify: token signature is invalid")
	ErrKeysUnavailable = errors.New("verify: signing keys unavailable")

	// Claims.
	ErrMissingClaim    = errors.New("verify: required claim missing")
	ErrIssuer          = errors.New("verify: token issuer not accepted")
	ErrAudience        = errors.New("verify: token audience not accepted")
	ErrExpired         = errors.New("verify: token expired")
	ErrNotYetValid     = errors.New("verify: token not valid yet")
	ErrAuthorizedParty = errors.New("verify: token authorized party (azp) not accepted")
	ErrEmail           = errors.New("verify: token email not accepted")
	ErrHostedDomain    = errors.New("verify: token hosted domain (hd) not accepted")

	// Middleware.
	ErrNoToken        = errors.New("verify: request carries no token")
	ErrHeaderMismatch = errors.New("verify: identity headers do not match the verified token")

	// Construction.
	ErrConfig = errors.New("verify: invalid Config")
)
