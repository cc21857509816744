package verify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Header names IAP sets on the requests it forwards.
const (
	IAPAssertionHeader = "X-Goog-Iap-Jwt-Assertion"
	IAPUserEmailHeader = "X-Goog-Authenticated-User-Email"
	IAPUserIDHeader    = "X-Goog-Authenticated-User-Id"
)

// MiddlewareOptions configures IAPMiddleware and BearerMiddleware.
type MiddlewareOptions struct {
	// OnError, when set, is called with every rejected request and the
	// reason (for logging or metrics). The client only ever sees a 401
	// with a short fixed body.
	OnError func(r *http.Request, err error)
}

type claimsKey struct{}

// ContextWithClaims returns a copy of ctx carrying c; the middlewares use
// it, and handler tests may too.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims the middleware verified for this
// request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// IAPMiddleware verifies the x-goog-iap-jwt-assertion header of every
// request with v (an IAP Verifier). When IAP's plain identity headers
// X-Goog-Authenticated-User-Email / -Id are present, they must name the
// same user as the verified assertion, or the request is rejected: the
// plain headers are forgeable when IAP is bypassed, only the assertion is
// trusted, and a handler that reads the headers must not be fooled.
// The verified claims are in the request context (ClaimsFromContext).
func IAPMiddleware(v *Verifier, opts MiddlewareOptions) func(http.Handler) http.Handler {
	if v == nil || v.cfg.Preset != IAP {
		panic("verify: IAPMiddleware needs a Verifier with Preset IAP")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := verifyIAPRequest(r, v)
			if err != nil {
				reject(w, r, opts, err, "")
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
		})
	}
}

func verifyIAPRequest(r *http.Request, v *Verifier) (*Claims, error) {
	vals := r.Header.Values(IAPAssertionHeader)
	if len(vals) != 1 || vals[0] == "" {
		if len(vals) > 1 {
			return nil, fmt.Errorf("%w: more than one %s header", ErrMalformed, IAPAssertionHeader)
		}
		return nil, ErrNoToken
	}
	c, err := v.Verify(r.Context(), vals[0])
	if err != nil {
		return nil, err
	}
	if err := checkIdentityHeader(r.Header, IAPUserEmailHeader, c.Email, true); err != nil {
		return nil, err
	}
	if err := checkIdentityHeader(r.Header, IAPUserIDHeader, c.Subject, false); err != nil {
		return nil, err
	}
	return c, nil
}

// checkIdentityHeader compares an IAP identity header, when present, with
// the verified claim. Both may carry one leading namespace
// (accounts.google.com: or securetoken.google.com/PROJECT[/TENANT]:);
// the header must carry one, as IAP always sends it.
func checkIdentityHeader(h http.Header, name, claim string, fold bool) error {
	vals := h.Values(name)
	if len(vals) == 0 {
		return nil
	}
	if len(vals) > 1 {
		return fmt.Errorf("%w: more than one %s header", ErrHeaderMismatch, name)
	}
	hv, ok := stripNamespace(vals[0])
	if !ok {
		return fmt.Errorf("%w: %s has no known namespace", ErrHeaderMismatch, name)
	}
	cv, _ := stripNamespace(claim)
	if hv == "" || cv == "" {
		return fmt.Errorf("%w: %s", ErrHeaderMismatch, name)
	}
	if fold && strings.EqualFold(hv, cv) || hv == cv {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrHeaderMismatch, name)
}

// stripNamespace removes one leading IAP namespace and reports whether
// there was one.
func stripNamespace(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "accounts.google.com:"); ok {
		return rest, true
	}
	if rest, ok := strings.CutPrefix(s, "securetoken.google.com/"); ok {
		// PROJECT[/TENANT]:value
		ns, val, found := strings.Cut(rest, ":")
		if found && ns != "" && !strings.HasPrefix(ns, "/") && !strings.HasSuffix(ns, "/") && strings.Count(ns, "/") <= 1 {
			return val, true
		}
	}
	return s, false
}

// BearerMiddleware verifies an "Authorization: Bearer <ID token>" header
// with v (typically a GoogleIDToken Verifier whose audience is this
// service's URL): service-to-service calls to Cloud Run or Cloud
// Functions when the service checks callers itself. The verified claims
// are in the request context (ClaimsFromContext).
func BearerMiddleware(v *Verifier, opts MiddlewareOptions) func(http.Handler) http.Handler {
	if v == nil {
		panic("verify: BearerMiddleware needs a Verifier")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := verifyBearer(r, v)
			if err != nil {
				reject(w, r, opts, err, `Bearer error="invalid_token"`)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
		})
	}
}

func verifyBearer(r *http.Request, v *Verifier) (*Claims, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return nil, ErrNoToken
	}
	if len(vals) > 1 {
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrMalformed)
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, ErrNoToken
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" {
		return nil, ErrNoToken
	}
	return v.Verify(r.Context(), tok)
}

// reject answers 401 with a fixed body: never the reason, which stays
// server-side (OnError).
func reject(w http.ResponseWriter, r *http.Request, opts MiddlewareOptions, err error, challenge string) {
	if opts.OnError != nil {
		opts.OnError(r, err)
	}
	if challenge == "" {
		challenge = "Bearer"
	}
	if err == ErrNoToken {
		challenge = "Bearer"
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("unauthorized\n"))
}
