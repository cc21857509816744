package idtokentest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzJWTBearer sends arbitrary assertions to the token endpoint, the
// emulator's one parser of untrusted tokens. It must never panic, answer
// only 200 or 4xx, and issue a token only for an assertion that really
// carries the account's RS256 signature and passes the time checks.
func FuzzJWTBearer(f *testing.F) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	e := New(Options{Now: func() time.Time { return now }, BaseURL: "http://emu.test"})
	sa := e.NewServiceAccount("fuzz")
	good, err := signRS256(sa.Key, map[string]any{"alg": "RS256", "kid": sa.KeyID}, map[string]any{
		"iss": sa.Email, "aud": GoogleTokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"target_audience": "https://svc.example",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:strings.LastIndexByte(good, '.')] + ".")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJub25lIn0.eyJpYXQiOi0xZTMwMH0.")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, assertion string) {
		form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}
		req := httptest.NewRequest("POST", "http://emu.test/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		switch {
		case w.Code == http.StatusOK:
			p, err := parseJWS(assertion)
			if err != nil {
				t.Fatalf("issued a token for an unparseable assertion: %v", err)
			}
			sum := sha256.Sum256([]byte(p.input))
			if rsa.VerifyPKCS1v15(&sa.Key.PublicKey, crypto.SHA256, sum[:], p.sig) != nil {
				t.Fatal("issued a token for an assertion without a valid signature")
			}
			iat, okI := p.num("iat")
			exp, okE := p.num("exp")
			if !okI || !okE || exp-iat > 3600 || exp <= iat {
				t.Fatalf("issued a token for iat=%v exp=%v", p.claims["iat"], p.claims["exp"])
			}
		case w.Code >= 400 && w.Code < 500:
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}

// FuzzParseJWS checks the emulator's JWS decoder on its own: no panic, and
// a decoded token's signing input is exactly the first two segments.
func FuzzParseJWS(f *testing.F) {
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseJWS(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(raw, p.input+".") {
			t.Fatalf("signing input %q is not a prefix of %q", p.input, raw)
		}
		_, _ = p.num("iat")
		_ = p.str("iss")
	})
}
