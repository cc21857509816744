package idtoken

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// ErrInsecureTransport is returned by Transport.RoundTrip, before anything
// is sent, for a plain-http request to a host that is not loopback: the ID
// token would cross the network in clear text and could be replayed
// against the audience. Set Transport.AllowInsecureHTTP (or
// Options.AllowInsecureHTTP) to send it anyway.
var ErrInsecureTransport = errors.New("idtoken: refusing to send an ID token over plain http to a non-loopback host")

// Transport is an http.RoundTripper that adds "Authorization: Bearer <ID
// token>" to every request and sends it with Base.
//
// It clones each request before setting the header, so the caller's
// request is never modified, and asks Source for the token with the
// request's context when Source implements [ContextTokenSource] (a
// cancelled request stops waiting for a token refresh).
//
// It refuses (with [ErrInsecureTransport]) requests over plain http to
// any host but localhost and loopback addresses unless AllowInsecureHTTP
// is set.
type Transport struct {
	// Source supplies the tokens; required. Use a cached source (every
	// source of this module is; wrap others with ReuseTokenSource).
	Source oauth2.TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// AllowInsecureHTTP permits plain http to non-loopback hosts.
	AllowInsecureHTTP bool
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	if t.Source == nil {
		closeBody()
		return nil, errors.New("idtoken: Transport.Source is nil")
	}
	if req.URL == nil {
		closeBody()
		return nil, errors.New("idtoken: request has no URL")
	}
	if !t.AllowInsecureHTTP && !strings.EqualFold(req.URL.Scheme, "https") && !isLoopback(req.URL.Hostname()) {
		closeBody()
		return nil, fmt.Errorf("%w (%s://%s)", ErrInsecureTransport, req.URL.Scheme, req.URL.Host)
	}
	tok, err := token(req.Context(), t.Source)
	if err != nil {
		closeBody()
		return nil, fmt.Errorf("idtoken: getting token: %w", err)
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	return t.base().RoundTrip(r2)
}

// CloseIdleConnections closes Base's idle connections when it can.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// token gets a token from src, with ctx when src supports it.
func token(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	if cs, ok := src.(ContextTokenSource); ok {
		return cs.TokenContext(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return src.Token()
}

// isLoopback reports whether host (no port) names this machine only:
// "localhost", a name under ".localhost" (RFC 6761), or a loopback IP.
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// NewClient returns an *http.Client whose requests carry an ID token for
// audience, from the credentials NewTokenSource finds with opts. Its
// transport is a [Transport] over opts.Base (nil: http.DefaultTransport),
// so plain http is refused except to loopback unless
// opts.AllowInsecureHTTP is set. opts.HTTPClient is used only to get
// tokens, never to call the audience.
func NewClient(ctx context.Context, audience string, opts Options) (*http.Client, error) {
	src, err := NewTokenSource(ctx, audience, opts)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &Transport{Source: src, Base: opts.Base, AllowInsecureHTTP: opts.AllowInsecureHTTP}}, nil
}
