package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/credentials"
)

// ErrInsecure is returned for a call on a connection without transport
// security when that is not allowed.
var ErrInsecure = errors.New("grpcauth: refusing to send an ID token over a connection without transport security")

// Options tunes the credentials. The zero value requires transport
// security.
type Options struct {
	// AllowInsecureLoopback lets tokens go over plaintext connections to
	// loopback addresses (127.0.0.0/8, ::1, localhost), for tests. Calls
	// to other hosts without TLS still fail with ErrInsecure.
	AllowInsecureLoopback bool
}

// PerRPCCredentials implements credentials.PerRPCCredentials with an
// oauth2.TokenSource of ID tokens.
type PerRPCCredentials struct {
	src  oauth2.TokenSource
	opts Options
}

var _ credentials.PerRPCCredentials = (*PerRPCCredentials)(nil)

// New returns credentials that attach src's tokens to each call. src
// should be cached (every source of this module is). It panics if src is
// nil.
func New(src oauth2.TokenSource, opts Options) *PerRPCCredentials {
	if src == nil {
		panic("grpcauth: New called with a nil token source")
	}
	return &PerRPCCredentials{src: src, opts: opts}
}

type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// GetRequestMetadata returns the authorization header for one call.
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
		if !c.opts.AllowInsecureLoopback {
			return nil, fmt.Errorf("%w: %v", ErrInsecure, err)
		}
		if host := authorityHost(uri); !isLoopback(host) {
			return nil, fmt.Errorf("%w (%q is not a loopback address)", ErrInsecure, host)
		}
	}
	var tok *oauth2.Token
	var err error
	if cs, ok := c.src.(contextTokenSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		tok, err = c.src.Token()
	}
	if err != nil {
		return nil, fmt.Errorf("grpcauth: getting token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("grpcauth: token source returned an empty token")
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity reports whether gRPC must refuse to use these
// credentials on an insecure connection: true unless
// Options.AllowInsecureLoopback is set (GetRequestMetadata then checks the
// address itself).
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return !c.opts.AllowInsecureLoopback }

// authorityHost extracts the host from the URI gRPC passes
// ("https://authority/service").
func authorityHost(uri []string) string {
	if len(uri) == 0 {
		return ""
	}
	u, err := url.Parse(uri[0])
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
