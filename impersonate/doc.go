// Package impersonate gets Google-signed ID tokens for a service account
// through the IAM Credentials API, authenticated by any credentials that
// yield OAuth 2.0 access tokens: another service account, the metadata
// server, a federated (Workload Identity Federation) token, or a
// developer's own user credentials. The caller (the "base" principal)
// needs the Service Account Token Creator role
// (roles/iam.serviceAccountTokenCreator) on the target account, or on
// the first account of a delegation chain.
//
// The base is any oauth2.TokenSource returning access tokens, never an
// already-authenticated http.Client: this package sets the Authorization
// header itself. If the base has a TokenContext(ctx) method (every source
// of this module has), the caller's context reaches it.
//
// # Two ways to an ID token
//
// [NewTokenSource] calls generateIdToken: one round trip, plus the
// base's. The token's sub and azp are the service account's unique ID;
// email and email_verified are present only with IncludeEmail. This is
// what Cloud Run and Cloud Functions accept, and what gcloud's
// --impersonate-service-account and Google's client libraries use.
//
// [NewKeylessTokenSource] has IAM signJwt sign a jwt-bearer assertion
// for the service account (iss = the account, aud = the token URL,
// target_audience = the audience, exp = iat + 1 h) and exchanges it at
// the token endpoint (https://oauth2.googleapis.com/token): two round
// trips, plus the base's. The result is exactly the token a key file of
// that account would give (the pattern of Google's IAP documentation for
// service accounts), with email always present, but no key ever exists.
// Prefer it where generateIdToken's output is not accepted: IAP
// programmatic access as a service account, and receivers configured for
// key-file tokens (email always present, issued by the token endpoint).
// It needs the iam.serviceAccounts.signJwt permission, also part of the
// Token Creator role.
//
// # User credentials
//
// [AuthorizedUserBase] turns an authorized_user file (what `gcloud auth
// application-default login` writes: client_id, client_secret,
// refresh_token, optional token_uri) into a source of the user's access
// tokens, using golang.org/x/oauth2's refresh-token grant. As the base
// of NewTokenSource or NewKeylessTokenSource it gives a developer ID
// tokens for ANY audience, as a service account they may impersonate.
// Google's Go library refuses authorized_user credentials for ID tokens
// (google-api-go-client issue #873) because the refresh-token grant can
// only return an ID token whose audience is the OAuth client ID (gcloud's
// own client, in the usual case), which Cloud Run, Cloud Functions and
// IAP reject. That plain grant's id_token has the user as sub/email and
// the OAuth client as aud; package signin builds that source for the
// receivers that accept it. This package only uses the grant's access
// token, and the ID token comes from IAM, for the audience you choose.
//
// # Results and errors
//
// Every source returned is cached: its Token is the ID token
// (AccessToken and Extra("id_token")), TokenType "Bearer", Expiry the
// token's exp claim; it also has TokenContext(ctx). HTTP failures are
// [*HTTPError] values: 403 PERMISSION_DENIED when the base lacks the
// Token Creator role, 404 NOT_FOUND for an unknown account, 401
// UNAUTHENTICATED for an invalid or expired base token; failures of the
// base wrap [ErrBase]; other local failures wrap the sentinels below.
// Error texts never contain a token, an assertion, a refresh token or a
// client secret.
package impersonate
