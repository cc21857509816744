package idtokentest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// OAuthClient is an emulated OAuth 2.0 client (the "installed app" or
// "desktop" client of gcloud, or one a developer creates).
type OAuthClient struct {
	ID     string
	Secret string
}

// User is a Google account known to the emulator.
type User struct {
	Email string
	// Subject is the numeric account ID put in `sub`.
	Subject string
}

type refreshGrant struct {
	client OAuthClient
	user   User
	scopes []string
}

// NewOAuthClient registers a new OAuth client.
func (e *Emulator) NewOAuthClient() OAuthClient {
	c := OAuthClient{
		ID:     randomDigits(12) + "-" + randomID(16) + ".apps.googleusercontent.com",
		Secret: "GOCSPX-" + randomID(14),
	}
	e.mu.Lock()
	e.clients[c.ID] = c
	e.mu.Unlock()
	return c
}

// NewUser returns a User with that email and a fresh numeric subject.
func (e *Emulator) NewUser(email string) User {
	return User{Email: email, Subject: randomDigits(21)}
}

// IssueRefreshToken records that user granted client the scopes (default
// "openid email https://www.googleapis.com/auth/cloud-platform") and
// returns the refresh token. The refresh_token grant then returns access
// tokens for the user (accepted by the IAM endpoints as principal
// user.Email) and, with "openid" in scope, an ID token whose audience is
// the client ID.
func (e *Emulator) IssueRefreshToken(client OAuthClient, user User, scopes ...string) string {
	if len(scopes) == 0 {
		scopes = []string{"openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/cloud-platform"}
	}
	tok := "1//emu-" + randomID(24)
	e.mu.Lock()
	e.clients[client.ID] = client
	e.refresh[tok] = refreshGrant{client: client, user: user, scopes: scopes}
	e.mu.Unlock()
	return tok
}

// RevokeRefreshToken makes a refresh token invalid, as when a user
// removes the app's access or an admin ends the session.
func (e *Emulator) RevokeRefreshToken(token string) {
	e.mu.Lock()
	delete(e.refresh, token)
	e.mu.Unlock()
}

// AuthorizedUserJSON is the file `gcloud auth application-default login`
// writes, for client and refreshToken, with token_uri set to the emulator.
// golang.org/x/oauth2/google honours token_uri; Python google-auth
// (2.39, from_authorized_user_info) ignores it and always refreshes at
// https://oauth2.googleapis.com/token, so route that host here
// (Server.Transport) or call with_token_uri.
func (e *Emulator) AuthorizedUserJSON(client OAuthClient, refreshToken string) []byte {
	b, err := json.MarshalIndent(map[string]string{
		"type":            "authorized_user",
		"client_id":       client.ID,
		"client_secret":   client.Secret,
		"refresh_token":   refreshToken,
		"token_uri":       e.TokenURL(),
		"universe_domain": "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// clientFromRequest authenticates the OAuth client by form fields or
// HTTP Basic auth, as Google accepts both.
func (e *Emulator) clientFromRequest(r *http.Request) (OAuthClient, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	e.mu.Lock()
	c, known := e.clients[id]
	e.mu.Unlock()
	return c, known && c.Secret == secret
}

// serveRefreshToken implements grant_type=refresh_token.
func (e *Emulator) serveRefreshToken(w http.ResponseWriter, r *http.Request) {
	client, ok := e.clientFromRequest(r)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	rt := r.PostForm.Get("refresh_token")
	e.mu.Lock()
	g, known := e.refresh[rt]
	e.mu.Unlock()
	if rt == "" || !known || g.client.ID != client.ID {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	e.writeUserTokens(w, g)
}

// writeUserTokens answers a user grant (refresh or authorization code)
// with an access token and, when "openid" was granted, an ID token whose
// audience is the OAuth client.
func (e *Emulator) writeUserTokens(w http.ResponseWriter, g refreshGrant) {
	writeJSON(w, http.StatusOK, e.userTokenReply(g))
}

// userTokenReply is the token endpoint's reply to a user grant.
func (e *Emulator) userTokenReply(g refreshGrant) map[string]any {
	tok, expiry := e.IssueAccessToken(g.user.Email, 0, g.scopes...)
	reply := map[string]any{
		"access_token": tok,
		"expires_in":   int(expiry.Sub(e.now()).Round(time.Second) / time.Second),
		"scope":        strings.Join(g.scopes, " "),
		"token_type":   "Bearer",
	}
	if hasScope(g.scopes, "openid") {
		reply["id_token"] = e.MintIDToken(IDTokenClaims{
			Audience:        g.client.ID,
			AuthorizedParty: g.client.ID,
			Subject:         g.user.Subject,
			Email:           g.user.Email,
			Extra:           map[string]any{"at_hash": randomID(11)},
		})
	}
	return reply
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}
