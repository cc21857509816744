// Package jwt splits compact JWS tokens strictly and reads claims without
// verifying them. Acquisition packages use it to read `exp` from tokens a
// trusted endpoint just handed them; the verify package builds its checks
// on Split. Nothing here decides whether a token is trustworthy.
package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxTokenSize is the largest token accepted, checked before any decoding.
// Google ID tokens are about 1 KiB; IAP assertions are smaller.
const MaxTokenSize = 16 << 10

// Errors returned by Split and UnverifiedClaims.
var (
	ErrMalformed = errors.New("malformed JWT")
	ErrTooLarge  = errors.New("JWT exceeds size limit")
	ErrNoExpiry  = errors.New("JWT has no exp claim")
)

// Parts are the decoded segments of a compact JWS.
type Parts struct {
	Header, Payload, Signature []byte
	// SigningInput is "header.payload" as it appeared on the wire.
	SigningInput string
}

// Split decodes raw strictly: exactly three segments of unpadded
// base64url, each non-empty but the signature (which may be empty only
// for alg "none", rejected by verifiers anyway).
func Split(raw string) (Parts, error) {
	if len(raw) > MaxTokenSize {
		return Parts{}, ErrTooLarge
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return Parts{}, fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return Parts{}, fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	if h == "" || p == "" {
		return Parts{}, fmt.Errorf("%w: empty segment", ErrMalformed)
	}
	var parts Parts
	var err error
	if parts.Header, err = decodeSegment(h); err != nil {
		return Parts{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if parts.Payload, err = decodeSegment(p); err != nil {
		return Parts{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if parts.Signature, err = decodeSegment(s); err != nil {
		return Parts{}, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	parts.SigningInput = raw[:len(h)+1+len(p)]
	return parts, nil
}

func decodeSegment(s string) ([]byte, error) {
	// encoding/base64 skips '\r' and '\n' anywhere in its input, even in
	// Strict mode, so check the alphabet first: together with Strict
	// (which rejects padding and non-zero trailing bits) each token has
	// exactly one encoding.
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %d is not base64url", i)
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// Claims are the registered claims acquisition code needs.
type Claims struct {
	Issuer   string
	Subject  string
	Email    string
	Audience []string
	IssuedAt time.Time
	Expiry   time.Time
}

type rawClaims struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Email string          `json:"email"`
	Aud   json.RawMessage `json:"aud"`
	Iat   *float64        `json:"iat"`
	Exp   *float64        `json:"exp"`
}

// UnverifiedClaims decodes the payload of raw without checking its
// signature. It fails with ErrNoExpiry when exp is missing: a token whose
// lifetime is unknown cannot be cached safely.
func UnverifiedClaims(raw string) (Claims, error) {
	parts, err := Split(raw)
	if err != nil {
		return Claims{}, err
	}
	var rc rawClaims
	if err := json.Unmarshal(parts.Payload, &rc); err != nil {
		return Claims{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	c := Claims{Issuer: rc.Iss, Subject: rc.Sub, Email: rc.Email}
	if len(rc.Aud) > 0 && string(rc.Aud) != "null" {
		var one string
		if json.Unmarshal(rc.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(rc.Aud, &c.Audience); err != nil {
			return Claims{}, fmt.Errorf("%w: aud is neither a string nor an array of strings", ErrMalformed)
		}
	}
	if rc.Iat != nil {
		if c.IssuedAt, err = numericDate(*rc.Iat); err != nil {
			return Claims{}, fmt.Errorf("%w: iat: %v", ErrMalformed, err)
		}
	}
	if rc.Exp == nil {
		return Claims{}, ErrNoExpiry
	}
	if c.Expiry, err = numericDate(*rc.Exp); err != nil {
		return Claims{}, fmt.Errorf("%w: exp: %v", ErrMalformed, err)
	}
	return c, nil
}

// numericDate converts a JWT NumericDate, refusing values that do not fit
// a time.Time sensibly (negative, NaN, beyond year 9999).
func numericDate(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < 0 || f > 253402300799 {
		return time.Time{}, errors.New("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
