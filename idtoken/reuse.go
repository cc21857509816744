package idtoken

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/jwt"
)

// ContextTokenSource is an oauth2.TokenSource whose callers can bound the
// wait for a token with a context. Every source this module returns
// implements it; [Transport] and the grpcauth package use TokenContext
// with the request's context when the source has it.
type ContextTokenSource interface {
	oauth2.TokenSource
	// TokenContext is Token with a context: ctx bounds how long this
	// caller waits (a refresh in progress goes on for other callers) and
	// its values reach the underlying fetch.
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// ReuseOptions tunes ReuseTokenSource. The zero value is the defaults.
type ReuseOptions struct {
	// EarlyRefresh is how long before expiry one background refresh
	// starts while callers keep receiving the still-valid token. 0 means
	// 5 minutes; negative disables early refresh. It is capped at half of
	// a token's remaining lifetime.
	EarlyRefresh time.Duration
	// ExpiryDelta is how long before expiry a token stops being handed
	// out, so it does not expire in flight. 0 means 10 s.
	ExpiryDelta time.Duration
	// MinBackoff and MaxBackoff bound the wait after failed refreshes
	// (0: 1 s and 1 min). During the backoff, callers that need a new
	// token get the last error at once instead of hammering the upstream.
	MinBackoff, MaxBackoff time.Duration
	// RefreshTimeout bounds one refresh (0: 2 min). Refreshes run detached
	// from any one caller's cancellation.
	RefreshTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ReuseTokenSource wraps any token source in this module's cache:
// singleflight refresh (one upstream call however many callers), an early
// refresh window in which callers get the cached token while one
// background refresh runs, a blocking refresh only once the token is no
// longer valid, and exponential backoff after failures. No lock is held
// while src is called.
//
// When a token's AccessToken is a JWT with an exp claim (an ID token from
// a source of your own: a file, a sidecar, a test), the returned token is
// the normalised ID token form used throughout this module: AccessToken
// and Extra("id_token") the raw JWT, TokenType "Bearer", Expiry its exp
// claim. Any other token (an opaque access token) passes through
// unchanged, cached by its own Expiry (none: cached forever).
//
// If src implements [ContextTokenSource], the caller's context values
// reach it. The result always implements ContextTokenSource. src must
// not be nil.
func ReuseTokenSource(src oauth2.TokenSource, opts ReuseOptions) ContextTokenSource {
	if src == nil {
		panic("idtoken: ReuseTokenSource called with a nil source")
	}
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		var tok *oauth2.Token
		var err error
		if cs, ok := src.(ContextTokenSource); ok {
			tok, err = cs.TokenContext(ctx)
		} else {
			tok, err = src.Token()
		}
		if err != nil {
			return nil, err
		}
		if tok == nil || tok.AccessToken == "" {
			return nil, ErrEmptyToken
		}
		return normalise(tok), nil
	}
	return cache.New(fetch, cache.Options{
		EarlyRefresh:   opts.EarlyRefresh,
		ExpiryDelta:    opts.ExpiryDelta,
		MinBackoff:     opts.MinBackoff,
		MaxBackoff:     opts.MaxBackoff,
		RefreshTimeout: opts.RefreshTimeout,
		Now:            opts.Now,
	})
}

// ErrEmptyToken is returned by a ReuseTokenSource whose source returned a
// nil token or an empty AccessToken without an error.
var ErrEmptyToken = errors.New("idtoken: source returned an empty token")

// normalise turns a token whose AccessToken is a JWT with a readable exp
// into the ID token form; any other token passes through unchanged.
func normalise(tok *oauth2.Token) *oauth2.Token {
	if _, err := jwt.Split(tok.AccessToken); err != nil {
		return tok // not a JWT: an opaque access token
	}
	id, err := cache.FromIDToken(tok.AccessToken)
	if err != nil {
		// JWT-shaped but not an ID token we can read (no exp, payload not
		// a JSON object): keep it, with the source's own expiry.
		return tok
	}
	return id
}
