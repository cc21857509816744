package idtokentest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// AuthCodeLifetime is how long an authorization code stays redeemable.
const AuthCodeLifetime = 10 * time.Minute

// DefaultSignInEmail is the account the authorization endpoint signs in
// when no SetSignInUser was called.
const DefaultSignInEmail = "developer@example.com"

// authzState is the authorization endpoint's state: who signs in, and the
// codes handed out and not yet redeemed.
type authzState struct {
	mu     sync.Mutex
	user   *User
	denied bool
	codes  map[string]authCode
}

type authCode struct {
	grant       refreshGrant
	redirectURI string
	challenge   string
	expiry      time.Time
}

// SetSignInUser makes the authorization endpoint sign in as u (it
// approves every request at once, as a user who clicks "Allow" would).
func (e *Emulator) SetSignInUser(u User) {
	e.authz.mu.Lock()
	e.authz.user = &u
	e.authz.mu.Unlock()
}

// SignInUser is the account the authorization endpoint signs in as.
func (e *Emulator) SignInUser() User {
	e.authz.mu.Lock()
	defer e.authz.mu.Unlock()
	if e.authz.user == nil {
		u := e.NewUser(DefaultSignInEmail)
		e.authz.user = &u
	}
	return *e.authz.user
}

// SetSignInDenied makes the authorization endpoint answer as when the
// user clicks "Cancel" (redirect with error=access_denied) while denied is
// true.
func (e *Emulator) SetSignInDenied(denied bool) {
	e.authz.mu.Lock()
	e.authz.denied = denied
	e.authz.mu.Unlock()
}

// serveAuthorize is GET /o/oauth2/v2/auth (accounts.google.com) for
// installed-app clients: it validates the request like Google, then
// approves it at once by redirecting (302) to the loopback redirect_uri
// with code and state. Errors about the client or the redirect_uri are an
// error page (Google never redirects to an unverified URI); the rest are
// redirects with error=….
func (e *Emulator) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e.mu.Lock()
	client, known := e.clients[q.Get("client_id")]
	e.mu.Unlock()
	if q.Get("client_id") == "" || !known {
		http.Error(w, "Error 401: invalid_client\nThe OAuth client was not found.", http.StatusUnauthorized)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if msg := checkLoopbackRedirect(redirectURI); msg != "" {
		http.Error(w, "Error 400: invalid_request\n"+msg, http.StatusBadRequest)
		return
	}
	fail := func(code, description string) {
		v := url.Values{"error": {code}}
		if description != "" {
			v.Set("error_description", description)
		}
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		http.Redirect(w, r, withQuery(redirectURI, v), http.StatusFound)
	}
	if rt := q.Get("response_type"); rt != "code" {
		fail("unsupported_response_type", "Invalid response_type: "+rt)
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		fail("invalid_request", "Missing required parameter: scope")
		return
	}
	challenge := q.Get("code_challenge")
	if m := q.Get("code_challenge_method"); challenge == "" || m != "S256" {
		fail("invalid_request", "code_challenge with code_challenge_method=S256 is required")
		return
	}
	if len(challenge) < 43 || len(challenge) > 128 {
		fail("invalid_request", "Invalid code_challenge length")
		return
	}
	user := e.SignInUser()
	e.authz.mu.Lock()
	denied := e.authz.denied
	e.authz.mu.Unlock()
	if denied {
		fail("access_denied", "")
		return
	}
	for i, s := range scopes {
		switch s { // Google's long forms
		case "email":
			scopes[i] = "https://www.googleapis.com/auth/userinfo.email"
		case "profile":
			scopes[i] = "https://www.googleapis.com/auth/userinfo.profile"
		}
	}
	code := "4/0emu-" + randomID(32)
	e.authz.mu.Lock()
	if e.authz.codes == nil {
		e.authz.codes = map[string]authCode{}
	}
	e.authz.codes[code] = authCode{
		grant:       refreshGrant{client: client, user: user, scopes: scopes},
		redirectURI: redirectURI,
		challenge:   challenge,
		expiry:      e.now().Add(AuthCodeLifetime),
	}
	e.authz.mu.Unlock()
	v := url.Values{
		"code":     {code},
		"scope":    {strings.Join(scopes, " ")},
		"authuser": {"0"},
		"prompt":   {"consent"},
	}
	if s := q.Get("state"); s != "" {
		v.Set("state", s)
	}
	http.Redirect(w, r, withQuery(redirectURI, v), http.StatusFound)
}

// checkLoopbackRedirect accepts what Google accepts from desktop clients:
// http://127.0.0.1, http://[::1] or http://localhost, any port and path.
// It returns Google's complaint, or "" when the URI is fine.
func checkLoopbackRedirect(raw string) string {
	if raw == "" {
		return "Missing required parameter: redirect_uri"
	}
	const mismatch = "redirect_uri_mismatch: the redirect_uri must be a loopback http URL"
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Fragment != "" || u.User != nil {
		return mismatch
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return mismatch
	}
	return ""
}

func withQuery(base string, v url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + v.Encode()
}

// serveAuthorizationCode implements grant_type=authorization_code: the
// code must be unused, unexpired, issued to this client for this
// redirect_uri, and code_verifier must hash to its code_challenge. A code
// is spent by the first attempt to redeem it, successful or not.
func (e *Emulator) serveAuthorizationCode(w http.ResponseWriter, r *http.Request) {
	client, ok := e.clientFromRequest(r)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
		return
	}
	e.authz.mu.Lock()
	ac, known := e.authz.codes[code]
	delete(e.authz.codes, code)
	e.authz.mu.Unlock()
	switch {
	case !known:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
	case !e.now().Before(ac.expiry):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
	case ac.grant.client.ID != client.ID:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Unauthorized")
	case r.PostForm.Get("redirect_uri") != ac.redirectURI:
		oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
	case r.PostForm.Get("code_verifier") == "":
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Missing code verifier.")
	case !s256Matches(r.PostForm.Get("code_verifier"), ac.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
	default:
		g := ac.grant
		reply := e.userTokenReply(g)
		reply["refresh_token"] = e.IssueRefreshToken(g.client, g.user, g.scopes...)
		writeJSON(w, http.StatusOK, reply)
	}
}

// s256Matches checks a PKCE verifier against an S256 challenge.
func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
