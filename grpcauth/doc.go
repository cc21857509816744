// Package grpcauth sends Google-signed ID tokens with gRPC calls: it turns
// any oauth2.TokenSource of this module (idtoken.NewTokenSource, keyfile,
// metadata, impersonate, federation, ...) into
// google.golang.org/grpc/credentials.PerRPCCredentials.
//
//	ts, err := idtoken.NewTokenSource(ctx, "https://my-grpc-service-abc-uc.a.run.app", idtoken.Options{})
//	conn, err := grpc.NewClient("my-grpc-service-abc-uc.a.run.app:443",
//		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
//		grpc.WithPerRPCCredentials(grpcauth.New(ts, grpcauth.Options{})))
//
// Each call carries "authorization: Bearer <ID token>", obtained with the
// call's context (a cancelled call stops waiting for a refresh). The
// credentials require transport security, so a token is never sent over
// a plaintext connection; Options.AllowInsecureLoopback relaxes this for
// tests against a server on a loopback address only.
//
// It is a package of its own so that programs that do not use gRPC do not
// compile it: nothing else in this module imports gRPC.
package grpcauth
