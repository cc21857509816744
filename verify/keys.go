package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/idtokens/idtokens/internal/httpx"
)

// publicKey is one parsed verification key. Keys are parsed once per
// fetch, never per Verify.
type publicKey struct {
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
}

// keySet is an immutable snapshot of the keys endpoint.
type keySet struct {
	keys       map[string]*publicKey
	fetched    time.Time // when the reply arrived (our clock)
	freshUntil time.Time // honour Cache-Control until then
}

// fetchCall is one fetch in flight, shared by every caller that needs it.
type fetchCall struct {
	done chan struct{}
	err  error
}

// keyCache holds the keys of one endpoint.
//
// Hot path: one atomic load and a map lookup. Refresh: one fetch at a time
// (callers join it and may stop waiting when their ctx ends; the fetch runs
// on a detached context bounded by FetchTimeout), after the Cache-Control
// lifetime, or early on an unknown kid but at most once per
// MinRefetchInterval. When a refresh fails, the last keys keep being
// served (stale-if-error) until they are MaxKeysAge old.
type keyCache struct {
	url string
	alg string
	cfg *Config

	cur atomic.Pointer[keySet]

	mu          sync.Mutex
	inflight    *fetchCall
	lastAttempt time.Time // start of the last fetch; zero before the first
	lastErr     error     // outcome of the last fetch
}

var errRateLimited = errors.New("refetch rate limited")

// key returns the key named kid, fetching or refreshing keys as needed.
func (c *keyCache) key(ctx context.Context, kid string, now time.Time) (*publicKey, error) {
	s := c.cur.Load()
	if s != nil && now.Before(s.freshUntil) {
		if k := s.keys[kid]; k != nil {
			return k, nil
		}
		// An unknown kid with fresh keys: Google may have rotated early.
		// Refetch, rate-limited so a flood of bogus kids cannot turn us
		// into a load generator against Google.
		err := c.refresh(ctx, now, false)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("verify: waiting for keys: %w", ctxErr)
		}
		if k := c.cur.Load().keys[kid]; k != nil {
			return k, nil
		}
		if err != nil && !errors.Is(err, errRateLimited) {
			return nil, fmt.Errorf("%w (key refresh failed: %w)", ErrUnknownKey, err)
		}
		return nil, ErrUnknownKey
	}

	// No keys yet, or stale ones: fetch. With stale keys in hand a failed
	// or rate-limited refresh falls back on them.
	err := c.refresh(ctx, now, s == nil)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("verify: waiting for keys: %w", ctxErr)
		}
		s = c.cur.Load()
		if s == nil || !now.Before(s.fetched.Add(c.cfg.MaxKeysAge)) {
			if errors.Is(err, errRateLimited) {
				c.mu.Lock()
				err = c.lastErr
				c.mu.Unlock()
			}
			return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		}
	}
	s = c.cur.Load()
	if k := s.keys[kid]; k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// refresh fetches the keys, or joins the fetch in flight. Unless force
// is set, it refuses (errRateLimited) to start a fetch less than
// MinRefetchInterval after the previous one started.
func (c *keyCache) refresh(ctx context.Context, now time.Time, force bool) error {
	c.mu.Lock()
	call := c.inflight
	if call == nil {
		if !force && !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.cfg.MinRefetchInterval {
			c.mu.Unlock()
			return errRateLimited
		}
		call = &fetchCall{done: make(chan struct{})}
		c.inflight = call
		c.lastAttempt = now
		// Retry hard only when there is nothing to fall back on.
		retry := c.cfg.Retry
		if c.cur.Load() != nil {
			retry = httpx.Retry{MaxAttempts: 1}
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
		go func() {
			defer cancel()
			set, err := c.fetch(fctx, retry)
			c.mu.Lock()
			if err == nil {
				c.cur.Store(set)
			}
			c.lastErr = err
			c.inflight = nil
			c.mu.Unlock()
			call.err = err
			close(call.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch gets and parses the key set.
func (c *keyCache) fetch(ctx context.Context, retry httpx.Retry) (*keySet, error) {
	resp, err := httpx.Do(ctx, httpx.Options{
		Client:  c.cfg.HTTPClient,
		Retry:   retry,
		MaxBody: 256 << 10,
		Now:     c.cfg.Now,
	}, httpx.Request{
		Method: http.MethodGet,
		URL:    c.url,
		Header: http.Header{"Accept": {"application/json"}},
	})
	if err != nil {
		return nil, fmt.Errorf("verify: fetching keys: %w", err)
	}
	keys, err := parseKeySet(resp.Body, c.alg)
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	return &keySet{
		keys:       keys,
		fetched:    now,
		freshUntil: now.Add(c.lifetime(resp.Header)),
	}, nil
}

// lifetime is how long a reply stays fresh: Cache-Control max-age minus
// Age, floored at MinRefetchInterval and capped at MaxKeysAge; KeysTTL
// when the reply says nothing usable (no header, no-cache, no-store).
func (c *keyCache) lifetime(h http.Header) time.Duration {
	maxAge, ok := cacheMaxAge(h)
	if !ok {
		return c.cfg.KeysTTL
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		maxAge -= time.Duration(min(age, 1<<32)) * time.Second
	}
	return min(max(maxAge, c.cfg.MinRefetchInterval), c.cfg.MaxKeysAge)
}

// cacheMaxAge reads max-age from Cache-Control. no-store and no-cache
// count as absent: we still need a floor to avoid a fetch per Verify.
func cacheMaxAge(h http.Header) (time.Duration, bool) {
	var maxAge time.Duration
	found := false
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache":
				return 0, false
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err != nil || n < 0 {
					return 0, false
				}
				maxAge = time.Duration(min(n, 1<<32)) * time.Second
				found = true
			}
		}
	}
	return maxAge, found
}

// ErrBadKeySet is wrapped when the keys endpoint answers 200 with
// something that is not a usable JWKS.
var ErrBadKeySet = errors.New("verify: keys endpoint reply is not a usable JWKS")

// parseKeySet parses a JWKS and keeps the keys usable with alg. Each key
// is parsed on its own with jwx, so one odd key (a new kty, a private
// key, a weak RSA modulus, a point off the curve) is skipped instead of
// failing the whole set.
func parseKeySet(body []byte, alg string) (map[string]*publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object with a keys array", ErrBadKeySet)
	}
	keys := make(map[string]*publicKey, len(set.Keys))
	dup := map[string]bool{}
	for _, raw := range set.Keys {
		kid, pk, ok := parseKey(raw, alg)
		if !ok {
			continue
		}
		if _, seen := keys[kid]; seen || dup[kid] {
			// Two keys under one kid: trust neither.
			delete(keys, kid)
			dup[kid] = true
			continue
		}
		keys[kid] = pk
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no %s signing key in the set", ErrBadKeySet, alg)
	}
	return keys, nil
}

func parseKey(raw []byte, alg string) (string, *publicKey, bool) {
	k, err := jwk.ParseKey(raw)
	if err != nil {
		return "", nil, false
	}
	kid := k.KeyID()
	if kid == "" {
		return "", nil, false
	}
	if a := k.Algorithm().String(); a != "" && a != alg {
		return "", nil, false
	}
	if u := k.KeyUsage(); u != "" && u != "sig" {
		return "", nil, false
	}
	switch alg {
	case algRS256:
		rk, ok := k.(jwk.RSAPublicKey)
		if !ok {
			return "", nil, false
		}
		var pub rsa.PublicKey
		if err := rk.Raw(&pub); err != nil {
			return "", nil, false
		}
		if pub.N.BitLen() < 2048 || pub.N.BitLen() > 8192 || pub.E < 3 || pub.E%2 == 0 {
			return "", nil, false
		}
		return kid, &publicKey{rsa: &pub}, true
	case algES256:
		ek, ok := k.(jwk.ECDSAPublicKey)
		if !ok || ek.Crv().String() != "P-256" {
			return "", nil, false
		}
		// Build the key through the strict stdlib encoding: this rejects
		// points off the curve and the point at infinity. RFC 7518 wants
		// full-length coordinates; shorter ones are left-padded.
		x, y := ek.X(), ek.Y()
		if len(x) == 0 || len(y) == 0 || len(x) > 32 || len(y) > 32 {
			return "", nil, false
		}
		enc := make([]byte, 65)
		enc[0] = 4
		copy(enc[33-len(x):33], x)
		copy(enc[65-len(y):], y)
		strict, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), enc)
		if err != nil {
			return "", nil, false
		}
		return kid, &publicKey{ec: strict}, true
	}
	return "", nil, false
}
