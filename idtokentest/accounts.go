package idtokentest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// ServiceAccount is an emulated service account. Its key file (KeyJSON)
// holds a user-managed key; IAM signJwt signs with a separate
// system-managed key that never leaves the emulator, as on Google.
type ServiceAccount struct {
	Email     string
	ProjectID string
	// UniqueID is the numeric ID Google puts in `sub` and `azp`.
	UniqueID string
	// KeyID is the private_key_id of the user-managed key.
	KeyID string
	// Key is the user-managed private key (the one in KeyJSON).
	Key *rsa.PrivateKey

	tokenURI  string
	systemKey atomic.Pointer[signingKey]
}

// NewServiceAccount registers a service account named name (the part
// before @) in the emulated project and returns it. Registering the same
// name twice returns the existing account.
func (e *Emulator) NewServiceAccount(name string) *ServiceAccount {
	email := name
	if !strings.Contains(name, "@") {
		email = fmt.Sprintf("%s@%s.iam.gserviceaccount.com", name, e.opts.ProjectID)
	}
	e.mu.Lock()
	if sa, ok := e.accounts[email]; ok {
		e.mu.Unlock()
		return sa
	}
	e.mu.Unlock()
	k := newSigningKey() // slow: outside the lock
	sa := &ServiceAccount{
		Email:     email,
		ProjectID: e.opts.ProjectID,
		UniqueID:  randomDigits(21),
		KeyID:     k.kid,
		Key:       k.key,
		tokenURI:  e.TokenURL(),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.accounts[email]; ok {
		return prev
	}
	e.accounts[email] = sa
	return sa
}

// ServiceAccount returns the registered account with that email, or nil.
func (e *Emulator) ServiceAccount(email string) *ServiceAccount {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accounts[email]
}

// KeyJSON is the service-account key file, as the Cloud console or
// `gcloud iam service-accounts keys create` writes it, with token_uri
// pointing at the emulator.
func (sa *ServiceAccount) KeyJSON() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
	if err != nil {
		panic(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  sa.ProjectID,
		"private_key_id":              sa.KeyID,
		"private_key":                 string(keyPEM),
		"client_email":                sa.Email,
		"client_id":                   sa.UniqueID,
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   sa.tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + sa.Email,
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// sysKey returns the system-managed key, creating it on first use.
func (sa *ServiceAccount) sysKey() *signingKey {
	if k := sa.systemKey.Load(); k != nil {
		return k
	}
	sa.systemKey.CompareAndSwap(nil, newSigningKey())
	return sa.systemKey.Load()
}

// publicKeys returns the account's public keys by kid: the user-managed
// one and, once created, the system-managed one.
func (sa *ServiceAccount) publicKeys() map[string]*rsa.PublicKey {
	m := map[string]*rsa.PublicKey{sa.KeyID: &sa.Key.PublicKey}
	if k := sa.systemKey.Load(); k != nil {
		m[k.kid] = &k.key.PublicKey
	}
	return m
}

// accessToken is an OAuth2 access token the emulator issued.
type accessToken struct {
	principal string
	expiry    time.Time
	scopes    []string
}

// IssueAccessToken mints an access token for principal (a service account
// email, a user email, or a federated principal://… string) valid for
// lifetime (0: the emulator's token lifetime). IAM endpoints accept it as
// that principal.
func (e *Emulator) IssueAccessToken(principal string, lifetime time.Duration, scopes ...string) (token string, expiry time.Time) {
	if lifetime <= 0 {
		lifetime = e.opts.TokenLifetime
	}
	token = "ya29.emu-" + randomID(24)
	expiry = e.now().Add(lifetime)
	e.mu.Lock()
	e.accessTokens[token] = accessToken{principal: principal, expiry: expiry, scopes: scopes}
	e.mu.Unlock()
	return token, expiry
}

// RevokeAccessToken makes a token the emulator issued invalid.
func (e *Emulator) RevokeAccessToken(token string) {
	e.mu.Lock()
	delete(e.accessTokens, token)
	e.mu.Unlock()
}

// principalOf returns the principal of a valid (known, unexpired) access
// token.
func (e *Emulator) principalOf(token string) (string, bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.accessTokens[token]
	if !ok || !now.Before(at.expiry) {
		return "", false
	}
	return at.principal, true
}

// AllowImpersonation grants caller (any principal) the Service Account
// Token Creator role on the service account target: it may then call
// generateIdToken, generateAccessToken and signJwt for it, or use it as a
// delegate. Nothing is granted by default, not even on itself.
func (e *Emulator) AllowImpersonation(caller, target string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.grants[caller] == nil {
		e.grants[caller] = map[string]bool{}
	}
	e.grants[caller][target] = true
}

// mayImpersonate reports whether caller may act as target through the
// chain of delegates (each must be able to impersonate the next).
func (e *Emulator) mayImpersonate(caller, target string, delegates []string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	from := caller
	for _, d := range append(delegates, target) {
		if !e.grants[from][d] {
			return false
		}
		from = d
	}
	return true
}

// IDTokenClaims describes an ID token for MintIDToken. Zero fields get
// Google's defaults.
type IDTokenClaims struct {
	Audience string
	// Subject defaults to the Email's account unique ID when it is a
	// registered service account.
	Subject string
	Email   string
	// AuthorizedParty (azp) defaults to Subject.
	AuthorizedParty string
	// Issuer defaults to "https://accounts.google.com".
	Issuer   string
	IssuedAt time.Time
	Expiry   time.Time
	// Extra claims are merged in last and win over the fields above.
	Extra map[string]any
}

// MintIDToken signs an ID token with the emulator's current Google key,
// exactly as Google's endpoints would issue it.
func (e *Emulator) MintIDToken(c IDTokenClaims) string {
	claims := e.idTokenClaims(c)
	k := e.currentGoogleKey()
	tok, err := signRS256(k.key, map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"}, claims)
	if err != nil {
		panic(err)
	}
	return tok
}

func (e *Emulator) idTokenClaims(c IDTokenClaims) map[string]any {
	now := e.now()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.Expiry.IsZero() {
		c.Expiry = c.IssuedAt.Add(e.opts.TokenLifetime)
	}
	if c.Issuer == "" {
		c.Issuer = "https://accounts.google.com"
	}
	if c.Subject == "" && c.Email != "" {
		if sa := e.ServiceAccount(c.Email); sa != nil {
			c.Subject = sa.UniqueID
		}
	}
	if c.AuthorizedParty == "" {
		c.AuthorizedParty = c.Subject
	}
	m := map[string]any{
		"iss": c.Issuer,
		"aud": c.Audience,
		"iat": c.IssuedAt.Unix(),
		"exp": c.Expiry.Unix(),
	}
	if c.Subject != "" {
		m["sub"] = c.Subject
	}
	if c.AuthorizedParty != "" {
		m["azp"] = c.AuthorizedParty
	}
	if c.Email != "" {
		m["email"] = c.Email
		m["email_verified"] = true
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return m
}

// SignRS256 signs arbitrary claims with the current Google key (header
// alg RS256 and kid filled in unless header sets them). Use it for tokens
// that Google would never issue: wrong issuer, missing exp, odd claims.
func (e *Emulator) SignRS256(header, claims map[string]any) string {
	k := e.currentGoogleKey()
	h := map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"}
	for key, v := range header {
		h[key] = v
	}
	tok, err := signRS256(k.key, h, claims)
	if err != nil {
		panic(err)
	}
	return tok
}
