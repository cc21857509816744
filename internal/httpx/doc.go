// Package httpx is the one HTTP path every acquisition package and the
// verifier use to talk to Google: bounded body reads, retries with
// exponential backoff and jitter for 5xx, 429 (honouring Retry-After) and
// connection failures, and a typed [Error] that keeps the status and
// Google's error fields.
//
// It must not import golang.org/x/oauth2: the verify package depends on it.
package httpx
