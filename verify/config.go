package verify

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idtokens/idtokens/internal/httpx"
)

// Preset selects the kind of token a Verifier accepts: its algorithm, its
// keys endpoint, its issuers and its default leeway.
type Preset int

const (
	// GoogleIDToken is a Google-signed OIDC ID token: RS256, keys at
	// GoogleCertsURL, issuer https://accounts.google.com or
	// accounts.google.com. Cloud Run, Cloud Functions, the metadata
	// server, IAM Credentials and the OAuth token endpoint issue these.
	GoogleIDToken Preset = iota + 1
	// IAP is an Identity-Aware Proxy assertion (header
	// x-goog-iap-jwt-assertion): ES256 on P-256, keys at IAPKeysURL,
	// issuer https://cloud.google.com/iap.
	IAP
)

func (p Preset) String() string {
	switch p {
	case GoogleIDToken:
		return "GoogleIDToken"
	case IAP:
		return "IAP"
	}
	return fmt.Sprintf("Preset(%d)", int(p))
}

// Google's endpoints and issuers.
const (
	GoogleCertsURL = "https://www.googleapis.com/oauth2/v3/certs"
	IAPKeysURL     = "https://www.gstatic.com/iap/verify/public_key-jwk"
	IAPIssuer      = "https://cloud.google.com/iap"
)

// The two issuers of Google ID tokens; the GoogleIDToken preset accepts
// both.
const (
	GoogleIssuer         = "https://accounts.google.com"
	GoogleIssuerNoScheme = "accounts.google.com"
)

// Defaults for Config.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultKeysTTL            = 5 * time.Minute
	DefaultMinRefetchInterval = 30 * time.Second
	DefaultMaxKeysAge         = 24 * time.Hour
	DefaultFetchTimeout       = 30 * time.Second
	DefaultVerifiedCacheSize  = 4096
)

// Config configures New. Preset and Audiences are required; everything
// else has a safe default.
type Config struct {
	// Preset is GoogleIDToken or IAP. It pins the algorithm (RS256 or
	// ES256), the default keys URL and the default issuers.
	Preset Preset

	// Audiences accepted; at least one is required. A token is accepted
	// when one of its aud values (a string or an array) is listed. For
	// Cloud Run use the service URL (or the custom audience); for IAP use
	// IAPAudience or IAPAppEngineAudience.
	Audiences []string

	// Issuers overrides the preset's issuers (rarely needed).
	Issuers []string
	// KeysURL overrides the preset's JWKS URL (tests point it at
	// idtokentest). It must be https, except on a loopback host
	// (127.0.0.0/8, ::1, localhost): keys fetched over plain HTTP from
	// the network could be swapped by anyone on the path, and the
	// verifier trusts whatever keys it fetches.
	KeysURL string

	// AuthorizedParties, when set, requires the azp claim to be one of
	// them (for ID tokens minted for a known OAuth client).
	AuthorizedParties []string
	// Emails, when set, requires the email claim to be one of them
	// (compared case-insensitively).
	Emails []string
	// RequireVerifiedEmail requires email_verified = true (Google ID
	// tokens only: IAP assertions do not carry it).
	RequireVerifiedEmail bool
	// HostedDomains, when set, requires the hd claim (the Workspace
	// domain) to be one of them.
	HostedDomains []string

	// Leeway tolerated on exp, nbf and iat for clock skew. 0 means
	// DefaultLeeway (30 s, as Google recommends for IAP); negative means
	// none.
	Leeway time.Duration

	// HTTPClient fetches the keys; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Retry bounds retries of a key fetch when no usable keys are cached
	// (zero: httpx defaults). A refresh while older keys can still be
	// served is tried once.
	Retry Retry
	// FetchTimeout bounds one key fetch, shared by every caller waiting
	// on it (0: 30 s). A caller whose ctx ends stops waiting; the fetch
	// goes on for the others.
	FetchTimeout time.Duration
	// KeysTTL is how long keys are fresh when the reply has no usable
	// Cache-Control max-age (0: 5 min).
	KeysTTL time.Duration
	// MinRefetchInterval is the least time between two fetches caused by
	// an unknown kid or by a failed refresh (0: 30 s). It is also the
	// floor of a tiny max-age.
	MinRefetchInterval time.Duration
	// MaxKeysAge is the hard limit on the age of keys: past it, keys are
	// not used even when the endpoint is down (0: 24 h).
	MaxKeysAge time.Duration

	// VerifiedCacheSize bounds the cache of tokens already verified, which
	// skips the signature check for a token seen before (exp, nbf and aud
	// are still checked on every call). 0 means DefaultVerifiedCacheSize;
	// negative disables it.
	VerifiedCacheSize int

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (p Preset) defaults() (alg, keysURL string, issuers []string, ok bool) {
	switch p {
	case GoogleIDToken:
		return algRS256, GoogleCertsURL, []string{GoogleIssuer, GoogleIssuerNoScheme}, true
	case IAP:
		return algES256, IAPKeysURL, []string{IAPIssuer}, true
	}
	return "", "", nil, false
}

// validate fills defaults in a copy of c and checks it.
func (c Config) validate() (Config, string, error) {
	alg, keysURL, issuers, ok := c.Preset.defaults()
	if !ok {
		return c, "", fmt.Errorf("%w: Preset must be GoogleIDToken or IAP", ErrConfig)
	}
	c.Audiences = nonEmpty(c.Audiences)
	// An empty string in an optional allow-list is a misconfiguration (an
	// unset environment variable, say): refuse it rather than silently
	// turning the check off.
	for name, list := range map[string]*[]string{"AuthorizedParties": &c.AuthorizedParties, "Emails": &c.Emails, "HostedDomains": &c.HostedDomains} {
		if len(nonEmpty(*list)) != len(*list) {
			return c, "", fmt.Errorf("%w: %s holds an empty string", ErrConfig, name)
		}
		*list = nonEmpty(*list)
	}
	if len(c.Audiences) == 0 {
		return c, "", fmt.Errorf("%w: Audiences is required", ErrConfig)
	}
	if c.Issuers == nil {
		c.Issuers = issuers
	}
	c.Issuers = nonEmpty(c.Issuers) // copies: later changes to the caller's slices do not reach us
	if len(c.Issuers) == 0 {
		return c, "", fmt.Errorf("%w: Issuers must not be empty", ErrConfig)
	}
	if c.KeysURL == "" {
		c.KeysURL = keysURL
	}
	u, err := url.Parse(c.KeysURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return c, "", fmt.Errorf("%w: KeysURL must be an absolute http(s) URL", ErrConfig)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return c, "", fmt.Errorf("%w: KeysURL must be https (plain http only to a loopback host)", ErrConfig)
	}
	if c.Preset == IAP && c.RequireVerifiedEmail {
		return c, "", fmt.Errorf("%w: IAP assertions carry no email_verified; do not set RequireVerifiedEmail", ErrConfig)
	}
	for _, a := range c.Audiences {
		if c.Preset == IAP && !strings.HasPrefix(a, "/projects/") {
			return c, "", fmt.Errorf("%w: IAP audience %q must look like /projects/NUM/global/backendServices/ID or /projects/NUM/apps/PROJECT_ID (use IAPAudience)", ErrConfig, a)
		}
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	if c.KeysTTL <= 0 {
		c.KeysTTL = DefaultKeysTTL
	}
	if c.MinRefetchInterval <= 0 {
		c.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if c.MaxKeysAge <= 0 {
		c.MaxKeysAge = DefaultMaxKeysAge
	}
	if c.MaxKeysAge < c.MinRefetchInterval || c.MaxKeysAge < c.KeysTTL {
		return c, "", fmt.Errorf("%w: MaxKeysAge must be at least KeysTTL and MinRefetchInterval", ErrConfig)
	}
	if c.VerifiedCacheSize == 0 {
		c.VerifiedCacheSize = DefaultVerifiedCacheSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HTTPClient == nil {
		c.HTTPClient = httpx.NewClient()
	}
	return c, alg, nil
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IAPAudience is the aud of IAP assertions for a backend service (load
// balancer, GKE, Cloud Run behind a load balancer):
// /projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID.
func IAPAudience(projectNumber, backendServiceID string) string {
	return "/projects/" + projectNumber + "/global/backendServices/" + backendServiceID
}

// IAPAppEngineAudience is the aud of IAP assertions for App Engine:
// /projects/PROJECT_NUMBER/apps/PROJECT_ID.
func IAPAppEngineAudience(projectNumber, projectID string) string {
	return "/projects/" + projectNumber + "/apps/" + projectID
}

// isLoopback reports whether host names this machine: localhost or a
// loopback IP literal. No DNS lookup: a name that resolves to loopback
// today may not tomorrow.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
