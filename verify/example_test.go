package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/verify"
)

// A backend behind IAP verifies every request's x-goog-iap-jwt-assertion.
// In production leave KeysURL and HTTPClient unset; here they point at the
// emulator.
func ExampleIAPMiddleware() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()

	aud := verify.IAPAudience("123456789012", "4567890123456789")
	v, err := verify.New(verify.Config{
		Preset:    verify.IAP,
		Audiences: []string{aud},
		KeysURL:   emu.IAPKeysURL(), // omit in production
	})
	if err != nil {
		panic(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Email)
	})
	h := verify.IAPMiddleware(v, verify.MiddlewareOptions{})(hello)

	// What IAP would forward.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("x-goog-iap-jwt-assertion", emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: aud, Email: "alice@example.com"}))
	r.Header.Set("X-Goog-Authenticated-User-Email", "accounts.google.com:alice@example.com")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	// A request that bypassed IAP, with a forged identity header.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Goog-Authenticated-User-Email", "accounts.google.com:admin@example.com")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 hello alice@example.com
	// 401 unauthorized
}

// A Cloud Run service checks the ID token of a service calling it: the
// caller gets the token with package keyfile (or metadata, impersonate…),
// the service verifies it with audience = its own URL.
func ExampleVerifier_Verify_cloudRunCaller() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	const serviceURL = "https://hello-abc123-uc.a.run.app"

	// Caller side.
	sa := emu.NewServiceAccount("caller")
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: serviceURL, CredentialsJSON: sa.KeyJSON()})
	if err != nil {
		panic(err)
	}
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}

	// Service side.
	v, err := verify.New(verify.Config{
		Preset:    verify.GoogleIDToken,
		Audiences: []string{serviceURL},
		Emails:    []string{sa.Email}, // only this caller may call
		KeysURL:   emu.CertsURL(),     // omit in production
	})
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println("caller:", c.Email == sa.Email, c.EmailVerified, c.Audience)

	// The same check as middleware: "Authorization: Bearer <token>".
	h := verify.BearerMiddleware(v, verify.MiddlewareOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// caller: true true [https://hello-abc123-uc.a.run.app]
	// 200 ok
}
