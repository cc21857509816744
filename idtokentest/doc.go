// Package idtokentest is an offline emulator of the Google endpoints that
// issue and verify ID tokens, for tests and demos that must not (or cannot)
// reach Google.
//
// One [Emulator] serves, on one host, the paths Google uses:
//
//	POST /token                                   OAuth2 token endpoint (oauth2.googleapis.com):
//	                                              jwt-bearer (with or without target_audience), refresh_token
//	GET  /oauth2/v3/certs                         Google's ID token signing keys (JWKS, Cache-Control max-age)
//	GET  /iap/verify/public_key-jwk               IAP's ES256 keys (www.gstatic.com); see MintIAPAssertion
//	GET  /computeMetadata/v1/...                  GCE / Cloud Run metadata server: identity, token, email
//	POST /v1/projects/-/serviceAccounts/{sa}:generateIdToken | :generateAccessToken | :signJwt
//	                                              IAM Credentials (iamcredentials.googleapis.com)
//
// It mints service-account key files whose token_uri points at itself,
// tracks the access tokens it issued and which principal may impersonate
// which service account, counts requests per [Endpoint], and injects
// faults ([Emulator.InjectFault]), latency, clock skew and key rotation.
//
// [NewServer] starts it on a loopback httptest server for a test;
// [Start] does the same for a program (examples/quickstart). Point a
// library at it with its URL methods ([Emulator.TokenURL], …) or with
// [Server.Client], whose transport sends requests for Google's hosts to
// the emulator, so code with hard-wired Google URLs (including Google's
// own libraries) can be tested unchanged.
//
// The emulator signs with its own code on the standard library's crypto,
// never with this module's signing code, so a bug cannot hide on both
// sides of a test.
//
// # For tests only
//
// The emulator mints tokens that look exactly like Google's, with keys it
// generates at start-up and serves over plain HTTP, to anyone who asks.
// Never deploy it and never use it (its keys, its certs URL, its token
// URL) as a trust root outside tests: whoever reaches it can mint tokens
// it accepts. Request bodies are capped at [MaxRequestBody].
package idtokentest
