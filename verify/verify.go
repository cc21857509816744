package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verifier verifies tokens of one Preset for a fixed set of audiences.
// It is safe for concurrent use; create one per process and share it.
type Verifier struct {
	cfg  Config
	alg  string
	keys *keyCache
	seen *seenCache // nil when disabled
}

// New checks cfg and returns a Verifier. It does no I/O: keys are fetched
// on first use.
func New(cfg Config) (*Verifier, error) {
	cfg, alg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, alg: alg}
	v.keys = &keyCache{url: cfg.KeysURL, alg: alg, cfg: &v.cfg}
	if cfg.VerifiedCacheSize > 0 {
		v.seen = newSeenCache(cfg.VerifiedCacheSize)
	}
	return v, nil
}

// Verify checks raw completely (size, encoding, header, algorithm, key,
// signature, then iss, aud, exp, iat, nbf and the optional azp, email and
// hd checks) and returns its claims. ctx bounds the wait for keys when
// they must be fetched. Errors wrap the package sentinels.
//
// A token verified before (and still in the verified-token cache) skips
// the decoding and signature check; its time and audience checks run
// again on every call.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > MaxTokenSize {
		return nil, ErrTooLarge
	}
	now := v.cfg.Now()
	if v.seen != nil {
		if c := v.seen.get(raw); c != nil {
			if err := v.checkClaims(c, now); err != nil {
				return nil, err
			}
			cc := *c
			return &cc, nil
		}
	}
	c, err := v.verify(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	if v.seen != nil {
		v.seen.add(strings.Clone(raw), c)
		cc := *c
		return &cc, nil
	}
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (*Claims, error) {
	p, err := split(raw)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(p.header)
	if err != nil {
		return nil, err
	}
	if string(h.alg) != v.alg {
		return nil, fmt.Errorf("%w: want %s", ErrAlgorithm, v.alg)
	}
	if len(h.kid) == 0 {
		return nil, fmt.Errorf("%w: token has no kid", ErrUnknownKey)
	}
	var k *publicKey
	if s := v.keys.cur.Load(); s != nil && now.Before(s.freshUntil) {
		k = s.keys[string(h.kid)] // no allocation: map index by string(bytes)
	}
	if k == nil {
		if k, err = v.keys.key(ctx, string(h.kid), now); err != nil {
			return nil, err
		}
	}
	digest := sha256.Sum256([]byte(p.signingInput))
	if err := checkSignature(k, v.alg, digest[:], p.sig); err != nil {
		return nil, err
	}
	c := new(Claims)
	if err := parseClaims(p.payload, c); err != nil {
		return nil, err
	}
	if err := v.checkClaims(c, now); err != nil {
		return nil, err
	}
	return c, nil
}

func checkSignature(k *publicKey, alg string, digest, sig []byte) error {
	switch alg {
	case algRS256:
		if k.rsa == nil {
			return ErrAlgorithm
		}
		if len(sig) != k.rsa.Size() {
			return fmt.Errorf("%w: wrong length", ErrSignature)
		}
		if rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, digest, sig) != nil {
			return ErrSignature
		}
		return nil
	case algES256:
		if k.ec == nil {
			return ErrAlgorithm
		}
		// JWS ES256 is r||s, 32 bytes each (RFC 7518 §3.4): not DER,
		// not shortened. r and s must be in [1, n-1].
		if len(sig) != 64 {
			return fmt.Errorf("%w: ES256 signature must be 64 bytes", ErrSignature)
		}
		r, s := sig[:32], sig[32:]
		if !scalarInRange(r) || !scalarInRange(s) {
			return fmt.Errorf("%w: r or s out of range", ErrSignature)
		}
		var buf [72]byte
		if !ecdsa.VerifyASN1(k.ec, digest, derSignature(buf[:0], r, s)) {
			return ErrSignature
		}
		return nil
	}
	return ErrAlgorithm
}

// p256Order is n, the order of the P-256 base point.
var p256Order = []byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
}

func scalarInRange(x []byte) bool {
	zero := true
	for _, b := range x {
		if b != 0 {
			zero = false
			break
		}
	}
	return !zero && bytes.Compare(x, p256Order) < 0
}

// derSignature encodes r and s (32-byte big-endian, non-zero) as an
// ASN.1 SEQUENCE of two INTEGERs, without going through math/big.
func derSignature(dst, r, s []byte) []byte {
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	rl, sl := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	dst = append(dst, 0x30, byte(2+rl+2+sl))
	dst = appendInt(dst, r)
	return appendInt(dst, s)
}

func appendInt(dst, x []byte) []byte {
	if x[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(x)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(x)))
	}
	return append(dst, x...)
}

// checkClaims runs every claim check. It is cheap and runs on each call,
// cached tokens included.
func (v *Verifier) checkClaims(c *Claims, now time.Time) error {
	if !slices.Contains(v.cfg.Issuers, c.Issuer) {
		if c.Issuer == "" {
			return fmt.Errorf("%w: iss", ErrMissingClaim)
		}
		return ErrIssuer
	}
	if len(c.Audience) == 0 {
		return fmt.Errorf("%w: aud", ErrAudience)
	}
	okAud := false
	for _, a := range c.Audience {
		if slices.Contains(v.cfg.Audiences, a) {
			okAud = true
			break
		}
	}
	if !okAud {
		return ErrAudience
	}
	if c.Expiry.IsZero() {
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	if c.IssuedAt.IsZero() {
		return fmt.Errorf("%w: iat", ErrMissingClaim)
	}
	leeway := v.cfg.Leeway
	if !now.Before(c.Expiry.Add(leeway)) {
		return ErrExpired
	}
	if c.IssuedAt.After(now.Add(leeway)) {
		return fmt.Errorf("%w: issued in the future", ErrNotYetValid)
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(leeway)) {
		return ErrNotYetValid
	}
	if !c.Expiry.After(c.IssuedAt) {
		return fmt.Errorf("%w: exp is not after iat", ErrExpired)
	}
	if len(v.cfg.AuthorizedParties) > 0 && !slices.Contains(v.cfg.AuthorizedParties, c.AuthorizedParty) {
		return ErrAuthorizedParty
	}
	if len(v.cfg.Emails) > 0 && !slices.ContainsFunc(v.cfg.Emails, func(e string) bool {
		return c.Email != "" && strings.EqualFold(e, c.Email)
	}) {
		return ErrEmail
	}
	if v.cfg.RequireVerifiedEmail && (c.Email == "" || !c.EmailVerified) {
		return fmt.Errorf("%w: email not verified", ErrEmail)
	}
	if len(v.cfg.HostedDomains) > 0 && !slices.Contains(v.cfg.HostedDomains, c.HostedDomain) {
		return ErrHostedDomain
	}
	return nil
}

// FetchKeys fetches the signing keys now, so that the first Verify does
// not wait for them (call it once at startup; Verify refreshes keys by
// itself afterwards). It joins a fetch already in flight.
func (v *Verifier) FetchKeys(ctx context.Context) error {
	if err := v.keys.refresh(ctx, v.cfg.Now(), true); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("verify: waiting for keys: %w", ctx.Err())
		}
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	return nil
}

// Preset reports the kind of token v verifies.
func (v *Verifier) Preset() Preset { return v.cfg.Preset }
