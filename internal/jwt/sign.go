package jwt

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotRSA is returned when a signer's key is not RSA: Google's token
// endpoint accepts only RS256 assertions.
var ErrNotRSA = errors.New("signer key is not RSA (Google accepts only RS256 assertions)")

// Encode returns the unsigned "header.payload" of a JWS.
func Encode(header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encoding JWT header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding JWT claims: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c), nil
}

// SignRS256 signs header and claims with signer (which may be a key in
// memory, a KMS, an HSM or a TPM) and returns the compact JWS.
func SignRS256(signer crypto.Signer, header, claims any) (string, error) {
	if _, ok := signer.Public().(*rsa.PublicKey); !ok {
		return "", ErrNotRSA
	}
	input, err := Encode(header, claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("signing JWT: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
