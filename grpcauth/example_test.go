package grpcauth_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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

// A health check against a server that verifies ID tokens. Against a real
// service, use grpc.WithTransportCredentials(credentials.NewTLS(nil)) and
// the zero Options: plaintext is allowed here only because the server is
// on loopback.
func ExampleNew() {
	const audience = "https://greeter-abc123-uc.a.run.app"
	emu, _ := idtokentest.Start(idtokentest.Options{})
	defer emu.Close()

	// The server: health service behind a token check.
	v, _ := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{audience}, KeysURL: emu.CertsURL()})
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if vals := md.Get("authorization"); len(vals) == 1 {
			if c, err := v.Verify(ctx, strings.TrimPrefix(vals[0], "Bearer ")); err == nil {
				fmt.Println("server: call from", c.Email)
				return next(ctx, req)
			}
		}
		return nil, status.Error(codes.Unauthenticated, "no valid token")
	}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = gs.Serve(l) }()
	defer gs.Stop()

	// The client: any token source of this module.
	ts, _ := keyfile.NewTokenSource(context.Background(), keyfile.Config{
		Audience: audience, CredentialsJSON: emu.NewServiceAccount("client").KeyJSON(),
	})
	conn, err := grpc.NewClient(l.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcauth.New(ts, grpcauth.Options{AllowInsecureLoopback: true})))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client:", resp.GetStatus())
	// Output:
	// server: call from client@idtokens-emulator.iam.gserviceaccount.com
	// client: SERVING
}
