package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idtokens/idtokens/internal/fakeclock"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) }

// upstream hands out tokens valid for an hour of the fake clock and counts
// calls. Its gate, when set, holds every call until closed.
type upstream struct {
	clk   *fakeclock.Clock
	calls atomic.Int32
	gate  chan struct{}
	err   error
	mu    sync.Mutex
}

func (u *upstream) fetch(ctx context.Context) (*oauth2.Token, error) {
	n := u.calls.Add(1)
	if u.gate != nil {
		select {
		case <-u.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	u.mu.Lock()
	err := u.err
	u.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: "tok" + string(rune('0'+n)), Expiry: u.clk.Now().Add(time.Hour)}, nil
}

func (u *upstream) setErr(err error) {
	u.mu.Lock()
	u.err = err
	u.mu.Unlock()
}

func TestCachedUntilEarlyWindow(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	s := New(up.fetch, Options{Now: clk.Now})

	tok, err := s.Token()
	require.NoError(t, err)
	assert.Equal(t, "tok1", tok.AccessToken)
	for range 100 {
		tok2, err := s.Token()
		require.NoError(t, err)
		assert.Same(t, tok, tok2)
	}
	clk.Add(54 * time.Minute) // 6 min left: outside the 5 min window
	_, err = s.Token()
	require.NoError(t, err)
	assert.EqualValues(t, 1, up.calls.Load())
}

func TestEarlyRefreshServesOldTokenWhileOneRefreshRuns(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	s := New(up.fetch, Options{Now: clk.Now})
	first, err := s.Token()
	require.NoError(t, err)

	up.gate = make(chan struct{}) // the refresh will hang until released
	clk.Add(57 * time.Minute)     // inside the window, still valid
	for range 50 {
		tok, err := s.Token()
		require.NoError(t, err)
		assert.Same(t, first, tok, "callers must not wait for the background refresh")
	}
	require.Eventually(t, func() bool { return up.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	close(up.gate)
	require.Eventually(t, func() bool {
		tok, err := s.Token()
		return err == nil && tok.AccessToken == "tok2"
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, up.calls.Load(), "exactly one background refresh")
}

func TestBlockingRefreshAfterExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	s := New(up.fetch, Options{Now: clk.Now, EarlyRefresh: -1})
	_, err := s.Token()
	require.NoError(t, err)
	clk.Add(59*time.Minute + 51*time.Second) // within ExpiryDelta of exp
	tok, err := s.Token()
	require.NoError(t, err)
	assert.Equal(t, "tok2", tok.AccessToken)
}

func TestThousandCallersAtExpiryOneUpstreamCall(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	s := New(up.fetch, Options{Now: clk.Now})
	_, err := s.Token()
	require.NoError(t, err)
	clk.Add(2 * time.Hour)
	up.gate = make(chan struct{})

	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	results := make([]*oauth2.Token, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			results[i], errs[i] = s.Token()
		}()
	}
	started.Wait()
	require.Eventually(t, func() bool { return up.calls.Load() >= 2 }, 5*time.Second, time.Millisecond)
	close(up.gate)
	wg.Wait()
	assert.EqualValues(t, 2, up.calls.Load(), "1 initial + 1 refresh for 1000 callers")
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, "tok2", results[i].AccessToken)
	}
}

func TestBackoffAfterFailure(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	boom := errors.New("boom")
	up.setErr(boom)
	s := New(up.fetch, Options{Now: clk.Now, MinBackoff: time.Second, MaxBackoff: 4 * time.Second})

	_, err := s.Token()
	require.ErrorIs(t, err, boom)
	_, err = s.Token()
	require.ErrorIs(t, err, boom, "during backoff the last error is returned")
	assert.EqualValues(t, 1, up.calls.Load(), "no upstream call during backoff")

	clk.Add(1100 * time.Millisecond)
	_, err = s.Token()
	require.ErrorIs(t, err, boom)
	assert.EqualValues(t, 2, up.calls.Load())

	clk.Add(1100 * time.Millisecond) // second backoff is 2s
	_, err = s.Token()
	require.ErrorIs(t, err, boom)
	assert.EqualValues(t, 2, up.calls.Load())

	up.setErr(nil)
	clk.Add(time.Second)
	tok, err := s.Token()
	require.NoError(t, err)
	assert.Equal(t, "tok3", tok.AccessToken)
}

func TestFailedBackgroundRefreshKeepsServingValidToken(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk}
	s := New(up.fetch, Options{Now: clk.Now})
	first, err := s.Token()
	require.NoError(t, err)
	up.setErr(errors.New("down"))
	clk.Add(58 * time.Minute)
	for range 10 {
		tok, err := s.Token()
		require.NoError(t, err)
		assert.Same(t, first, tok)
	}
	require.Eventually(t, func() bool { return up.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	_, _ = s.Token()
	assert.EqualValues(t, 2, up.calls.Load(), "backoff also applies to background refreshes")
}

func TestCallerContextCancelDoesNotCancelSharedRefresh(t *testing.T) {
	t.Parallel()
	clk := newClock()
	up := &upstream{clk: clk, gate: make(chan struct{})}
	s := New(up.fetch, Options{Now: clk.Now})

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.TokenContext(ctx); errc <- err }()
	require.Eventually(t, func() bool { return up.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	done := make(chan struct{})
	var tok *oauth2.Token
	go func() { defer close(done); tok, err := s.Token(); _ = err; _ = tok }()
	close(up.gate)
	<-done
	tok, err := s.Token()
	require.NoError(t, err)
	assert.Equal(t, "tok1", tok.AccessToken, "the refresh started by the cancelled caller completed")
	assert.EqualValues(t, 1, up.calls.Load())
}

func TestExpiredOnArrivalAndEmpty(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := New(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "x", Expiry: clk.Now().Add(5 * time.Second)}, nil
	}, Options{Now: clk.Now})
	_, err := s.Token()
	require.ErrorIs(t, err, ErrExpiredOnArrival)

	s = New(func(context.Context) (*oauth2.Token, error) { return nil, nil }, Options{Now: clk.Now})
	_, err = s.Token()
	require.ErrorContains(t, err, "empty token")
}

func TestShortLivedTokenEarlyWindowCapped(t *testing.T) {
	t.Parallel()
	clk := newClock()
	var calls atomic.Int32
	s := New(func(context.Context) (*oauth2.Token, error) {
		calls.Add(1)
		return &oauth2.Token{AccessToken: "x", Expiry: clk.Now().Add(2*time.Minute + 10*time.Second)}, nil
	}, Options{Now: clk.Now})
	_, err := s.Token()
	require.NoError(t, err)
	clk.Add(30 * time.Second) // the 5 min window would already cover this
	_, err = s.Token()
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)
	assert.EqualValues(t, 1, calls.Load(), "window capped at half the lifetime")
}

func TestFromIDToken(t *testing.T) {
	t.Parallel()
	// {"alg":"none"}.{"exp":1700000000}.
	raw := "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9."
	tok, err := FromIDToken(raw)
	require.NoError(t, err)
	assert.Equal(t, raw, tok.AccessToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, raw, tok.Extra("id_token"))
	assert.Equal(t, int64(1700000000), tok.Expiry.Unix())

	_, err = FromIDToken("eyJhbGciOiJub25lIn0.e30.")
	require.ErrorContains(t, err, "no exp")
}

func BenchmarkCachedToken(b *testing.B) {
	s := New(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(time.Hour)}, nil
	}, Options{})
	if _, err := s.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Token(); err != nil {
			b.Fatal(err)
		}
	}
}
