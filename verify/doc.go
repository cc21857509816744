// Package verify checks Google-signed ID tokens and Identity-Aware Proxy
// (IAP) assertions, fast and failing closed.
//
// A [Verifier] is built for one [Preset]:
//
//   - [GoogleIDToken]: RS256 tokens from Google (Cloud Run and Cloud
//     Functions callers, the metadata server, IAM Credentials, the OAuth
//     token endpoint), keys at [GoogleCertsURL], issuers
//     https://accounts.google.com and accounts.google.com.
//   - [IAP]: ES256 assertions from the x-goog-iap-jwt-assertion header,
//     keys at [IAPKeysURL], issuer https://cloud.google.com/iap, audience
//     from [IAPAudience] or [IAPAppEngineAudience].
//
// Verify checks everything Google's own Go validator checks (signature,
// aud, exp) and what it does not: the issuer, iat and nbf (with a leeway,
// 30 s by default), an aud that is an array, the algorithm pinned by the
// preset and matched against the key's kty/crv/alg, the exact JWS
// encoding (three segments of unpadded base64url, a 64-byte r||s ES256
// signature with r and s in range), no header that lets the token pick
// its own key (jwk, jku, x5u, x5c) or processing (crit, zip, b64), JSON
// without duplicate member names, and a size cap applied before any
// decoding. Optional checks: azp, email (and email_verified), hd.
//
// Keys are fetched on first use and cached: Cache-Control max-age minus
// Age is honoured (KeysTTL when the header is missing), one fetch runs at
// a time however many callers wait (each may give up through its ctx), an
// unknown kid triggers a refetch at most once per MinRefetchInterval, and
// when the endpoint fails the cached keys keep being used up to
// MaxKeysAge. Keys are parsed once per fetch (with jwx), and the hot path
// is one map lookup, crypto/rsa or crypto/ecdsa, and a strict JSON scan.
//
// A token verified once is remembered (bounded LRU keyed by the full
// token string): verifying it again skips the signature check but still
// checks exp, nbf and aud against the current time.
//
// [IAPMiddleware] and [BearerMiddleware] wrap an http.Handler: they
// answer 401 with a fixed body on any failure (the reason goes to
// MiddlewareOptions.OnError only) and put the verified [Claims] in the
// request context ([ClaimsFromContext]). IAPMiddleware also rejects
// requests whose X-Goog-Authenticated-User-Email / -Id headers do not
// match the verified assertion.
//
// Errors wrap the sentinels below (errors.Is); fetch failures carry an
// [*HTTPError]. No error text contains the token.
//
// Test against the emulator in package idtokentest: point Config.KeysURL
// at Server.CertsURL or Server.IAPKeysURL, or pass Server.Client as
// Config.HTTPClient.
package verify
