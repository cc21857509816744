// Command grpc-client calls the standard gRPC health service of a server
// that checks Google ID tokens (e.g. a gRPC service on Cloud Run), with
// credentials found by idtoken.NewTokenSource and sent by package
// grpcauth over TLS.
//
//	go run ./examples/grpc-client -addr my-grpc-service-abc123-uc.a.run.app:443
//	go run ./examples/grpc-client -addr ... -audience https://my-grpc-service-abc123-uc.a.run.app
//	go run ./examples/grpc-client -emulate   # offline: emulator + an in-process server on 127.0.0.1
//
// The audience defaults to https://HOST (what Cloud Run expects). The
// caller needs roles/run.invoker on the service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idtokens/idtokens/grpcauth"
	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "grpc-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("grpc-client", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "", "server host:port (required unless -emulate)")
	audience := fs.String("audience", "", "token audience (default https://HOST)")
	service := fs.String("service", "", "health service name to check (\"\" = the whole server)")
	impersonate := fs.String("impersonate", "", "service account to impersonate (required with user credentials)")
	useGcloud := fs.Bool("gcloud", false, "allow the gcloud CLI as the last resort")
	emulate := fs.Bool("emulate", false, "run offline against idtokentest and an in-process server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := idtoken.Options{ImpersonateServiceAccount: *impersonate, UseGcloud: *useGcloud}
	transport := credentials.NewTLS(nil) // system roots
	loopback := false

	if *emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		*audience = "https://greeter-abc123-uc.a.run.app"
		srvAddr, stop, err := startServer(emu, *audience)
		if err != nil {
			return err
		}
		defer stop()
		*addr = srvAddr
		opts.CredentialsJSON = emu.NewServiceAccount("grpc-caller").KeyJSON()
		// Plaintext is acceptable only because the server is on loopback.
		transport, loopback = insecure.NewCredentials(), true
	}
	if *addr == "" {
		return errors.New("-addr is required (or try -emulate)")
	}
	if *audience == "" {
		host, _, err := net.SplitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("-addr %q is not host:port", *addr)
		}
		*audience = "https://" + host
	}

	ts, err := idtoken.NewTokenSource(ctx, *audience, opts)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(*addr,
		grpc.WithTransportCredentials(transport),
		grpc.WithPerRPCCredentials(grpcauth.New(ts, grpcauth.Options{AllowInsecureLoopback: loopback})))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	fmt.Fprintf(stdout, "health: %s\n", resp.GetStatus())
	return nil
}

// startServer runs a gRPC server on 127.0.0.1 with the health service
// behind an interceptor that accepts only ID tokens for audience, checked
// by package verify against the emulator's keys.
func startServer(emu *idtokentest.Server, audience string) (addr string, stop func(), err error) {
	v, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{audience}, KeysURL: emu.CertsURL()})
	if err != nil {
		return "", nil, err
	}
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		vals := md.Get("authorization")
		if len(vals) != 1 || !strings.HasPrefix(vals[0], "Bearer ") {
			return nil, status.Error(codes.Unauthenticated, "missing bearer token")
		}
		if _, err := v.Verify(ctx, strings.TrimPrefix(vals[0], "Bearer ")); err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		return next(ctx, req)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(auth))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(l) }()
	return l.Addr().String(), func() { gs.Stop(); <-done }, nil
}
