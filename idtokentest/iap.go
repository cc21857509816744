package idtokentest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"time"
)

// IAP: GET /iap/verify/public_key-jwk serves the ES256 (P-256) keys that
// sign x-goog-iap-jwt-assertion, with the same Cache-Control as the certs
// endpoint. MintIAPAssertion issues assertions as IAP would; the Sign*
// helpers below make tokens IAP would never issue, for negative tests.

// IAPIssuer is the iss of IAP assertions.
const IAPIssuer = "https://cloud.google.com/iap"

type ecSigningKey struct {
	kid string
	key *ecdsa.PrivateKey
}

func newECSigningKey() *ecSigningKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("idtokentest: generating P-256 key: %v", err))
	}
	// IAP key IDs are short base64-ish strings; any unique string will do.
	return &ecSigningKey{kid: randomID(6), key: k}
}

func (e *Emulator) serveIAPKeys(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	keys := make([]any, 0, len(e.iapKeys))
	for _, k := range e.iapKeys {
		keys = append(keys, ecJWK(k.kid, &k.key.PublicKey))
	}
	e.mu.Unlock()
	e.setCacheControl(w)
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (e *Emulator) currentIAPKey() *ecSigningKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.iapKeys[0]
}

// IAPKeyID is the kid of the key currently signing IAP assertions.
func (e *Emulator) IAPKeyID() string { return e.currentIAPKey().kid }

// RotateIAPKeys makes a new IAP key current; the previous one stays
// published, older ones are dropped. It returns the new kid.
func (e *Emulator) RotateIAPKeys() string {
	k := newECSigningKey()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.iapKeys = []*ecSigningKey{k, e.iapKeys[0]}
	return k.kid
}

// IAPClaims describes an IAP assertion. Audience is required.
type IAPClaims struct {
	// Audience: /projects/NUM/global/backendServices/ID or
	// /projects/NUM/apps/PROJECT_ID.
	Audience string
	// Email of the user (no namespace, as in real assertions).
	Email string
	// Subject defaults to "accounts.google.com:" + 21 random digits, as
	// IAP sends for Google accounts.
	Subject string
	// HostedDomain (hd), the user's Workspace domain; omitted if empty.
	HostedDomain string
	// Google is the "google" block, e.g. {"access_levels": [...]}.
	Google map[string]any
	// GCIP is the Identity Platform block for external identities.
	GCIP map[string]any
	// Issuer defaults to IAPIssuer.
	Issuer string
	// IssuedAt defaults to now; Expiry to IssuedAt + 10 min (IAP's).
	IssuedAt time.Time
	Expiry   time.Time
	// Extra claims are merged in last and win.
	Extra map[string]any
}

// MintIAPAssertion signs an assertion with the current IAP key, as IAP
// puts it in x-goog-iap-jwt-assertion. The subject it used is in the
// token's sub claim.
func (e *Emulator) MintIAPAssertion(c IAPClaims) string {
	now := e.now()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.Expiry.IsZero() {
		c.Expiry = c.IssuedAt.Add(10 * time.Minute)
	}
	if c.Issuer == "" {
		c.Issuer = IAPIssuer
	}
	if c.Subject == "" {
		c.Subject = "accounts.google.com:" + randomDigits(21)
	}
	m := map[string]any{
		"iss": c.Issuer,
		"aud": c.Audience,
		"sub": c.Subject,
		"iat": c.IssuedAt.Unix(),
		"exp": c.Expiry.Unix(),
	}
	if c.Email != "" {
		m["email"] = c.Email
	}
	if c.HostedDomain != "" {
		m["hd"] = c.HostedDomain
	}
	if c.Google != nil {
		m["google"] = c.Google
	}
	if c.GCIP != nil {
		m["gcip"] = c.GCIP
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return e.SignES256(nil, m)
}

// SignES256 signs arbitrary claims with the current IAP key (header alg
// ES256, typ JWT and kid filled in unless header sets them).
func (e *Emulator) SignES256(header, claims map[string]any) string {
	k := e.currentIAPKey()
	h := map[string]any{"alg": "ES256", "typ": "JWT", "kid": k.kid}
	for key, v := range header {
		h[key] = v
	}
	tok, err := signES256(k.key, h, claims)
	if err != nil {
		panic(err)
	}
	return tok
}

// SignES256JSON signs the given header and payload bytes verbatim with the
// current IAP key: they need not be valid JSON, objects, or free of
// duplicate names. The signature is the JOSE r||s form.
func (e *Emulator) SignES256JSON(header, payload []byte) string {
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sig, _ := e.IAPSignature(input)
	return input + "." + b64.EncodeToString(sig)
}

// SignRS256JSON signs the given header and payload bytes verbatim with the
// current Google key.
func (e *Emulator) SignRS256JSON(header, payload []byte) string {
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	k := e.currentGoogleKey()
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// IAPSignature signs a signing input ("header.payload" as on the wire)
// with the current IAP key and returns the signature both as JOSE r||s
// (64 bytes) and as ASN.1 DER, so tests can build tokens whose signature
// is correct but wrongly encoded.
func (e *Emulator) IAPSignature(input string) (jose, der []byte) {
	k := e.currentIAPKey()
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.key, sum[:])
	if err != nil {
		panic(err)
	}
	jose = make([]byte, 64)
	r.FillBytes(jose[:32])
	s.FillBytes(jose[32:])
	der, err = asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		panic(err)
	}
	return jose, der
}

// AssembleJWS joins header and payload JSON and a raw signature into a
// compact JWS without signing anything: for tokens with a forged,
// truncated or otherwise bad signature.
func AssembleJWS(header, payload, sig []byte) string {
	return b64.EncodeToString(header) + "." + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig)
}

// MustJSON marshals v or panics; a convenience for building test tokens.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
