package idtokentest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SetMetadataServiceAccount makes sa the default service account of the
// emulated VM / Cloud Run instance behind the metadata endpoints.
func (e *Emulator) SetMetadataServiceAccount(sa *ServiceAccount) {
	e.mu.Lock()
	e.metadataSA = sa.Email
	e.mu.Unlock()
}

// metadataAccount resolves the {acct} path segment ("default" or an
// email) to the instance's service account.
func (e *Emulator) metadataAccount(acct string) *ServiceAccount {
	e.mu.Lock()
	email := e.metadataSA
	e.mu.Unlock()
	if email == "" || (acct != "default" && acct != email) {
		return nil
	}
	return e.ServiceAccount(email)
}

// metadataCheck enforces the metadata server's request rules and sets
// its reply header. It reports whether the request may proceed.
func metadataCheck(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Metadata-Flavor", "Google")
	w.Header().Set("Server", "Metadata Server for VM")
	if r.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "Request denied: X-Forwarded-For header present.", http.StatusForbidden)
		return false
	}
	if r.Header.Get("Metadata-Flavor") != "Google" {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Missing required header \"Metadata-Flavor\": \"Google\"\n")
		return false
	}
	return true
}

func (e *Emulator) serveMetadataRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	fmt.Fprint(w, "computeMetadata/\n")
}

// serveMetadataIdentity is …/service-accounts/{acct}/identity.
func (e *Emulator) serveMetadataIdentity(w http.ResponseWriter, r *http.Request) {
	if !metadataCheck(w, r) {
		return
	}
	sa := e.metadataAccount(r.PathValue("acct"))
	if sa == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	aud := q.Get("audience")
	if aud == "" {
		http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "standard"
	}
	if format != "standard" && format != "full" {
		http.Error(w, "format must be standard or full", http.StatusBadRequest)
		return
	}
	c := IDTokenClaims{Audience: aud, Subject: sa.UniqueID}
	if format == "full" {
		c.Email = sa.Email
		ce := map[string]any{
			"instance_creation_timestamp": e.now().Add(-24 * time.Hour).Unix(),
			"instance_id":                 "4242424242424242424",
			"instance_name":               "emulated-instance",
			"project_id":                  e.opts.ProjectID,
			"project_number":              jsonNumberOrString(e.opts.ProjectNumber),
			"zone":                        "us-central1-a",
		}
		if strings.EqualFold(q.Get("licenses"), "TRUE") {
			ce["license_id"] = []string{}
		}
		c.Extra = map[string]any{"google": map[string]any{"compute_engine": ce}}
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	fmt.Fprint(w, e.MintIDToken(c))
}

// serveMetadataToken is …/service-accounts/{acct}/token.
func (e *Emulator) serveMetadataToken(w http.ResponseWriter, r *http.Request) {
	if !metadataCheck(w, r) {
		return
	}
	sa := e.metadataAccount(r.PathValue("acct"))
	if sa == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	scopes := []string{"https://www.googleapis.com/auth/cloud-platform"}
	if s := r.URL.Query().Get("scopes"); s != "" {
		scopes = strings.Split(s, ",")
	}
	tok, expiry := e.IssueAccessToken(sa.Email, 0, scopes...)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(expiry.Sub(e.now()) / time.Second),
		"token_type":   "Bearer",
	})
}

// serveMetadataOther answers the rest of the metadata paths clients read:
// the account's email, its directory (recursive JSON), and project data.
func (e *Emulator) serveMetadataOther(w http.ResponseWriter, r *http.Request) {
	if !metadataCheck(w, r) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/")
	switch path {
	case "project/project-id":
		fmt.Fprint(w, e.opts.ProjectID)
		return
	case "project/numeric-project-id":
		fmt.Fprint(w, e.opts.ProjectNumber)
		return
	case "instance/zone":
		fmt.Fprintf(w, "projects/%s/zones/us-central1-a", e.opts.ProjectNumber)
		return
	case "universe/universe-domain", "universe/universe_domain":
		fmt.Fprint(w, "googleapis.com")
		return
	case "instance/service-accounts/", "instance/service-accounts":
		e.mu.Lock()
		email := e.metadataSA
		e.mu.Unlock()
		if email == "" {
			fmt.Fprint(w, "")
			return
		}
		if r.URL.Query().Get("recursive") == "true" {
			// The directory as JSON, keyed by alias and by email.
			info := map[string]any{"aliases": []string{"default"}, "email": email, "scopes": []string{"https://www.googleapis.com/auth/cloud-platform"}}
			writeJSON(w, http.StatusOK, map[string]any{"default": info, email: info})
			return
		}
		fmt.Fprintf(w, "default/\n%s/\n", email)
		return
	}
	rest, ok := strings.CutPrefix(path, "instance/service-accounts/")
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	acct, field, _ := strings.Cut(rest, "/")
	sa := e.metadataAccount(acct)
	if sa == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	scopes := []string{"https://www.googleapis.com/auth/cloud-platform"}
	switch field {
	case "email":
		fmt.Fprint(w, sa.Email)
	case "scopes":
		fmt.Fprint(w, strings.Join(scopes, "\n")+"\n")
	case "aliases":
		fmt.Fprint(w, "default\n")
	case "":
		if r.URL.Query().Get("recursive") == "true" {
			writeJSON(w, http.StatusOK, map[string]any{
				"aliases": []string{"default"}, "email": sa.Email, "scopes": scopes,
			})
			return
		}
		fmt.Fprint(w, "aliases\nemail\nidentity\nscopes\ntoken\n")
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// jsonNumberOrString renders a numeric string as a JSON number (Google
// sends project_number as a number), anything else as a string.
func jsonNumberOrString(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}
