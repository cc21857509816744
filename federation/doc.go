// Package federation gets Google-signed ID tokens for a workload outside
// Google Cloud (GitHub Actions, GitLab, on-prem OIDC, AWS, Azure, a SAML
// IdP) that has only a federated identity: Workload Identity Federation
// (or Workforce Identity Federation) to an ID token for a Cloud Run
// service, a Cloud Function or an IAP-protected app.
//
// It takes the `external_account` credential configuration that
// `gcloud iam workload-identity-pools create-cred-config` writes (or an
// [externalaccount.Config] built in code) and does two round trips per
// token:
//
//  1. STS token exchange (https://sts.googleapis.com/v1/token): the
//     external subject token becomes a federated access token for the
//     principal
//     principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/SUB.
//  2. IAM Credentials generateIdToken for the target service account,
//     called with that federated token.
//
// The target service account is Config.ServiceAccount or, when that is
// empty, the one named in the file's service_account_impersonation_url.
// Even then no generateAccessToken hop is made: generateIdToken is called
// with the federated token directly. A configuration with neither fails at
// construction with [ErrNoServiceAccount] (Google's idtoken package turns it
// into a request for the service account ".").
//
// # IAM condition
//
// The federated principal (or a principalSet:// that contains it) needs
// iam.serviceAccounts.getOpenIdToken on the target service account.
// roles/iam.serviceAccountOpenIdTokenCreator and
// roles/iam.serviceAccountTokenCreator carry it, and so does
// roles/iam.workloadIdentityUser, the binding Google's WIF setup guides
// grant for impersonation (its permissions: get, getAccessToken,
// getOpenIdToken, list). With Delegates, each account in the chain needs
// it on the next. The ID token identifies the service account (sub = its
// unique ID, email when IncludeEmail), which must then be allowed to invoke
// the service (roles/run.invoker).
//
// # Subject tokens
//
// golang.org/x/oauth2/google/externalaccount obtains the subject token and
// performs the STS exchange; this package adds what it lacks for ID
// tokens. Every credential source it supports works here: a file, a URL
// (with headers, text or json format and subject_token_field_name), an
// executable (only when GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1, checked
// at construction), AWS (environment_id "aws1", or an
// [externalaccount.AwsSecurityCredentialsSupplier]) and any
// [externalaccount.SubjectTokenSupplier] (see [SubjectTokenFunc]). Workforce
// pools (workforce_pool_user_project) are passed through: the STS request
// then carries options={"userProject":…}.
//
// The file's token_url (or Config.External.TokenURL) is honoured, so the
// exchange can run against an emulator such as package idtokentest.
// Config.HTTPClient carries every request (subject-token URL, AWS metadata,
// STS, IAM) with this module's retries for transient failures.
//
// Executable sources do not see GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL:
// the impersonation URL is withheld from x/oauth2 so that it makes no
// generateAccessToken call.
//
// # Security
//
// As in Google's libraries, the URLs in a credential file are trusted: the
// subject token goes to token_url and the federated token to the IAM root
// (Config.IAMEndpoint, else the host of service_account_impersonation_url).
// Use only credential files you generated or checked (see Google's
// "Validate credential configurations from external sources").
//
// # Tokens and errors
//
// The returned oauth2.TokenSource is cached: AccessToken (and
// Extra("id_token")) is the ID token, TokenType "Bearer", Expiry the
// token's exp claim. It also has TokenContext(ctx). Each refresh
// re-exchanges the subject token (the federated token is not cached: it
// lives no longer than the ID token it serves).
//
// An HTTP failure of STS, IAM or a subject-token URL is an [*HTTPError]
// carrying the status and Google's error code and message (for example
// 400 invalid_grant from STS for a rejected subject token). Local failures
// wrap the sentinels below. Error texts never contain a subject token, a
// federated token or an ID token.
package federation
