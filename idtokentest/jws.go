package idtokentest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// b64 is unpadded base64url, as JWS requires.
var b64 = base64.RawURLEncoding

// signRS256 builds a compact JWS over header and claims with an RSA key.
func signRS256(key *rsa.PrivateKey, header, claims map[string]any) (string, error) {
	input, err := signingInput(header, claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// signES256 builds a compact JWS with an ECDSA P-256 key, signature in the
// JOSE r||s form (64 bytes).
func signES256(key *ecdsa.PrivateKey, header, claims map[string]any) (string, error) {
	input, err := signingInput(header, claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}

func signingInput(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(h) + "." + b64.EncodeToString(c), nil
}

// parsedJWS is a decoded compact JWS whose signature is not yet checked.
type parsedJWS struct {
	header map[string]any
	claims map[string]any
	input  string
	sig    []byte
}

func parseJWS(raw string) (*parsedJWS, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	p := &parsedJWS{input: parts[0] + "." + parts[1]}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if p.sig, err = b64.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if err := json.Unmarshal(hb, &p.header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(cb, &p.claims); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return p, nil
}

func (p *parsedJWS) verifyRS256(pub *rsa.PublicKey) bool {
	if p.header["alg"] != "RS256" {
		return false
	}
	sum := sha256.Sum256([]byte(p.input))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.sig) == nil
}

func (p *parsedJWS) str(name string) string {
	s, _ := p.claims[name].(string)
	return s
}

// num reads a NumericDate claim. Values outside [0, year 9999] are
// refused: converting them to int64 would overflow (iat = -1e300 once
// made exp-iat wrap around and pass the one-hour check).
func (p *parsedJWS) num(name string) (int64, bool) {
	f, ok := p.claims[name].(float64)
	if !ok || f < 0 || f > 253402300799 {
		return 0, false
	}
	return int64(f), true
}

// rsaJWK renders an RSA public key as a JWK with the given kid.
func rsaJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": kid,
		"n":   b64.EncodeToString(pub.N.Bytes()),
		"e":   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// ecJWK renders a P-256 public key as a JWK with the given kid.
func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	raw, _ := pub.Bytes() // 0x04 || X || Y for a valid key
	return map[string]any{
		"kty": "EC",
		"alg": "ES256",
		"use": "sig",
		"crv": "P-256",
		"kid": kid,
		"x":   b64.EncodeToString(raw[1:33]),
		"y":   b64.EncodeToString(raw[33:65]),
	}
}

// randomID returns n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%x", b)
}

// randomDigits returns a random decimal string of n digits, like Google's
// numeric unique IDs.
func randomDigits(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}
