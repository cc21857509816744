package idtokentest

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

const (
	grantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken = "refresh_token"
)

// serveToken is the OAuth2 token endpoint: it dispatches on grant_type.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "Request body too large.")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", "Could not parse the request body.")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case grantJWTBearer:
		e.serveJWTBearer(w, r)
	case grantRefreshToken:
		e.serveRefreshToken(w, r)
	case "authorization_code":
		e.serveAuthorizationCode(w, r)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
}

// serveJWTBearer checks a service account's signed assertion and returns
// an ID token (target_audience set) or an access token (scope set).
// The checks and messages follow Google's token endpoint.
func (e *Emulator) serveJWTBearer(w http.ResponseWriter, r *http.Request) {
	assertion := r.PostForm.Get("assertion")
	if assertion == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: assertion")
		return
	}
	jws, err := parseJWS(assertion)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	iss := jws.str("iss")
	sa := e.ServiceAccount(iss)
	if sa == nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found")
		return
	}
	if !e.verifyAccountSignature(sa, jws) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if aud := jws.str("aud"); aud != GoogleTokenURL && aud != e.TokenURL() {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is "+GoogleTokenURL)
		return
	}
	iat, okI := jws.num("iat")
	exp, okE := jws.num("exp")
	now := e.now()
	skew := int64(e.opts.MaxClockSkew / time.Second)
	if !okI || !okE || exp <= iat || exp-iat > 3600 || iat > now.Unix()+skew || exp < now.Unix()-skew {
		oauthError(w, http.StatusBadRequest, "invalid_grant",
			"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	if aud := jws.str("target_audience"); aud != "" {
		writeJSON(w, http.StatusOK, map[string]string{
			"id_token": e.MintIDToken(IDTokenClaims{Audience: aud, Email: sa.Email}),
		})
		return
	}
	if _, has := jws.claims["target_audience"]; has {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid target_audience: must be a non-empty string.")
		return
	}
	scope := jws.str("scope")
	if scope == "" {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	tok, expiry := e.IssueAccessToken(sa.Email, 0, strings.Fields(scope)...)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(expiry.Sub(now) / time.Second),
		"token_type":   "Bearer",
	})
}

// verifyAccountSignature checks the assertion against the account's keys:
// the one named by kid, or every key when kid is absent (assertions signed
// through IAM signBlob carry none).
func (e *Emulator) verifyAccountSignature(sa *ServiceAccount, jws *parsedJWS) bool {
	keys := sa.publicKeys()
	if kid, ok := jws.header["kid"].(string); ok && kid != "" {
		pub := keys[kid]
		return pub != nil && jws.verifyRS256(pub)
	}
	for _, pub := range keys {
		if jws.verifyRS256(pub) {
			return true
		}
	}
	return false
}
