package idtokentest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Endpoint names one emulated endpoint, for request counts and faults.
type Endpoint string

// The emulated endpoints.
const (
	EndpointToken               Endpoint = "oauth2.token"      // POST /token
	EndpointCerts               Endpoint = "oauth2.certs"      // GET /oauth2/v3/certs
	EndpointIAPKeys             Endpoint = "iap.keys"          // GET /iap/verify/public_key-jwk
	EndpointMetadataIdentity    Endpoint = "metadata.identity" // GET …/service-accounts/{acct}/identity
	EndpointMetadataToken       Endpoint = "metadata.token"    // GET …/service-accounts/{acct}/token
	EndpointMetadataOther       Endpoint = "metadata.other"    // every other metadata path
	EndpointGenerateIDToken     Endpoint = "iamcredentials.generateIdToken"
	EndpointGenerateAccessToken Endpoint = "iamcredentials.generateAccessToken"
	EndpointSignJWT             Endpoint = "iamcredentials.signJwt"
	EndpointSTS                 Endpoint = "sts.token"          // POST /v1/token
	EndpointAuthorize           Endpoint = "accounts.authorize" // GET /o/oauth2/v2/auth
)

// MaxRequestBody caps every request body the emulator reads (a
// jwt-bearer form is about 1 KiB; a signJwt payload a few KiB). Larger
// bodies get 413, so a runaway client cannot make a test allocate without
// bound.
const MaxRequestBody = 64 << 10

// GoogleTokenURL is the audience Google's clients put in every jwt-bearer
// assertion, whatever the key file's token_uri says. The emulator accepts
// it as well as its own token URL.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// Options configures an Emulator. The zero value is usable.
type Options struct {
	// ProjectID and ProjectNumber of the emulated project. Defaults
	// "idtokens-emulator" and "123456789012".
	ProjectID     string
	ProjectNumber string
	// Now is the emulator's clock; nil means time.Now.
	Now func() time.Time
	// TokenLifetime of ID and access tokens it issues; default 1 h.
	TokenLifetime time.Duration
	// CertsMaxAge is the Cache-Control max-age of the certs endpoints;
	// default 6 h (Google sends a few hours). Negative sends no
	// Cache-Control header at all.
	CertsMaxAge time.Duration
	// MaxClockSkew tolerated on incoming assertions; default 5 min.
	MaxClockSkew time.Duration
	// BaseURL is where the emulator is reachable. NewServer and Start set
	// it; set it yourself only when mounting the handler elsewhere.
	BaseURL string
}

// Emulator is an http.Handler that emulates Google's ID token endpoints.
// Create one with New, NewServer or Start. It is safe for concurrent use.
type Emulator struct {
	opts Options
	mux  *http.ServeMux

	authz authzState // authcode.go

	mu           sync.Mutex
	baseURL      string
	skew         time.Duration
	latency      time.Duration
	googleKeys   []*signingKey // [0] signs; the rest are still published
	accounts     map[string]*ServiceAccount
	accessTokens map[string]accessToken
	grants       map[string]map[string]bool // caller principal → targets
	clients      map[string]OAuthClient
	refresh      map[string]refreshGrant
	metadataSA   string
	counts       map[Endpoint]int
	faults       map[Endpoint][]*faultEntry

	stsOnce  sync.Once
	stsState *stsState       // STS providers (sts.go)
	iapKeys  []*ecSigningKey // IAP keys, same rotation rule as googleKeys (iap.go)
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// New returns an Emulator that is not yet listening anywhere: mount it or
// use NewServer / Start.
func New(opts Options) *Emulator {
	if opts.ProjectID == "" {
		opts.ProjectID = "idtokens-emulator"
	}
	if opts.ProjectNumber == "" {
		opts.ProjectNumber = "123456789012"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.CertsMaxAge == 0 {
		opts.CertsMaxAge = 6 * time.Hour
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = 5 * time.Minute
	}
	e := &Emulator{
		opts:         opts,
		mux:          http.NewServeMux(),
		baseURL:      strings.TrimSuffix(opts.BaseURL, "/"),
		accounts:     map[string]*ServiceAccount{},
		accessTokens: map[string]accessToken{},
		grants:       map[string]map[string]bool{},
		clients:      map[string]OAuthClient{},
		refresh:      map[string]refreshGrant{},
		counts:       map[Endpoint]int{},
		faults:       map[Endpoint][]*faultEntry{},
	}
	e.googleKeys = []*signingKey{newSigningKey()}
	e.iapKeys = []*ecSigningKey{newECSigningKey()}
	e.routes()
	return e
}

func newSigningKey() *signingKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("idtokentest: generating RSA key: %v", err))
	}
	return &signingKey{kid: randomID(20), key: k}
}

func (e *Emulator) routes() {
	e.handle("POST /token", EndpointToken, e.serveToken)
	e.handle("POST /oauth2/v4/token", EndpointToken, e.serveToken)
	e.handle("GET /oauth2/v3/certs", EndpointCerts, e.serveCerts)
	e.handle("GET /iap/verify/public_key-jwk", EndpointIAPKeys, e.serveIAPKeys)
	e.handle("GET /computeMetadata/v1/instance/service-accounts/{acct}/identity", EndpointMetadataIdentity, e.serveMetadataIdentity)
	e.handle("GET /computeMetadata/v1/instance/service-accounts/{acct}/token", EndpointMetadataToken, e.serveMetadataToken)
	e.handle("GET /computeMetadata/v1/", EndpointMetadataOther, e.serveMetadataOther)
	e.handle("GET /{$}", EndpointMetadataOther, e.serveMetadataRoot)
	e.handle("POST /v1/projects/{project}/serviceAccounts/{nameAction}", "", e.serveIAM)
	e.handle("GET /o/oauth2/v2/auth", EndpointAuthorize, e.serveAuthorize)
	e.handle("POST /v1/token", EndpointSTS, e.serveSTS)
}

// handle registers a handler that counts requests and applies faults. An
// empty ep means the handler counts for itself (one path, many endpoints).
func (e *Emulator) handle(pattern string, ep Endpoint, h func(http.ResponseWriter, *http.Request)) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		if ep != "" && e.intercept(ep, w, r) {
			return
		}
		h(w, r)
	})
}

// intercept counts the request for ep, applies latency and any queued
// fault, and reports whether the fault already answered.
func (e *Emulator) intercept(ep Endpoint, w http.ResponseWriter, r *http.Request) bool {
	e.mu.Lock()
	e.counts[ep]++
	latency := e.latency
	f := e.takeFault(ep)
	e.mu.Unlock()
	if latency > 0 || (f != nil && f.Delay > 0) {
		bufferBody(r)
	}
	if latency > 0 && !sleep(r, latency) {
		return true
	}
	if f == nil {
		return false
	}
	return f.apply(w, r)
}

// bufferBody reads the (size-capped) request body before a wait. Until a
// handler has read the body to EOF, net/http does not watch the connection,
// so a client that gives up (or a server that closes) would not cancel
// r.Context() and the wait would run to its end.
func bufferBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		r.Body = io.NopCloser(errReader{err})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// now is the emulator's clock plus any skew set with SetClockSkew.
func (e *Emulator) now() time.Time {
	e.mu.Lock()
	skew := e.skew
	e.mu.Unlock()
	if e.opts.Now != nil {
		return e.opts.Now().Add(skew)
	}
	return time.Now().Add(skew)
}

// Now reports the emulator's current time (its clock plus any skew).
func (e *Emulator) Now() time.Time { return e.now() }

// ProjectID and ProjectNumber of the emulated project.
func (e *Emulator) ProjectID() string     { return e.opts.ProjectID }
func (e *Emulator) ProjectNumber() string { return e.opts.ProjectNumber }

// SetBaseURL tells the emulator where it is reachable; NewServer and
// Start call it.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	e.baseURL = strings.TrimSuffix(u, "/")
	e.mu.Unlock()
}

// URL is the emulator's base URL ("" before it listens).
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baseURL
}

// TokenURL is the OAuth2 token endpoint (Google: https://oauth2.googleapis.com/token).
func (e *Emulator) TokenURL() string { return e.URL() + "/token" }

// CertsURL is the ID token JWKS (Google: https://www.googleapis.com/oauth2/v3/certs).
func (e *Emulator) CertsURL() string { return e.URL() + "/oauth2/v3/certs" }

// IAPKeysURL is the IAP JWKS (Google: https://www.gstatic.com/iap/verify/public_key-jwk).
func (e *Emulator) IAPKeysURL() string { return e.URL() + "/iap/verify/public_key-jwk" }

// IAMCredentialsURL is the IAM Credentials API root with a trailing slash
// (Google: https://iamcredentials.googleapis.com/).
func (e *Emulator) IAMCredentialsURL() string { return e.URL() + "/" }

// STSURL is the Security Token Service endpoint (Google: https://sts.googleapis.com/v1/token).
func (e *Emulator) STSURL() string { return e.URL() + "/v1/token" }

// AuthURL is the OAuth2 authorization endpoint (Google: https://accounts.google.com/o/oauth2/v2/auth).
func (e *Emulator) AuthURL() string { return e.URL() + "/o/oauth2/v2/auth" }

// MetadataHost is the value for GCE_METADATA_HOST: host:port, no scheme.
func (e *Emulator) MetadataHost() string {
	return strings.TrimPrefix(strings.TrimPrefix(e.URL(), "http://"), "https://")
}

// Count reports how many requests reached ep (including faulted ones).
func (e *Emulator) Count(ep Endpoint) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[ep]
}

// Counts returns a snapshot of every endpoint's request count.
func (e *Emulator) Counts() map[Endpoint]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.counts)
}

// ResetCounts sets every request count back to zero.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	clear(e.counts)
	e.mu.Unlock()
}

// SetClockSkew shifts the emulator's clock by d (positive: the emulator
// runs ahead of its callers).
func (e *Emulator) SetClockSkew(d time.Duration) {
	e.mu.Lock()
	e.skew = d
	e.mu.Unlock()
}

// SetLatency delays every request by d before it is handled (0 turns it
// off). Cancelled requests stop waiting.
func (e *Emulator) SetLatency(d time.Duration) {
	e.mu.Lock()
	e.latency = d
	e.mu.Unlock()
}

// RotateKeys makes a new Google signing key current. The previous key
// stays published (as Google does), older ones are dropped. It returns
// the new key's kid.
func (e *Emulator) RotateKeys() string {
	k := newSigningKey()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.googleKeys = []*signingKey{k, e.googleKeys[0]}
	return k.kid
}

// GoogleKeyID is the kid of the key currently signing ID tokens.
func (e *Emulator) GoogleKeyID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.googleKeys[0].kid
}

func (e *Emulator) currentGoogleKey() *signingKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.googleKeys[0]
}

func (e *Emulator) serveCerts(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	keys := make([]any, 0, len(e.googleKeys))
	for _, k := range e.googleKeys {
		keys = append(keys, rsaJWK(k.kid, &k.key.PublicKey))
	}
	e.mu.Unlock()
	e.setCacheControl(w)
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (e *Emulator) setCacheControl(w http.ResponseWriter) {
	if e.opts.CertsMaxAge > 0 {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d, must-revalidate, no-transform", int(e.opts.CertsMaxAge/time.Second)))
	}
	w.Header().Set("Date", e.now().UTC().Format(http.TimeFormat))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError writes the OAuth2 error shape of the token endpoints.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// apiError writes the JSON API error shape of IAM Credentials.
func apiError(w http.ResponseWriter, status int, grpcStatus, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": message, "status": grpcStatus,
	}})
}
