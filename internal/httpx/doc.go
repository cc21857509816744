// Package httpx is the one HTTP path every acquisition package and the
// verifier use to talk to Google: bounded body reads, retries with
// exponential backoff and jitter for 5xx, 408, 429 (honouring
// Retry-After) and connection failures, and a typed [Error] that keeps the
// status and Google's error fields. [Do] documents exactly what is
// retried and why repeating the requests this module sends is safe.
//
// It must not import golang.org/x/oauth2: the verify package depends on it.
//
// # Errors
//
// Do returns one of three kinds of error, all safe to log: none contains
// a request body, a header value or a query string (the endpoint is
// reported without its query, which may hold an audience or a token).
//
//   - *[Error]: the endpoint answered with a non-2xx status after the
//     retries. Every public package re-exports it as
//     `type HTTPError = httpx.Error`, so one errors.As catches an HTTP
//     failure from any of them (see the example below). Code is OAuth's "error" (invalid_grant, invalid_client, …) or, for
//     JSON APIs such as IAM Credentials, "error.status"
//     (PERMISSION_DENIED, NOT_FOUND, …); Description is "error_description"
//     or "error.message". Server text is clipped to 512 bytes.
//
//   - context.Canceled / context.DeadlineExceeded, wrapped: the caller's
//     ctx ended. Test with errors.Is(err, context.DeadlineExceeded).
//
//   - a transport failure, wrapped with "METHOD endpoint: ": test with
//     errors.Is against syscall errors or [ErrBodyTooLarge] (a reply larger
//     than the limit, refused and never retried), or errors.As against
//     *net.OpError, *net.DNSError, *tls.CertificateVerificationError.
//
// For example:
//
//	var he *keyfile.HTTPError // the same type as *metadata.HTTPError, …
//	switch {
//	case errors.As(err, &he) && he.Temporary():
//		// 5xx/408/429 after the retries: try later (he.RetryAfter, if set)
//	case errors.As(err, &he) && he.Code == "invalid_grant":
//		// the key was deleted or the clock is off: fix the configuration
//	case errors.Is(err, context.DeadlineExceeded):
//		// the caller's deadline passed
//	}
//
// Packages that wrap these add their prefix ("keyfile: …") with %w, so
// errors.Is and errors.As see through them.
package httpx
