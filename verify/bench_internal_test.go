package verify

import (
	"encoding/base64"
	"testing"
	"time"
)

// BenchmarkOverhead measures everything Verify does besides hashing and
// the signature check: the part this package adds over the raw floor.
func BenchmarkOverhead(b *testing.B) {
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Unix(1795435171, 0)
	tok := enc([]byte(`{"alg":"RS256","kid":"4f1d2ca7c0a9e8b4e3f2a1b0c9d8e7f6a5b4c3d2","typ":"JWT"}`)) + "." +
		enc([]byte(`{"aud":"https://hello-abc123-uc.a.run.app","azp":"104857600000000000001","email":"caller@idtokens-emulator.iam.gserviceaccount.com","email_verified":true,"exp":1795438771,"iat":1795435171,"iss":"https://accounts.google.com","sub":"104857600000000000001"}`)) +
		"." + enc(make([]byte, 256))
	cfg, _, err := Config{Preset: GoogleIDToken, Audiences: []string{"https://hello-abc123-uc.a.run.app"}}.validate()
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{cfg: cfg, alg: algRS256}
	b.ReportAllocs()
	for b.Loop() {
		p, err := split(tok)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parseHeader(p.header); err != nil {
			b.Fatal(err)
		}
		c := new(Claims)
		if err := parseClaims(p.payload, c); err != nil {
			b.Fatal(err)
		}
		if err := v.checkClaims(c, now); err != nil {
			b.Fatal(err)
		}
	}
}
