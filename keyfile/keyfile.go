package keyfile

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/credfile"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/internal/jwt"
)

// DefaultTokenURL is Google's OAuth 2.0 token endpoint.
const DefaultTokenURL = "https://oauth2.googleapis.com/token"

// HTTPError is the error for a non-2xx reply from the token endpoint. It
// is the same type in every package of this module, so one errors.As
// catches them all.
type HTTPError = httpx.Error

// Retry bounds the retries of transient failures (5xx, 429, connection
// errors): MaxAttempts, BaseDelay, MaxDelay, MaxElapsed. The zero value
// is the defaults (4 attempts, 30 s in all); MaxAttempts 1 disables them.
// It is the same type in every package of this module.
type Retry = httpx.Retry

// Sentinel errors; test with errors.Is.
var (
	ErrNoAudience   = errors.New("keyfile: Config.Audience is required")
	ErrNoKey        = errors.New("keyfile: set exactly one of Config.CredentialsJSON, Config.CredentialsFile or Config.Signer")
	ErrInvalidKey   = errors.New("keyfile: invalid service account key")
	ErrNoIDToken    = errors.New("keyfile: token endpoint reply has no id_token")
	ErrBadReply     = errors.New("keyfile: token endpoint reply is not valid JSON")
	ErrInvalidToken = errors.New("keyfile: token endpoint returned an unusable ID token")
)

// Config configures NewTokenSource. Audience and one key source are
// required; everything else has a default.
type Config struct {
	// Audience is the target_audience: the URL of the Cloud Run service,
	// Cloud Function, or the IAP OAuth client ID.
	Audience string

	// CredentialsJSON is the content of a service-account key file.
	CredentialsJSON []byte
	// CredentialsFile is the path of a service-account key file.
	CredentialsFile string

	// Signer signs assertions for keys that never leave a KMS, HSM or TPM.
	// Its public key must be RSA. Email is then required; KeyID (the
	// private_key_id, sent as kid) is optional.
	Signer crypto.Signer
	Email  string
	KeyID  string

	// TokenURL overrides the token endpoint (default: the key file's
	// token_uri, else DefaultTokenURL). It is also the assertion's aud.
	TokenURL string

	// HTTPClient sends the requests; nil means a client with a 30 s
	// timeout. Its transport must not add credentials of its own.
	HTTPClient *http.Client
	// Retry bounds retries of transient failures (zero: defaults).
	Retry Retry
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Key is a parsed service-account key file.
type Key struct {
	Type           string `json:"type"`
	ProjectID      string `json:"project_id"`
	PrivateKeyID   string `json:"private_key_id"`
	PrivateKey     string `json:"private_key"`
	ClientEmail    string `json:"client_email"`
	ClientID       string `json:"client_id"`
	TokenURI       string `json:"token_uri"`
	UniverseDomain string `json:"universe_domain"`

	// Signer is the parsed private key.
	Signer crypto.Signer `json:"-"`
}

// String never prints the private key.
func (k *Key) String() string {
	return fmt.Sprintf("service account key %s for %s", k.PrivateKeyID, k.ClientEmail)
}

// ParseKey parses and validates a service-account key file. Errors wrap
// ErrInvalidKey and never contain the key material.
func ParseKey(data []byte) (*Key, error) {
	var k Key
	if err := credfile.DecodeJSON(data, &k); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if err := credfile.CheckType(k.Type, "service_account"); err != nil {
		hint := ""
		if k.Type != "" {
			hint = " (for other credential types use package idtoken)"
		}
		return nil, fmt.Errorf("%w: %w%s", ErrInvalidKey, err, hint)
	}
	if m := credfile.Missing([2]string{"client_email", k.ClientEmail}, [2]string{"private_key", k.PrivateKey}); m != "" {
		return nil, fmt.Errorf("%w: missing %s", ErrInvalidKey, m)
	}
	signer, err := parsePrivateKey(k.PrivateKey)
	if err != nil {
		return nil, err
	}
	k.Signer = signer
	return &k, nil
}

func parsePrivateKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, fmt.Errorf("%w: private_key is not PEM", ErrInvalidKey)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private_key is %T, want RSA", ErrInvalidKey, k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: private_key is neither PKCS#8 nor PKCS#1 RSA", ErrInvalidKey)
}

// source holds what one refresh needs.
type source struct {
	audience string
	signer   crypto.Signer
	email    string
	keyID    string
	tokenURL string
	http     httpx.Options
	now      func() time.Time
}

// NewTokenSource validates cfg and returns a cached source of ID tokens
// for cfg.Audience. ctx is used only during construction (reading the key
// file); it is not stored.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if cfg.Audience == "" {
		return nil, ErrNoAudience
	}
	s := &source{audience: cfg.Audience, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	n := 0
	for _, set := range []bool{cfg.CredentialsJSON != nil, cfg.CredentialsFile != "", cfg.Signer != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, ErrNoKey
	}
	tokenURL := DefaultTokenURL
	data := cfg.CredentialsJSON
	if cfg.CredentialsFile != "" {
		var err error
		if data, err = os.ReadFile(cfg.CredentialsFile); err != nil {
			return nil, fmt.Errorf("keyfile: reading credentials file: %w", err)
		}
	}
	if data != nil {
		k, err := ParseKey(data)
		if err != nil {
			return nil, err
		}
		s.signer, s.email, s.keyID = k.Signer, k.ClientEmail, k.PrivateKeyID
		switch {
		case k.TokenURI != "":
			tokenURL = k.TokenURI
		case k.UniverseDomain != "" && k.UniverseDomain != "googleapis.com":
			tokenURL = "https://oauth2." + k.UniverseDomain + "/token"
		}
	} else {
		if cfg.Email == "" {
			return nil, fmt.Errorf("%w: Config.Email is required with Config.Signer", ErrInvalidKey)
		}
		if _, ok := cfg.Signer.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, jwt.ErrNotRSA)
		}
		s.signer, s.email, s.keyID = cfg.Signer, cfg.Email, cfg.KeyID
	}
	if cfg.TokenURL != "" {
		tokenURL = cfg.TokenURL
	}
	if u, err := url.Parse(tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("keyfile: token URL %q is not an absolute http(s) URL", tokenURL)
	}
	s.tokenURL = tokenURL
	s.http = httpx.Options{Client: cfg.HTTPClient, Retry: cfg.Retry, Now: s.now}
	if s.http.Client == nil {
		s.http.Client = httpx.NewClient()
	}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: s.now}), nil
}

// assertion builds and signs a fresh jwt-bearer assertion.
func (s *source) assertion() (string, error) {
	now := s.now()
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if s.keyID != "" {
		header["kid"] = s.keyID
	}
	claims := map[string]any{
		"iss":             s.email,
		"aud":             s.tokenURL,
		"iat":             now.Unix(),
		"exp":             now.Add(time.Hour).Unix(),
		"target_audience": s.audience,
	}
	return jwt.SignRS256(s.signer, header, claims)
}

func (s *source) fetch(ctx context.Context) (*oauth2.Token, error) {
	a, err := s.assertion()
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	resp, err := httpx.PostForm(ctx, s.http, s.tokenURL, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {a},
	})
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	var reply struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(resp.Body, &reply); err != nil {
		return nil, ErrBadReply
	}
	if reply.IDToken == "" {
		return nil, ErrNoIDToken
	}
	tok, err := cache.FromIDToken(reply.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return tok, nil
}
