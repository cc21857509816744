// Package keyfile gets Google-signed ID tokens for a service account by
// the OAuth 2.0 jwt-bearer grant: it signs an assertion carrying
// `target_audience` with the account's key and exchanges it at the token
// endpoint, which answers with an ID token for that audience.
//
// The key is either a service-account key file (the JSON the Cloud console
// or `gcloud iam service-accounts keys create` writes) or any
// crypto.Signer holding an RSA key (Cloud KMS, an HSM, a TPM) together
// with the account's email.
//
// The returned oauth2.TokenSource is cached: its Token is the ID token
// (AccessToken and Extra("id_token")), TokenType "Bearer", Expiry the
// token's exp claim. It also has a TokenContext(ctx) method.
//
// Wire facts: the assertion is RS256 with kid = private_key_id; claims
// iss = client_email, aud = the token URL, iat, exp = iat + 1 h,
// target_audience. One round trip per cold token.
//
// HTTP failures are [*HTTPError] values (status, Google's error and
// error_description, Temporary()); local failures wrap the sentinels
// below. Error texts never contain the key, the assertion or a token
// (a test drives every injectable failure and checks).
//
// Retries: 5xx, 408, 429 (Retry-After honoured) and dropped connections
// are retried with jittered backoff within Config.Retry's bounds; other
// 4xx are not. Repeating the jwt-bearer POST is safe: each exchange mints
// an independent token.
package keyfile
