// Package signin gets a person's own Google ID token from a command-line
// or desktop program: the OAuth 2.0 authorization code flow for installed
// apps that IAP's programmatic-access documentation describes for desktop
// clients, with a loopback redirect and PKCE, then refreshed with the
// refresh token.
//
// # Sign-in
//
// [NewTokenSource] uses the refresh token in Config.Store. When there is
// none, it signs the person in first:
//
//  1. it listens on 127.0.0.1 (Config.Port; 0 picks a free port),
//  2. opens the browser (Config.OpenBrowser; default xdg-open, open or
//     rundll32) at Google's authorization endpoint with client_id,
//     redirect_uri=http://127.0.0.1:PORT/, response_type=code, the scopes
//     (default "openid email"), access_type=offline, a random state and a
//     PKCE S256 code_challenge, and prints that URL to Config.Out in case
//     no browser opens,
//  3. waits (bounded by the constructor's ctx) for the browser to come
//     back to the loopback address, checks state (a mismatch abandons the
//     sign-in), and
//  4. exchanges the code with the code_verifier at the token endpoint.
//
// The returned source is cached: its Token is the ID token (AccessToken
// and Extra("id_token")), TokenType "Bearer", Expiry the token's exp. The
// token's audience is Config.ClientID; IAP accepts it when that OAuth
// client is allowlisted for programmatic access to the application.
// Refreshes use the refresh_token grant and take the reply's id_token.
// [NewAccessTokenSource] gives the access tokens instead (ask for the
// cloud-platform scope to use them as the base of package impersonate).
//
// # Refresh tokens are never lost
//
// [FileStore] keeps the refresh token in a 0600 file, written atomically
// (temporary file in the same directory, then rename). The store is
// written only after a successful sign-in or when the server rotates the
// refresh token, never after a failure: a failed refresh (network, 5xx,
// garbage reply) leaves the file byte for byte as it was. Even an
// invalid_grant reply (token revoked or expired) does not delete it: the
// error wraps [ErrReauthRequired], and the program decides to sign in
// again with Config.ForceSignIn, which replaces the token on success
// only.
//
// # authorized_user credentials
//
// [FromAuthorizedUser] does the refresh half alone, from the
// authorized_user JSON that `gcloud auth application-default login`
// writes. Its ID tokens' audience is that file's client_id (gcloud's own
// client), not a URL of your choosing: for a Cloud Run service, use the
// same file with impersonate.AuthorizedUserBase as the base of package
// impersonate, whose generateIdToken mints a service account's ID token
// for any audience.
//
// HTTP failures are [*HTTPError] values; local failures wrap the
// sentinels. Error texts never contain a code, token, refresh token or
// client secret.
package signin
