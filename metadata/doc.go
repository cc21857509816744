// Package metadata gets Google-signed ID tokens from the metadata server
// of the Google Cloud runtime the program runs on: Compute Engine, GKE
// (with Workload Identity), Cloud Run, Cloud Functions, App Engine
// (second generation) and Cloud Build. No key and no IAM permission is
// needed: the token is for the service account attached to the runtime.
//
// One round trip per cold token:
//
//	GET http://HOST/computeMetadata/v1/instance/service-accounts/ACCOUNT/identity?audience=A&format=full
//	Metadata-Flavor: Google
//
// The reply body is the bare JWT. HOST is Config.Host, else the
// GCE_METADATA_HOST environment variable, else 169.254.169.254 (the
// address metadata.google.internal resolves to; using the address avoids
// a DNS lookup that can be slow off Google Cloud). Requests go through
// cloud.google.com/go/compute/metadata, which retries transient failures.
//
// Format "full" (the default here, and what Google's client libraries
// ask for) puts the service account's email and the instance details
// (google.compute_engine: project, zone, instance) in the token;
// "standard" gives only aud, azp, sub, iss, iat and exp. Licenses adds
// the instance's license codes to a full token.
//
// The returned oauth2.TokenSource is cached: its Token is the ID token
// (AccessToken and Extra("id_token")), TokenType "Bearer", Expiry the
// token's exp claim. It also has a TokenContext(ctx) method.
//
// [OnGCE] and [Probe] tell cheaply whether a metadata server answers,
// bounded by [ProbeTimeout], so credential detection never hangs off
// Google Cloud.
//
// HTTP failures are [*HTTPError] values; local failures wrap the
// sentinels below. Error texts never contain a token.
package metadata
