package verify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

// mint returns a fresh, distinct valid Google ID token.
func (e *env) mint(sub string) string {
	return e.emu.MintIDToken(idtokentest.IDTokenClaims{Audience: runAud, Subject: sub})
}

func TestKeysCacheControlHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, idtokentest.Options{CertsMaxAge: 2 * time.Hour, TokenLifetime: 24 * time.Hour})
	v := e.google(t, noCache)
	tok := e.mint("a")
	for range 5 {
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))

	e.clk.Add(2*time.Hour - time.Second)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts), "still fresh just before max-age")

	e.clk.Add(2 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts), "refetched once max-age passed")
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts))
}

func TestKeysNoCacheControlUsesFloor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, idtokentest.Options{CertsMaxAge: -1, TokenLifetime: 24 * time.Hour})
	v := e.google(t, noCache) // KeysTTL default 5 min
	tok := e.mint("a")
	for range 10 {
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts), "no Cache-Control must not mean a fetch per call")
	e.clk.Add(verify.DefaultKeysTTL - time.Second)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))
	e.clk.Add(2 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts))
}

func TestUnknownKidAfterRotationRefetchesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t, noCache)
	_, err := v.Verify(ctx, e.mint("before"))
	require.NoError(t, err)
	require.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))

	e.clk.Add(time.Minute) // past MinRefetchInterval since the first fetch
	e.emu.RotateKeys()
	rotated := e.mint("after")
	_, err = v.Verify(ctx, rotated)
	require.NoError(t, err, "the new kid is found after one refetch")
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts))
	for range 3 {
		_, err = v.Verify(ctx, rotated)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts), "exactly one refetch")
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t, noCache)
	_, err := v.Verify(ctx, e.mint("a"))
	require.NoError(t, err)
	bogus := func(i int) string {
		return e.emu.SignRS256(map[string]any{"kid": "bogus-" + string(rune('a'+i))}, e.idClaims())
	}
	// Right after a fetch, unknown kids do not refetch.
	for i := range 5 {
		_, err = v.Verify(ctx, bogus(i))
		require.ErrorIs(t, err, verify.ErrUnknownKey)
	}
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))

	e.clk.Add(verify.DefaultMinRefetchInterval)
	for i := range 5 {
		_, err = v.Verify(ctx, bogus(i))
		require.ErrorIs(t, err, verify.ErrUnknownKey)
	}
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts), "one refetch per interval, whatever the flood")

	// With a kid rotated in during the quiet interval, the next interval
	// finds it.
	e.emu.RotateKeys()
	rotated := e.mint("b")
	_, err = v.Verify(ctx, rotated)
	require.ErrorIs(t, err, verify.ErrUnknownKey)
	e.clk.Add(verify.DefaultMinRefetchInterval)
	_, err = v.Verify(ctx, rotated)
	require.NoError(t, err)
	assert.Equal(t, 3, e.emu.Count(idtokentest.EndpointCerts))
}

func TestKeysStaleIfErrorUntilMaxAge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, idtokentest.Options{CertsMaxAge: time.Hour})
	v := e.google(t, noCache)
	_, err := v.Verify(ctx, e.mint("a"))
	require.NoError(t, err)

	e.emu.InjectFault(idtokentest.EndpointCerts, -1, idtokentest.Fault{Status: 503})
	e.clk.Add(2 * time.Hour) // keys are stale; the endpoint is down
	_, err = v.Verify(ctx, e.mint("b"))
	require.NoError(t, err, "stale keys keep verifying while the endpoint is down")
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts), "one attempt, no retry storm")
	for range 5 {
		_, err = v.Verify(ctx, e.mint("c"))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts), "failed refreshes are rate-limited")
	e.clk.Add(verify.DefaultMinRefetchInterval)
	_, err = v.Verify(ctx, e.mint("d"))
	require.NoError(t, err)
	assert.Equal(t, 3, e.emu.Count(idtokentest.EndpointCerts))

	// Past the hard maximum age, stale keys are refused.
	e.clk.Add(verify.DefaultMaxKeysAge)
	_, err = v.Verify(ctx, e.mint("e"))
	require.ErrorIs(t, err, verify.ErrKeysUnavailable)
	var he *verify.HTTPError
	require.True(t, errors.As(err, &he), "%v", err)
	assert.Equal(t, 503, he.StatusCode)

	// Back up: verifying resumes.
	e.emu.ClearFaults()
	e.clk.Add(verify.DefaultMinRefetchInterval)
	_, err = v.Verify(ctx, e.mint("f"))
	require.NoError(t, err)
}

func TestKeysUnavailableAtStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Garbage: true})
	v := e.google(t, noCache)
	tok := e.mint("a")
	_, err := v.Verify(ctx, tok)
	require.ErrorIs(t, err, verify.ErrKeysUnavailable)
	require.ErrorIs(t, err, verify.ErrBadKeySet)
	// With no keys at all, the next call tries again at once.
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts))
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The first fetch is slow, so every caller arrives while it runs.
	e.emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Delay: time.Second})
	v := e.google(t, noCache)
	tok := e.mint("a")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := v.Verify(ctx, tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))
}

func TestCallerGivesUpWhileFetchContinues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Delay: 2 * time.Second})
	v := e.google(t, noCache)
	tok := e.mint("a")

	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(cctx, tok)
		done <- err
	}()
	require.Eventually(t, func() bool { return e.emu.Count(idtokentest.EndpointCerts) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)

	// The shared fetch was not cancelled with that caller: the next caller
	// joins it and succeeds without a second request.
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))
}

func TestIAPKeysRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.iap(t, noCache)
	_, err := v.Verify(ctx, e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud}))
	require.NoError(t, err)
	e.clk.Add(time.Minute)
	e.emu.RotateIAPKeys()
	_, err = v.Verify(ctx, e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud}))
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointIAPKeys))
}

func TestVerifiedTokenCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, idtokentest.Options{TokenLifetime: 24 * time.Hour})
	v := e.google(t)
	tok := e.mint("a")
	c1, err := v.Verify(ctx, tok)
	require.NoError(t, err)

	// Drop the signing key from the endpoint (two rotations) and let the
	// keys go stale (CertsMaxAge is 6 h): only a cache hit can still
	// accept the token, and a hit does no key lookup at all.
	e.emu.RotateKeys()
	e.emu.RotateKeys()
	e.clk.Add(7 * time.Hour)
	c2, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, c1, c2)
	assert.NotSame(t, c1, c2, "callers get their own copy")
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts), "a hit does no key lookup")

	// A verifier without the cache fetches the rotated keys and rejects it.
	_, err = e.google(t, noCache).Verify(ctx, tok)
	require.ErrorIs(t, err, verify.ErrUnknownKey)

	// Time checks still run on a hit.
	e.clk.Add(17*time.Hour + verify.DefaultLeeway)
	_, err = v.Verify(ctx, tok)
	require.ErrorIs(t, err, verify.ErrExpired)
}

func TestVerifiedTokenCacheDisabledRechecksSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t, idtokentest.Options{TokenLifetime: 24 * time.Hour})
	v := e.google(t, noCache)
	tok := e.mint("a")
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	e.emu.RotateKeys()
	e.emu.RotateKeys()
	e.clk.Add(7 * time.Hour)
	_, err = v.Verify(ctx, tok)
	assert.ErrorIs(t, err, verify.ErrUnknownKey, "without the cache the old key is looked up again and is gone")
	assert.Equal(t, 2, e.emu.Count(idtokentest.EndpointCerts))
}

// Many goroutines verifying a rotating set of tokens through a tiny
// verified-token cache: exercises LRU eviction and key lookups under -race.
func TestConcurrentVerifyWithSmallCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t, func(c *verify.Config) { c.VerifiedCacheSize = 3 })
	toks := make([]string, 8)
	for i := range toks {
		toks[i] = e.mint(string(rune('a' + i)))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				c, err := v.Verify(ctx, toks[(g+i)%len(toks)])
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, string(rune('a'+(g+i)%len(toks))), c.Subject)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))
}

func TestFetchKeysWarmsTheCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.iap(t)
	require.NoError(t, v.FetchKeys(ctx))
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointIAPKeys))
	_, err := v.Verify(ctx, e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud}))
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointIAPKeys), "Verify used the prefetched keys")

	e.emu.InjectFault(idtokentest.EndpointIAPKeys, 1, idtokentest.Fault{Status: 404})
	err = v.FetchKeys(ctx)
	require.ErrorIs(t, err, verify.ErrKeysUnavailable)
	var he *verify.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 404, he.StatusCode)
}
