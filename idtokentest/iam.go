package idtokentest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// serveIAM is POST /v1/projects/{project}/serviceAccounts/{email}:{action}
// on IAM Credentials: generateIdToken, generateAccessToken, signJwt.
func (e *Emulator) serveIAM(w http.ResponseWriter, r *http.Request) {
	nameAction := r.PathValue("nameAction")
	i := strings.LastIndexByte(nameAction, ':')
	if i < 0 {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	name, action := nameAction[:i], nameAction[i+1:]
	var ep Endpoint
	var serve func(http.ResponseWriter, string, *ServiceAccount, json.RawMessage)
	switch action {
	case "generateIdToken":
		ep, serve = EndpointGenerateIDToken, e.generateIDToken
	case "generateAccessToken":
		ep, serve = EndpointGenerateAccessToken, e.generateAccessToken
	case "signJwt":
		ep, serve = EndpointSignJWT, e.signJWT
	default:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	if e.intercept(ep, w, r) {
		return
	}
	if p := r.PathValue("project"); p != "-" && p != e.opts.ProjectID {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The project in the resource name must be '-' or the account's project.")
		return
	}
	caller, ok := e.bearerPrincipal(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	var body struct {
		Delegates []string `json:"delegates"` // may be null
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	delegates := make([]string, 0, len(body.Delegates))
	for _, d := range body.Delegates {
		email, ok := strings.CutPrefix(d, "projects/-/serviceAccounts/")
		if !ok && strings.Contains(d, "@") && !strings.Contains(d, "/") {
			email, ok = d, true // gcloud (google-auth) sends bare emails
		}
		if !ok || email == "" {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("Invalid delegate %q: want projects/-/serviceAccounts/EMAIL.", d))
			return
		}
		delegates = append(delegates, email)
	}
	sa := e.ServiceAccount(name)
	if sa == nil {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+name)
		return
	}
	for _, d := range delegates {
		if e.ServiceAccount(d) == nil {
			apiError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+d)
			return
		}
	}
	if !e.mayImpersonate(caller, sa.Email, delegates) {
		perm := map[Endpoint]string{
			EndpointGenerateIDToken:     "iam.serviceAccounts.getOpenIdToken",
			EndpointGenerateAccessToken: "iam.serviceAccounts.getAccessToken",
			EndpointSignJWT:             "iam.serviceAccounts.signJwt",
		}[ep]
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("Permission '%s' denied on resource (or it may not exist).", perm))
		return
	}
	serve(w, caller, sa, raw)
}

// bearerPrincipal returns the principal of the request's Bearer token.
func (e *Emulator) bearerPrincipal(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return "", false
	}
	return e.principalOf(strings.TrimSpace(tok))
}

func (e *Emulator) generateIDToken(w http.ResponseWriter, _ string, sa *ServiceAccount, raw json.RawMessage) {
	var req struct {
		Audience     string `json:"audience"`
		IncludeEmail bool   `json:"includeEmail"`
	}
	if json.Unmarshal(raw, &req) != nil || req.Audience == "" {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Audience must be non-empty.")
		return
	}
	c := IDTokenClaims{Audience: req.Audience, Subject: sa.UniqueID}
	if req.IncludeEmail {
		c.Email = sa.Email
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": e.MintIDToken(c)})
}

func (e *Emulator) generateAccessToken(w http.ResponseWriter, _ string, sa *ServiceAccount, raw json.RawMessage) {
	var req struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if json.Unmarshal(raw, &req) != nil || len(req.Scope) == 0 {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope must be non-empty.")
		return
	}
	lifetime := time.Hour
	if req.Lifetime != "" {
		d, err := time.ParseDuration(req.Lifetime)
		if err != nil || !strings.HasSuffix(req.Lifetime, "s") || d <= 0 || d > 12*time.Hour {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid lifetime: "+req.Lifetime)
			return
		}
		lifetime = d
	}
	tok, expiry := e.IssueAccessToken(sa.Email, lifetime, req.Scope...)
	writeJSON(w, http.StatusOK, map[string]string{
		"accessToken": tok,
		"expireTime":  expiry.UTC().Format(time.RFC3339),
	})
}

func (e *Emulator) signJWT(w http.ResponseWriter, _ string, sa *ServiceAccount, raw json.RawMessage) {
	var req struct {
		Payload string `json:"payload"`
	}
	var claims map[string]any
	if json.Unmarshal(raw, &req) != nil || json.Unmarshal([]byte(req.Payload), &claims) != nil || claims == nil {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Payload must be a JSON object.")
		return
	}
	// As documented for signJwt: an exp claim must be an integer
	// timestamp, not in the past, at most 12 hours ahead.
	if v, has := claims["exp"]; has {
		exp, ok := v.(float64)
		now := e.now()
		if !ok || exp != float64(int64(exp)) || int64(exp) < now.Unix() || int64(exp) > now.Add(12*time.Hour).Unix() {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The exp claim must be an integer timestamp, not in the past and at most 12 hours in the future.")
			return
		}
	}
	k := sa.sysKey()
	signed, err := signRS256(k.key, map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"}, claims)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "INTERNAL", "signing failed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"keyId": k.kid, "signedJwt": signed})
}
