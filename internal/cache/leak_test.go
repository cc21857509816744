package cache

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

// These tests do not call t.Parallel: goleak.VerifyNone inspects every
// goroutine of the process, and the sequential phase of a test binary runs
// before any parallel test body.

// A background refresh is the only goroutine a Source ever starts, and it
// ends when the fetch returns: once the token is in, nothing is left
// running, and dropping the Source needs no Close.
func TestNoGoroutineOutlivesRefresh(t *testing.T) {
	before := goleak.IgnoreCurrent()
	defer goleak.VerifyNone(t, before)
	clk := newClock()
	gate := make(chan struct{})
	u := &upstream{clk: clk}
	s := New(func(ctx context.Context) (*oauth2.Token, error) {
		if u.calls.Load() > 0 { // the first fetch is immediate
			<-gate
		}
		return u.fetch(ctx)
	}, Options{Now: clk.Now, EarlyRefresh: 10 * time.Minute})
	_, err := s.Token()
	require.NoError(t, err)

	clk.Add(55 * time.Minute) // inside the early window: background refresh
	_, err = s.Token()
	require.NoError(t, err)
	// The check can fail: while the refresh is held, its goroutine shows.
	require.True(t, refreshRunning(), "refresh goroutine should be running")
	close(gate)
	waitIdle(t, s)
	// VerifyNone (deferred) retries until the goroutine has returned.
}

// A fetch that hangs is cut off by RefreshTimeout, even after every caller
// has given up: the refresh goroutine cannot outlive it (given a fetch
// that honours its ctx, as every fetch in this module does through httpx).
func TestHungFetchBoundedByRefreshTimeout(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ended := make(chan error, 1)
	s := New(func(ctx context.Context) (*oauth2.Token, error) {
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}, Options{RefreshTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err := s.TokenContext(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the caller gives up at its own deadline")
	require.ErrorIs(t, <-ended, context.DeadlineExceeded, "the shared refresh is cut off by RefreshTimeout")
	waitIdle(t, s)
}

// refreshRunning reports whether a refresh goroutine exists.
func refreshRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "cache.(*Source).start.func1")
}

// waitIdle waits until no refresh is in flight.
func waitIdle(t *testing.T, s *Source) {
	t.Helper()
	for range 2000 {
		s.mu.Lock()
		busy := s.inflight != nil
		s.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("refresh still in flight")
}
