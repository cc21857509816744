package idtokentest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// Server is an Emulator listening on a loopback address.
type Server struct {
	*Emulator
	srv *httptest.Server
}

// NewServer starts an emulator for the test and stops it at the end of
// the test. At most one Options may be given.
func NewServer(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	s, err := Start(pick(opts))
	if err != nil {
		tb.Fatalf("idtokentest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func pick(opts []Options) Options {
	if len(opts) > 1 {
		panic("idtokentest: at most one Options")
	}
	if len(opts) == 1 {
		return opts[0]
	}
	return Options{}
}

// Start starts an emulator on a loopback port for a program (not a test).
// Call Close when done.
func Start(opts Options) (*Server, error) {
	e := New(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("idtokentest: listen on loopback: %w", err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: e}}
	srv.Start()
	e.SetBaseURL(srv.URL)
	return &Server{Emulator: e, srv: srv}, nil
}

// Close shuts the server down, closing client connections.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// GoogleHosts are the hosts whose requests Server.Transport sends to the
// emulator.
var googleHosts = map[string]bool{
	"oauth2.googleapis.com":         true,
	"www.googleapis.com":            true,
	"iamcredentials.googleapis.com": true,
	"sts.googleapis.com":            true,
	"www.gstatic.com":               true,
	"accounts.google.com":           true,
	"metadata.google.internal":      true,
	"169.254.169.254":               true,
}

// IsGoogleHost reports whether Server.Transport redirects requests for
// host (without port) to the emulator.
func IsGoogleHost(host string) bool { return googleHosts[host] }

// Transport returns a RoundTripper that sends requests for Google's hosts
// (oauth2.googleapis.com, www.googleapis.com, iamcredentials, sts,
// www.gstatic.com, accounts.google.com, the metadata server) to the
// emulator, over plain HTTP, and every other request to base (nil:
// http.DefaultTransport).
func (s *Server) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		panic(fmt.Sprintf("idtokentest: bad server URL: %v", err))
	}
	return &redirect{target: u, base: base}
}

// Client returns an http.Client using Transport(nil).
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.Transport(nil)} }

type redirect struct {
	target *url.URL
	base   http.RoundTripper
}

func (t *redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Hostname()
	if h, _, err := net.SplitHostPort(r.URL.Host); err == nil {
		host = h
	}
	if !googleHosts[host] {
		return t.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = t.target.Scheme
	r2.URL.Host = t.target.Host
	r2.Host = t.target.Host
	return t.base.RoundTrip(r2)
}
