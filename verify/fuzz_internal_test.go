package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParse drives the token parser (split, header, claims) with
// arbitrary input. It must never panic, must only accept canonical
// base64url, and must only accept JSON that encoding/json also accepts.
func FuzzParse(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		enc([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`)) + "." + enc([]byte(`{"iss":"https://accounts.google.com","aud":["a","b"],"exp":1999999999,"iat":1.5,"email_verified":"true","google":{"access_levels":["x"]},"gcip":{}}`)) + ".c2ln",
		enc([]byte(`{"alg":"ES256","kid":"k","crit":["b64"]}`)) + "." + enc([]byte(`{"a":1,"a":2}`)) + ".",
		enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`[]`)) + ".AA",
		"a.b.c", "..", "a.b", "a.b.c.d", "e30.e30.e30", "e30=.e30.e30",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := split(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("split error %v wraps no sentinel", err)
			}
			return
		}
		// Canonical: re-encoding gives back the input.
		if got := enc(p.header) + "." + enc(p.payload) + "." + enc(p.sig); got != raw {
			t.Fatalf("non-canonical encoding accepted: %q", raw)
		}
		if _, err := parseHeader(p.header); err == nil {
			var m map[string]any
			if json.Unmarshal(p.header, &m) != nil {
				t.Fatalf("header accepted but not JSON: %q", p.header)
			}
		}
		var c Claims
		if err := parseClaims(p.payload, &c); err == nil {
			var m map[string]any
			if json.Unmarshal(p.payload, &m) != nil || m == nil {
				t.Fatalf("payload accepted but not a JSON object: %q", p.payload)
			}
			if iss, ok := m["iss"].(string); ok && iss != c.Issuer && !strings.ContainsRune(iss, '\uFFFD') {
				t.Fatalf("iss disagrees with encoding/json: %q vs %q", c.Issuer, iss)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("claims error %v is not ErrMalformed", err)
		}
	})
}
