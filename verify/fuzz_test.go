package verify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

var sentinels = []error{
	verify.ErrTooLarge, verify.ErrMalformed, verify.ErrHeader, verify.ErrAlgorithm,
	verify.ErrUnknownKey, verify.ErrSignature, verify.ErrKeysUnavailable, verify.ErrMissingClaim,
	verify.ErrIssuer, verify.ErrAudience, verify.ErrExpired, verify.ErrNotYetValid,
}

// FuzzVerify runs whole verifications (both presets, real keys from the
// emulator) on mutated tokens. It must never panic, every error must
// wrap a sentinel, and an accepted token must carry the exact signing
// input of a token the emulator signed: no mutation forges a signature.
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	gv := e.google(f, noCache)
	iv := e.iap(f, noCache)
	signed := map[string]bool{}
	add := func(tok string) {
		signed[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	add(e.emu.MintIDToken(idtokentest.IDTokenClaims{Audience: runAud, Email: "a@b.c"}))
	add(e.emu.SignRS256(nil, with(e.idClaims(), "aud", []string{"x", runAud}, "nbf", 1)))
	add(e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud, Email: "a@b.c", HostedDomain: "b.c",
		Google: map[string]any{"access_levels": []string{"l"}}, GCIP: map[string]any{"x": 1}}))
	add(e.emu.SignES256(map[string]any{"crit": []string{"b64"}}, e.iapClaims()))
	add(e.emu.SignES256JSON([]byte(`{"alg":"ES256","kid":"`+e.emu.IAPKeyID()+`"}`), []byte(`{"aud":"x","aud":"y"}`)))
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		for _, v := range []*verify.Verifier{gv, iv} {
			c, err := v.Verify(ctx, raw)
			if err == nil {
				if c == nil || !signed[raw[:strings.LastIndexByte(raw, '.')]] {
					t.Fatalf("accepted a token the emulator never signed: %q", raw)
				}
				continue
			}
			ok := false
			for _, s := range sentinels {
				ok = ok || errors.Is(err, s)
			}
			if !ok {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if len(raw) > 40 && strings.Contains(err.Error(), raw[:40]) {
				t.Fatalf("error leaks the token: %v", err)
			}
		}
	})
}
