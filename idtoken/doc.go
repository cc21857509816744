// Package idtoken is the front door of this module: it finds credentials
// the way Google's client libraries find Application Default Credentials
// and returns a cached source of Google-signed ID tokens for an audience,
// an *http.Client that sends them, and the pieces to build your own.
//
//	client, err := idtoken.NewClient(ctx, "https://hello-abc123-uc.a.run.app", idtoken.Options{})
//	resp, err := client.Get("https://hello-abc123-uc.a.run.app/")
//
// # Detection order
//
// [Detect] (and NewTokenSource, NewClient) try, in order, stopping at the
// first that applies:
//
//  1. Options.CredentialsJSON / Options.CredentialsFile, when set (nothing
//     else is tried then);
//  2. the file named by GOOGLE_APPLICATION_CREDENTIALS;
//  3. gcloud's well-known ADC file ($CLOUDSDK_CONFIG, else
//     ~/.config/gcloud, or %APPDATA%\gcloud on Windows, +
//     /application_default_credentials.json);
//  4. the metadata server (GCE, GKE, Cloud Run, Cloud Functions, App
//     Engine flex), when detected;
//  5. the gcloud CLI, only if Options.UseGcloud opts in.
//
// A credentials file is used according to its "type":
//
//	service_account              jwt-bearer with target_audience (package keyfile)
//	impersonated_service_account source_credentials → IAM generateIdToken for the
//	                             account in service_account_impersonation_url
//	external_account             Workload Identity Federation (package federation)
//	authorized_user              user refresh token → IAM generateIdToken for
//	                             Options.ImpersonateServiceAccount (required)
//
// With Options.ImpersonateServiceAccount, whatever was found (a key, user
// credentials, a federated identity, the metadata server's attached
// account, gcloud) becomes the caller of IAM generateIdToken for that
// account: the usual way to get a token as a dedicated "invoker" account.
//
// Steps that do not apply are skipped; if none applies, the error is a
// [*NoCredentialsError] that lists each step and why it did not apply. A
// credential that applies but is broken (unreadable, malformed) is an
// error at once: detection never silently falls through to another
// identity. Options.Method forces one method.
//
// Every environment read goes through Options.Getenv and Options.HomeDir,
// so tests can run detection in parallel with injected values.
//
// # Tokens
//
// The returned sources are cached (singleflight refresh, early refresh
// window, backoff after failures) and implement [ContextTokenSource]. A
// token's AccessToken and Extra("id_token") are the raw ID token,
// TokenType is "Bearer" and Expiry is the token's exp claim.
// [ReuseTokenSource] puts the same cache in front of any source of yours.
//
// # HTTP and gRPC
//
// [Transport] adds the token to each request (cloning it; the caller's
// request is never modified) and refuses plain http to hosts other than
// loopback. For gRPC, package grpcauth turns any source into
// PerRPCCredentials; it lives apart so that users of this package do not
// compile gRPC.
//
// Nothing else in this module imports this package: each method's package
// (keyfile, metadata, impersonate, federation, gcloud) can be used on its
// own with its full configuration.
package idtoken
