// Package cache is the token cache every acquisition source is wrapped in.
//
// Hot path: one atomic load and a clock read, no lock, no allocation.
// Refresh: singleflight (one upstream call however many callers), started
// in the background while the cached token is still valid but inside the
// early-refresh window, and blocking only once the token is no longer
// valid. A failed refresh backs off exponentially; callers that need a
// token during the backoff get the last error at once instead of
// hammering the endpoint. No lock is held across I/O.
//
// # Goroutines and why there is no Close
//
// A Source owns no long-lived goroutine, timer or ticker. The only
// goroutine it starts is one refresh, and only while that refresh is in
// flight: it ends as soon as the fetch returns, and the fetch runs under a
// context bounded by RefreshTimeout (detached from the caller's
// cancellation, so one impatient caller cannot fail the refresh for the
// others). Every fetch in this module honours its ctx through httpx, so
// no refresh outlives RefreshTimeout even when every caller has given up
// and the endpoint hangs. An idle Source is plain memory: dropping the
// last reference lets the garbage collector reclaim it, so there is
// nothing to Close, and the sources returned by the acquisition packages
// can be created and discarded freely. (A custom Fetch that ignores ctx
// would break this bound; do not write one.)
package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/jwt"
)

// Defaults for Options.
const (
	DefaultEarlyRefresh   = 5 * time.Minute
	DefaultExpiryDelta    = 10 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultRefreshTimeout = 2 * time.Minute
)

// ErrExpiredOnArrival is returned when the upstream hands over a token
// that is already (or within the expiry delta of being) expired: usually
// a skewed clock on one side.
var ErrExpiredOnArrival = errors.New("upstream returned a token that is already expired (clock skew?)")

// Fetch obtains a fresh token. ctx carries the values of the caller that
// triggered the refresh but not its cancellation: the refresh is shared.
type Fetch func(ctx context.Context) (*oauth2.Token, error)

// Options tunes a Source. The zero value is the defaults.
type Options struct {
	// EarlyRefresh is how long before expiry a background refresh starts
	// while callers keep receiving the cached token. 0 means
	// DefaultEarlyRefresh; negative disables early refresh. It is capped
	// at half the token's remaining lifetime when it was fetched.
	EarlyRefresh time.Duration
	// ExpiryDelta is how long before Expiry a token stops being handed
	// out, so that it does not expire in flight. 0 means DefaultExpiryDelta.
	ExpiryDelta time.Duration
	// MinBackoff and MaxBackoff bound the wait after failed refreshes.
	MinBackoff, MaxBackoff time.Duration
	// RefreshTimeout bounds one refresh, which runs detached from the
	// caller's cancellation. 0 means DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.EarlyRefresh == 0 {
		o.EarlyRefresh = DefaultEarlyRefresh
	}
	if o.EarlyRefresh < 0 {
		o.EarlyRefresh = 0
	}
	if o.ExpiryDelta <= 0 {
		o.ExpiryDelta = DefaultExpiryDelta
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Source is a cached, concurrency-safe token source.
type Source struct {
	fetch Fetch
	opt   Options

	cur atomic.Pointer[entry]
	// busy is true while a refresh runs or a backoff is pending (retryAt
	// in the future): callers inside the early-refresh window then skip
	// the lock entirely.
	busy      atomic.Bool
	retryAtNs atomic.Int64

	mu       sync.Mutex
	inflight *call
	failures int
	retryAt  time.Time
	lastErr  error
}

type entry struct {
	tok       *oauth2.Token
	refreshAt time.Time // from here on, refresh in the background
	invalidAt time.Time // from here on, the token is not handed out
}

type call struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// New returns a Source that calls fetch when it needs a token.
func New(fetch Fetch, o Options) *Source {
	return &Source{fetch: fetch, opt: o.withDefaults()}
}

// Token returns a valid token, refreshing it if needed.
func (s *Source) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext is Token with a context: ctx bounds how long this caller
// waits for a refresh (the refresh itself goes on for other callers) and
// its values reach the fetch function.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	now := s.opt.Now()
	if e := s.cur.Load(); e != nil && now.Before(e.invalidAt) {
		if !now.Before(e.refreshAt) {
			s.refreshInBackground(ctx, now)
		}
		return e.tok, nil
	}
	return s.refreshBlocking(ctx, now)
}

func (s *Source) refreshInBackground(ctx context.Context, now time.Time) {
	if s.busy.Load() || now.UnixNano() < s.retryAtNs.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil || now.Before(s.retryAt) {
		return
	}
	if e := s.cur.Load(); e != nil && now.Before(e.refreshAt) {
		return // another caller refreshed meanwhile
	}
	s.inflight = s.start(ctx)
}

func (s *Source) refreshBlocking(ctx context.Context, now time.Time) (*oauth2.Token, error) {
	s.mu.Lock()
	if e := s.cur.Load(); e != nil && now.Before(e.invalidAt) {
		s.mu.Unlock()
		return e.tok, nil
	}
	c := s.inflight
	if c == nil {
		if now.Before(s.retryAt) {
			err := s.lastErr
			wait := s.retryAt.Sub(now)
			s.mu.Unlock()
			return nil, fmt.Errorf("%w (last refresh failed; next attempt in %s)", err, wait.Round(time.Millisecond))
		}
		c = s.start(ctx)
		s.inflight = c
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start launches one refresh. Called with s.mu held; the goroutine takes
// the lock only after fetch returns.
func (s *Source) start(ctx context.Context) *call {
	c := &call{done: make(chan struct{})}
	s.busy.Store(true)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.RefreshTimeout)
	go func() {
		defer cancel()
		tok, err := s.fetch(rctx)
		now := s.opt.Now()
		var e *entry
		if err == nil {
			e, err = s.newEntry(tok, now)
		}
		s.mu.Lock()
		if err == nil {
			s.cur.Store(e)
			s.failures = 0
			s.retryAt = time.Time{}
			s.lastErr = nil
			c.tok = e.tok
		} else {
			s.failures++
			s.retryAt = now.Add(s.backoff())
			s.lastErr = err
			c.err = err
		}
		var retryNs int64 // zero retryAt: 0, i.e. long past
		if !s.retryAt.IsZero() {
			retryNs = s.retryAt.UnixNano()
		}
		s.retryAtNs.Store(retryNs)
		s.inflight = nil
		s.busy.Store(false)
		s.mu.Unlock()
		close(c.done)
	}()
	return c
}

func (s *Source) newEntry(tok *oauth2.Token, now time.Time) (*entry, error) {
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("upstream returned an empty token")
	}
	if tok.Expiry.IsZero() {
		far := now.Add(100 * 365 * 24 * time.Hour)
		return &entry{tok: tok, refreshAt: far, invalidAt: far}, nil
	}
	invalidAt := tok.Expiry.Add(-s.opt.ExpiryDelta)
	if !now.Before(invalidAt) {
		return nil, ErrExpiredOnArrival
	}
	early := s.opt.EarlyRefresh
	if half := invalidAt.Sub(now) / 2; early > half {
		early = half
	}
	return &entry{tok: tok, refreshAt: invalidAt.Add(-early), invalidAt: invalidAt}, nil
}

func (s *Source) backoff() time.Duration {
	d := s.opt.MinBackoff
	for i := 1; i < s.failures && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opt.MaxBackoff)
}

// FromIDToken wraps a raw ID token as an *oauth2.Token: AccessToken is the
// token, TokenType "Bearer", Expiry its exp claim, and Extra("id_token")
// the token again. It fails when the token has no exp.
func FromIDToken(raw string) (*oauth2.Token, error) {
	c, err := jwt.UnverifiedClaims(raw)
	if err != nil {
		return nil, fmt.Errorf("reading ID token: %w", err)
	}
	t := &oauth2.Token{AccessToken: raw, TokenType: "Bearer", Expiry: c.Expiry}
	return t.WithExtra(map[string]any{"id_token": raw}), nil
}
