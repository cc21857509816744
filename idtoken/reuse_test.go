package idtoken_test

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

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// clock is a manual clock for tests.

// funcSource is an oauth2.TokenSource (not a ContextTokenSource) that
// counts its calls.
type funcSource struct {
	n atomic.Int32
	f func() (*oauth2.Token, error)
}

func (s *funcSource) Token() (*oauth2.Token, error) { s.n.Add(1); return s.f() }

func TestReuseTokenSourceWrapsRawIDTokens(t *testing.T) {
	t.Parallel()
	clk := newClock()
	emu := idtokentest.New(idtokentest.Options{Now: clk.Now})
	src := &funcSource{f: func() (*oauth2.Token, error) {
		// A raw JWT with no Expiry of its own, as a file or sidecar would give.
		return &oauth2.Token{AccessToken: emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud, Email: "a@b"})}, nil
	}}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{Now: clk.Now, EarlyRefresh: 5 * time.Minute})

	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	assert.Equal(t, clk.Now().Add(time.Hour), tok.Expiry, "Expiry from exp")

	clk.Add(50 * time.Minute) // still valid, before the early-refresh window
	tok2, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok, tok2)
	assert.EqualValues(t, 1, src.n.Load())

	clk.Add(time.Hour) // expired: blocking refresh
	tok3, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, tok3.AccessToken)
	assert.EqualValues(t, 2, src.n.Load())
}

func TestReuseTokenSourcePassesOpaqueTokens(t *testing.T) {
	t.Parallel()
	clk := newClock()
	want := &oauth2.Token{AccessToken: "ya29.opaque", TokenType: "Bearer", Expiry: clk.Now().Add(time.Hour)}
	src := &funcSource{f: func() (*oauth2.Token, error) { return want, nil }}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{Now: clk.Now})
	for range 3 {
		tok, err := ts.Token()
		require.NoError(t, err)
		assert.Same(t, want, tok)
	}
	assert.EqualValues(t, 1, src.n.Load())

	// A JWT-shaped token without exp is not an ID token: passed through.
	noExp := &oauth2.Token{AccessToken: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", Expiry: clk.Now().Add(time.Hour)}
	ts = idtoken.ReuseTokenSource(&funcSource{f: func() (*oauth2.Token, error) { return noExp, nil }}, idtoken.ReuseOptions{Now: clk.Now})
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, noExp, tok)
}

func TestReuseTokenSourceBacksOff(t *testing.T) {
	t.Parallel()
	clk := newClock()
	boom := errors.New("upstream down")
	src := &funcSource{f: func() (*oauth2.Token, error) { return nil, boom }}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{Now: clk.Now, MinBackoff: time.Second, MaxBackoff: 4 * time.Second})

	_, err := ts.Token()
	require.ErrorIs(t, err, boom)
	_, err = ts.Token()
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "next attempt in 1s")
	assert.EqualValues(t, 1, src.n.Load(), "no call during the backoff")

	clk.Add(time.Second)
	_, err = ts.Token()
	require.ErrorIs(t, err, boom)
	assert.EqualValues(t, 2, src.n.Load())

	empty := idtoken.ReuseTokenSource(&funcSource{f: func() (*oauth2.Token, error) { return &oauth2.Token{}, nil }}, idtoken.ReuseOptions{})
	_, err = empty.Token()
	assert.ErrorIs(t, err, idtoken.ErrEmptyToken)
}

type ctxKey struct{}

// ctxSource is a ContextTokenSource that records the value under ctxKey.
type ctxSource struct {
	got chan any
	tok *oauth2.Token
}

func (s *ctxSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }
func (s *ctxSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.got <- ctx.Value(ctxKey{})
	return s.tok, nil
}

func TestReuseTokenSourcePassesContextValues(t *testing.T) {
	t.Parallel()
	src := &ctxSource{got: make(chan any, 1), tok: &oauth2.Token{AccessToken: "opaque"}}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{})
	_, err := ts.TokenContext(context.WithValue(context.Background(), ctxKey{}, "trace-1"))
	require.NoError(t, err)
	assert.Equal(t, "trace-1", <-src.got)
}

// Many concurrent callers of an expired source cause one upstream call.
func TestReuseTokenSourceSingleflight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	src := &funcSource{f: func() (*oauth2.Token, error) {
		<-release
		return &oauth2.Token{AccessToken: "opaque", Expiry: time.Now().Add(time.Hour)}, nil
	}}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := ts.Token()
			assert.NoError(t, err)
		})
	}
	close(release)
	wg.Wait()
	assert.EqualValues(t, 1, src.n.Load())
}

// Inside the early-refresh window callers keep getting the cached token
// at once while one background refresh runs.
func TestReuseTokenSourceEarlyRefresh(t *testing.T) {
	t.Parallel()
	clk := newClock()
	emu := idtokentest.New(idtokentest.Options{Now: clk.Now})
	fetched := make(chan struct{}, 4)
	src := &funcSource{f: func() (*oauth2.Token, error) {
		defer func() { fetched <- struct{}{} }()
		return &oauth2.Token{AccessToken: emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud})}, nil
	}}
	ts := idtoken.ReuseTokenSource(src, idtoken.ReuseOptions{Now: clk.Now, EarlyRefresh: 10 * time.Minute})
	first, err := ts.Token()
	require.NoError(t, err)
	<-fetched

	clk.Add(55 * time.Minute) // 5 min left: inside the 10 min window
	for range 5 {
		tok, err := ts.Token()
		require.NoError(t, err)
		assert.Same(t, first, tok, "the still-valid token is served without waiting")
	}
	<-fetched // exactly one background refresh
	require.Eventually(t, func() bool {
		tok, err := ts.Token()
		return err == nil && tok.AccessToken != first.AccessToken
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, src.n.Load())
}
