// Package gcloud gets tokens from the Google Cloud CLI installed on a
// developer's machine: the first method of every "how do I get an ID
// token" guide, `gcloud auth print-identity-token`, as an
// oauth2.TokenSource.
//
// [NewTokenSource] runs
//
//	gcloud auth print-identity-token --format=value(id_token)
//	    [--audiences=AUD] [--impersonate-service-account=D1,D2,TARGET]
//	    [--include-email] [--account=ACCOUNT]
//
// and returns a cached source whose Token is the ID token (AccessToken and
// Extra("id_token")), TokenType "Bearer", Expiry the token's exp claim.
//
// [NewAccessTokenSource] runs `gcloud config config-helper --format=json`
// and returns OAuth 2.0 access tokens of the active (or impersonated)
// account with the expiry gcloud reports, for use as the base credential
// of another source (package impersonate). `gcloud auth print-access-token`
// does not report an expiry, not even with --format=json (gcloud 528
// prints {"token": "…"} only); config-helper does (credential.token_expiry).
//
// # What gcloud can mint
//
// gcloud mints an ID token for a custom audience only for a service
// account: one activated with `gcloud auth activate-service-account`, the
// metadata server's account on a VM, or a service account impersonated
// with --impersonate-service-account (the active account needs
// roles/iam.serviceAccountTokenCreator on it). For a user account signed
// in with `gcloud auth login`, gcloud refuses --audiences; without
// Audience it prints the user's ID token whose audience is gcloud's own
// OAuth client ID (32555940559.apps.googleusercontent.com), which few
// services accept. Use Config.ImpersonateServiceAccount, or package signin
// for a user's own token for an OAuth client that IAP allowlists.
// --include-email, likewise, is accepted only together with impersonation;
// Config refuses it otherwise.
//
// # Running gcloud
//
// The binary (Config.Binary; default "gcloud", "gcloud.cmd" on Windows,
// looked up in PATH when the source is built) runs with an argument list,
// never through a shell, every value in --flag=VALUE form, and values that
// start with '-' or hold control characters are refused at construction,
// so no audience or account can become a flag or a command. Each run is
// bounded by Config.Timeout (default 30 s) and killed when it ends. The child gets os.Environ(), then
// CLOUDSDK_CORE_DISABLE_PROMPTS=1 (gcloud must never wait for a person),
// then Config.Env, so CLOUDSDK_CONFIG and the like can be set per source.
//
// # Errors
//
// Every failure is an [*Error]: the gcloud command, its exit code, gcloud's
// own ERROR message with the noise removed, and a Hint saying what to do.
// errors.Is matches the sentinels ([ErrNotInstalled], [ErrNotLoggedIn],
// [ErrReauth], [ErrAudiencesNeedServiceAccount],
// [ErrIncludeEmailNeedsImpersonation], [ErrImpersonation], [ErrTimeout],
// [ErrBadOutput], else [ErrFailed]) and the context's error when the
// caller gave up. The constructors' own refusals wrap [ErrInvalidConfig]
// (or are an *Error matching ErrNotInstalled when gcloud is not found).
//
// gcloud runs once per cold token (about 0.7 s warm on gcloud 528, more
// when it must refresh its own credential first); the cache makes every
// other call free. A caller whose context ends stops waiting at once; the
// shared run itself is bounded by Timeout. Neither error texts nor Messages ever contain a token: gcloud's
// standard output is never quoted, and token-like strings in its standard
// error are redacted.
package gcloud
