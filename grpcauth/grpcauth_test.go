package grpcauth_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idtokens/idtokens/grpcauth"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/verify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const aud = "https://greeter-abc123-uc.a.run.app"

// server is a real gRPC server on 127.0.0.1 serving the health service
// behind an interceptor that verifies the caller's ID token with package
// verify.
type server struct {
	addr string
	mu   sync.Mutex
	seen []string // emails of verified callers
}

func startServer(t *testing.T, emu *idtokentest.Server) *server {
	t.Helper()
	v, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{aud}, KeysURL: emu.CertsURL()})
	require.NoError(t, err)
	s := &server{}
	interceptor := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		auth := md.Get("authorization")
		if len(auth) != 1 {
			return nil, status.Error(codes.Unauthenticated, "no token")
		}
		raw, ok := strings.CutPrefix(auth[0], "Bearer ")
		if !ok {
			return nil, status.Error(codes.Unauthenticated, "not a bearer token")
		}
		c, err := v.Verify(ctx, raw)
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		s.mu.Lock()
		s.seen = append(s.seen, c.Email)
		s.mu.Unlock()
		return next(ctx, req)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(interceptor))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	s.addr = l.Addr().String()
	return s
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func keySource(t *testing.T, emu *idtokentest.Server, name, audience string) oauth2.TokenSource {
	t.Helper()
	sa := emu.NewServiceAccount(name)
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: audience, CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	return ts
}

func TestHealthCheckWithIDToken(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	srv := startServer(t, emu)
	ts := keySource(t, emu, "grpc-caller", aud)

	hc := dial(t, srv.addr, grpc.WithPerRPCCredentials(grpcauth.New(ts, grpcauth.Options{AllowInsecureLoopback: true})))
	for range 3 {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	}
	srv.mu.Lock()
	assert.Equal(t, []string{
		"grpc-caller@idtokens-emulator.iam.gserviceaccount.com",
		"grpc-caller@idtokens-emulator.iam.gserviceaccount.com",
		"grpc-caller@idtokens-emulator.iam.gserviceaccount.com",
	}, srv.seen)
	srv.mu.Unlock()
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken), "one token for three calls")
}

func TestServerRejectsMissingOrWrongToken(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	srv := startServer(t, emu)

	_, err := dial(t, srv.addr).Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "no credentials")

	wrong := keySource(t, emu, "wrong-aud", "https://other.example")
	_, err = dial(t, srv.addr, grpc.WithPerRPCCredentials(grpcauth.New(wrong, grpcauth.Options{AllowInsecureLoopback: true}))).
		Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "wrong audience")
}

// By default the credentials refuse a plaintext connection, even to
// loopback; with AllowInsecureLoopback they still refuse a non-loopback
// authority.
func TestTransportSecurityRequired(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	srv := startServer(t, emu)
	ts := keySource(t, emu, "secure", aud)

	strict := grpcauth.New(ts, grpcauth.Options{})
	assert.True(t, strict.RequireTransportSecurity())
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(strict))
	if err == nil {
		_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		_ = conn.Close()
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "transport")

	loose := grpcauth.New(ts, grpcauth.Options{AllowInsecureLoopback: true})
	assert.False(t, loose.RequireTransportSecurity())
	_, err = dial(t, srv.addr, grpc.WithPerRPCCredentials(loose), grpc.WithAuthority("greeter.example.com")).
		Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `refusing to send an ID token over a connection without transport security ("greeter.example.com" is not a loopback address)`)
	srv.mu.Lock()
	assert.Empty(t, srv.seen, "no token reached the server")
	srv.mu.Unlock()
}

type ctxKey struct{}

type ctxSource struct{ got chan any }

func (s ctxSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }
func (s ctxSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.got <- ctx.Value(ctxKey{})
	return &oauth2.Token{AccessToken: "id-token"}, nil
}

// On a TLS connection (PrivacyAndIntegrity) the header is set, with a
// token fetched using the call's context.
func TestGetRequestMetadataOverTLS(t *testing.T) {
	t.Parallel()
	src := ctxSource{got: make(chan any, 1)}
	c := grpcauth.New(src, grpcauth.Options{})
	ctx := context.WithValue(context.Background(), ctxKey{}, "call-1")
	tlsCtx := credentials.NewContextWithRequestInfo(ctx, credentials.RequestInfo{
		AuthInfo: credentials.TLSInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}},
	})
	md, err := c.GetRequestMetadata(tlsCtx, "https://greeter.example.com/grpc.health.v1.Health")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"authorization": "Bearer id-token"}, md)
	assert.Equal(t, "call-1", <-src.got)

	// No request info at all (called outside gRPC): refused.
	_, err = c.GetRequestMetadata(ctx, "https://greeter.example.com/x")
	assert.ErrorIs(t, err, grpcauth.ErrInsecure)
}
