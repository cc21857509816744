package verify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/verify"
)

var ctx = context.Background()

func TestVerifyGoogleIDToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t)
	sa := e.emu.NewServiceAccount("caller")
	tok := e.emu.MintIDToken(idtokentest.IDTokenClaims{Audience: runAud, Email: sa.Email})

	c, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, "https://accounts.google.com", c.Issuer)
	assert.Equal(t, []string{runAud}, c.Audience)
	assert.Equal(t, sa.Email, c.Email)
	assert.True(t, c.EmailVerified)
	assert.Equal(t, sa.UniqueID, c.Subject)
	assert.Equal(t, sa.UniqueID, c.AuthorizedParty)
	assert.Equal(t, e.clk.Now().Unix(), c.IssuedAt.Unix())
	assert.Equal(t, e.clk.Now().Add(time.Hour).Unix(), c.Expiry.Unix())
	assert.True(t, c.NotBefore.IsZero())
	var raw map[string]any
	require.NoError(t, c.Decode(&raw))
	assert.Equal(t, sa.Email, raw["email"])
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointCerts))
}

// A token from the keyfile package, through the emulator's token endpoint,
// verifies: acquisition and verification agree on the wire format.
func TestVerifyTokenFromKeyfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sa := e.emu.NewServiceAccount("keyfile-caller")
	ts, err := keyfile.NewTokenSource(ctx, keyfile.Config{Audience: runAud, CredentialsJSON: sa.KeyJSON(), Now: e.clk.Now})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)

	c, err := e.google(t).Verify(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, sa.Email, c.Email)
	assert.Equal(t, tok.Expiry.Unix(), c.Expiry.Unix())
}

func TestVerifyIAPAssertion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.iap(t, func(c *verify.Config) { c.HostedDomains = []string{"example.com"} })
	tok := e.emu.MintIAPAssertion(idtokentest.IAPClaims{
		Audience:     iapAud,
		Email:        "alice@example.com",
		HostedDomain: "example.com",
		Google:       map[string]any{"access_levels": []string{"accessPolicies/1/accessLevels/corp"}},
		GCIP:         map[string]any{"email": "ext@example.org", "user_id": "u1", "firebase": map[string]any{"tenant": "t1"}},
	})
	c, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, verify.IAPIssuer, c.Issuer)
	assert.Equal(t, "alice@example.com", c.Email)
	assert.Equal(t, "example.com", c.HostedDomain)
	assert.True(t, strings.HasPrefix(c.Subject, "accounts.google.com:"), c.Subject)
	require.NotNil(t, c.Google)
	assert.Equal(t, []string{"accessPolicies/1/accessLevels/corp"}, c.Google.AccessLevels)
	g, ok, err := c.GCIPClaims()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "ext@example.org", g.Email)
	assert.Equal(t, "u1", g.UserID)
	assert.Equal(t, "t1", g.Firebase["tenant"])
	assert.Equal(t, 1, e.emu.Count(idtokentest.EndpointIAPKeys))
	assert.Equal(t, 0, e.emu.Count(idtokentest.EndpointCerts))
}

func TestIAPAudienceHelpers(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "/projects/123/global/backendServices/456", verify.IAPAudience("123", "456"))
	assert.Equal(t, "/projects/123/apps/my-proj", verify.IAPAppEngineAudience("123", "my-proj"))
}

func TestAudienceArrayAndChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t, func(c *verify.Config) {
		c.Audiences = []string{"other", runAud}
		c.AuthorizedParties = []string{"client-1"}
		c.Emails = []string{"Caller@Example.com"}
		c.RequireVerifiedEmail = true
	})
	base := with(e.idClaims(), "aud", []string{"x", runAud}, "azp", "client-1", "email", "caller@example.com", "email_verified", true)
	_, err := v.Verify(ctx, e.emu.SignRS256(nil, base))
	require.NoError(t, err, "array aud containing ours, azp, email (case-insensitive), email_verified")

	_, err = v.Verify(ctx, e.emu.SignRS256(nil, with(base, "azp", "client-2")))
	assert.ErrorIs(t, err, verify.ErrAuthorizedParty)
	_, err = v.Verify(ctx, e.emu.SignRS256(nil, with(base, "email", "eve@example.com")))
	assert.ErrorIs(t, err, verify.ErrEmail)
	_, err = v.Verify(ctx, e.emu.SignRS256(nil, with(base, "email_verified", false)))
	assert.ErrorIs(t, err, verify.ErrEmail)
	_, err = v.Verify(ctx, e.emu.SignRS256(nil, with(base, "email_verified", "true")))
	assert.NoError(t, err, `older Google tokens send email_verified as "true"`)
	_, err = v.Verify(ctx, e.emu.SignRS256(nil, with(base, "iss", "accounts.google.com")))
	assert.NoError(t, err, "the issuer without scheme is Google's too")

	iv := e.iap(t, func(c *verify.Config) { c.HostedDomains = []string{"example.com"} })
	_, err = iv.Verify(ctx, e.emu.SignES256(nil, with(e.iapClaims(), "hd", "evil.com")))
	assert.ErrorIs(t, err, verify.ErrHostedDomain)
}

func TestLeeway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t, noCache) // default leeway 30 s
	now := e.clk.Now()
	ok := func(kv ...any) {
		t.Helper()
		_, err := v.Verify(ctx, e.emu.SignRS256(nil, with(e.idClaims(), kv...)))
		assert.NoError(t, err, kv)
	}
	ok("exp", now.Add(-29*time.Second).Unix(), "iat", now.Add(-time.Hour).Unix())
	ok("iat", now.Add(29*time.Second).Unix())
	ok("nbf", now.Add(29*time.Second).Unix())
	ok("exp", float64(now.Unix())+0.5) // fractional NumericDate

	strict := e.google(t, noCache, func(c *verify.Config) { c.Leeway = -1 })
	_, err := strict.Verify(ctx, e.emu.SignRS256(nil, with(e.idClaims(), "exp", now.Add(-time.Second).Unix())))
	assert.ErrorIs(t, err, verify.ErrExpired)
	_, err = strict.Verify(ctx, e.emu.SignRS256(nil, with(e.idClaims(), "exp", now.Unix())))
	assert.ErrorIs(t, err, verify.ErrExpired, "exp is the first instant the token is invalid")
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]verify.Config{
		"no preset":             {Audiences: []string{"a"}},
		"no audience":           {Preset: verify.GoogleIDToken},
		"empty audience":        {Preset: verify.GoogleIDToken, Audiences: []string{""}},
		"bad keys URL":          {Preset: verify.GoogleIDToken, Audiences: []string{"a"}, KeysURL: "ftp://x"},
		"empty issuers":         {Preset: verify.GoogleIDToken, Audiences: []string{"a"}, Issuers: []string{}},
		"IAP audience shape":    {Preset: verify.IAP, Audiences: []string{"https://svc"}},
		"IAP email_verified":    {Preset: verify.IAP, Audiences: []string{iapAud}, RequireVerifiedEmail: true},
		"max age below the TTL": {Preset: verify.GoogleIDToken, Audiences: []string{"a"}, MaxKeysAge: time.Minute},
		"empty azp":             {Preset: verify.GoogleIDToken, Audiences: []string{"a"}, AuthorizedParties: []string{""}},
		"empty email":           {Preset: verify.GoogleIDToken, Audiences: []string{"a"}, Emails: []string{"x@y", ""}},
		"empty hd":              {Preset: verify.IAP, Audiences: []string{iapAud}, HostedDomains: []string{""}},
	} {
		_, err := verify.New(cfg)
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte { return idtokentest.MustJSON(v) }

// TestBadTokens: every token here must be rejected with the listed
// sentinel, and no error text may contain the token.
func TestBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gv := e.google(t)
	iv := e.iap(t)
	now := e.clk.Now()

	// Keys, to learn the current kids and the RSA modulus (for the
	// HS256-with-the-public-key attack).
	var certs struct {
		Keys []struct{ Kid, N string } `json:"keys"`
	}
	resp, err := e.emu.Client().Get(e.emu.CertsURL())
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&certs))
	resp.Body.Close()
	googleKid := e.emu.GoogleKeyID()
	iapKid := e.emu.IAPKeyID()

	idc, iapc := e.idClaims(), e.iapClaims()
	valid := e.emu.SignRS256(nil, idc)
	validIAP := e.emu.SignES256(nil, iapc)
	rsHeader := map[string]any{"alg": "RS256", "kid": googleKid, "typ": "JWT"}
	esHeader := map[string]any{"alg": "ES256", "kid": iapKid, "typ": "JWT"}
	esInput := b64(mustJSON(esHeader)) + "." + b64(mustJSON(iapc))
	jose, der := e.emu.IAPSignature(esInput)
	withSig := func(input string, sig []byte) string { return input + "." + b64(sig) }
	segs := strings.Split(valid, ".")

	nBytes, _ := base64.RawURLEncoding.DecodeString(certs.Keys[0].N)
	hsInput := b64(mustJSON(map[string]any{"alg": "HS256", "kid": googleKid})) + "." + b64(mustJSON(idc))
	mac := hmac.New(sha256.New, nBytes)
	mac.Write([]byte(hsInput))

	order := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51}

	type tc struct {
		name string
		v    *verify.Verifier
		tok  string
		want error
	}
	G, I := gv, iv
	cases := []tc{
		{"alg none, empty signature", G, b64(mustJSON(map[string]any{"alg": "none"})) + "." + segs[1] + ".", verify.ErrAlgorithm},
		{"alg none with kid", G, b64(mustJSON(map[string]any{"alg": "none", "kid": googleKid})) + "." + segs[1] + "." + segs[2], verify.ErrAlgorithm},
		{"alg missing", G, b64(mustJSON(map[string]any{"kid": googleKid})) + "." + segs[1] + "." + segs[2], verify.ErrAlgorithm},
		{"HS256 keyed with the RSA public key", G, withSig(hsInput, mac.Sum(nil)), verify.ErrAlgorithm},
		{"RS256 token to the IAP preset", I, valid, verify.ErrAlgorithm},
		{"ES256 token to the Google preset", G, validIAP, verify.ErrAlgorithm},
		{"RS512", G, e.emu.SignRS256(map[string]any{"alg": "RS512"}, idc), verify.ErrAlgorithm},
		{"jwk header", G, e.emu.SignRS256(map[string]any{"jwk": map[string]any{"kty": "RSA", "n": certs.Keys[0].N, "e": "AQAB"}}, idc), verify.ErrHeader},
		{"jku header", G, e.emu.SignRS256(map[string]any{"jku": "https://evil.example/keys"}, idc), verify.ErrHeader},
		{"x5u header", G, e.emu.SignRS256(map[string]any{"x5u": "https://evil.example/cert"}, idc), verify.ErrHeader},
		{"x5c header", G, e.emu.SignRS256(map[string]any{"x5c": []string{"MIIB"}}, idc), verify.ErrHeader},
		{"crit header", G, e.emu.SignRS256(map[string]any{"crit": []string{"exp"}}, idc), verify.ErrHeader},
		{"b64 false", G, e.emu.SignRS256(map[string]any{"b64": false}, idc), verify.ErrHeader},
		{"typ not JWT", G, e.emu.SignRS256(map[string]any{"typ": "at+jwt"}, idc), verify.ErrHeader},
		{"unknown kid", G, e.emu.SignRS256(map[string]any{"kid": "no-such-key"}, idc), verify.ErrUnknownKey},
		{"no kid", G, e.emu.SignRS256JSON(mustJSON(map[string]any{"alg": "RS256"}), mustJSON(idc)), verify.ErrUnknownKey},
		{"IAP kid on the Google preset", G, e.emu.SignRS256(map[string]any{"kid": iapKid}, idc), verify.ErrUnknownKey},
		{"ES256 signature of 0 bytes", I, withSig(esInput, nil), verify.ErrSignature},
		{"ES256 signature of 3 bytes", I, withSig(esInput, jose[:3]), verify.ErrSignature},
		{"ES256 signature of 63 bytes", I, withSig(esInput, jose[:63]), verify.ErrSignature},
		{"ES256 signature of 65 bytes", I, withSig(esInput, append(append([]byte{}, jose...), 0)), verify.ErrSignature},
		{"ES256 signature DER-encoded", I, withSig(esInput, der), verify.ErrSignature},
		{"ES256 r=s=0", I, withSig(esInput, make([]byte, 64)), verify.ErrSignature},
		{"ES256 r=n", I, withSig(esInput, append(append([]byte{}, order...), jose[32:]...)), verify.ErrSignature},
		{"ES256 s=n", I, withSig(esInput, append(append([]byte{}, jose[:32]...), order...)), verify.ErrSignature},
		{"ES256 r and s swapped", I, withSig(esInput, append(append([]byte{}, jose[32:]...), jose[:32]...)), verify.ErrSignature},
		{"RS256 signature truncated", G, segs[0] + "." + segs[1] + "." + b64(mustB64(segs[2])[:255]), verify.ErrSignature},
		{"RS256 signature from another token", G, segs[0] + "." + strings.Split(e.emu.SignRS256(nil, with(idc, "sub", "x")), ".")[1] + "." + segs[2], verify.ErrSignature},
		{"tampered payload", G, segs[0] + "." + b64(mustJSON(with(idc, "email", "admin@example.com"))) + "." + segs[2], verify.ErrSignature},
		{"wrong iss", G, e.emu.SignRS256(nil, with(idc, "iss", "https://evil.example")), verify.ErrIssuer},
		{"IAP issuer on the Google preset", G, e.emu.SignRS256(nil, with(idc, "iss", "https://cloud.google.com/iap")), verify.ErrIssuer},
		{"iss with trailing slash", G, e.emu.SignRS256(nil, with(idc, "iss", "https://accounts.google.com/")), verify.ErrIssuer},
		{"missing iss", G, e.emu.SignRS256(nil, with(idc, "iss", nil)), verify.ErrMissingClaim},
		{"wrong aud", G, e.emu.SignRS256(nil, with(idc, "aud", "https://other.run.app")), verify.ErrAudience},
		{"aud array without ours", G, e.emu.SignRS256(nil, with(idc, "aud", []string{"a", "b"})), verify.ErrAudience},
		{"empty aud array", G, e.emu.SignRS256(nil, with(idc, "aud", []string{})), verify.ErrAudience},
		{"missing aud", G, e.emu.SignRS256(nil, with(idc, "aud", nil)), verify.ErrAudience},
		{"aud prefix of ours", G, e.emu.SignRS256(nil, with(idc, "aud", runAud[:len(runAud)-1])), verify.ErrAudience},
		{"IAP wrong aud", I, e.emu.SignES256(nil, with(iapc, "aud", verify.IAPAudience("123456789012", "1"))), verify.ErrAudience},
		{"expired", G, e.emu.SignRS256(nil, with(idc, "exp", now.Add(-31*time.Second).Unix())), verify.ErrExpired},
		{"IAP expired", I, e.emu.SignES256(nil, with(iapc, "exp", now.Add(-time.Hour).Unix())), verify.ErrExpired},
		{"exp before iat", G, e.emu.SignRS256(nil, with(idc, "iat", now.Add(10*time.Second).Unix(), "exp", now.Add(5*time.Second).Unix())), verify.ErrExpired},
		{"nbf in the future", G, e.emu.SignRS256(nil, with(idc, "nbf", now.Add(31*time.Second).Unix())), verify.ErrNotYetValid},
		{"iat in the future", G, e.emu.SignRS256(nil, with(idc, "iat", now.Add(31*time.Second).Unix())), verify.ErrNotYetValid},
		{"missing exp", G, e.emu.SignRS256(nil, with(idc, "exp", nil)), verify.ErrMissingClaim},
		{"missing iat", G, e.emu.SignRS256(nil, with(idc, "iat", nil)), verify.ErrMissingClaim},
		{"exp is a string", G, e.emu.SignRS256(nil, with(idc, "exp", "1999999999")), verify.ErrMalformed},
		{"exp negative", G, e.emu.SignRS256(nil, with(idc, "exp", -1)), verify.ErrMalformed},
		{"exp beyond year 9999", G, e.emu.SignRS256(nil, with(idc, "exp", 1e13)), verify.ErrMalformed},
		{"aud is a number", G, e.emu.SignRS256(nil, with(idc, "aud", 5)), verify.ErrMalformed},
		{"non-base64url header (std alphabet)", G, segs[0] + "+/." + segs[1] + "." + segs[2], verify.ErrMalformed},
		{"non-base64url character", G, segs[0] + ".*" + segs[1] + "." + segs[2], verify.ErrMalformed},
		{"padded payload", G, paddedToken(e.emu, idc), verify.ErrMalformed},
		{"padded signature", G, segs[0] + "." + segs[1] + "." + padded(segs[2]+"A"), verify.ErrMalformed},
		{"newline inside a segment", G, segs[0] + "." + segs[1][:10] + "\n" + segs[1][10:] + "." + segs[2], verify.ErrMalformed},
		{"2 segments", G, segs[0] + "." + segs[1], verify.ErrMalformed},
		{"4 segments", G, valid + "." + segs[2], verify.ErrMalformed},
		{"1 segment", G, segs[0], verify.ErrMalformed},
		{"empty token", G, "", verify.ErrMalformed},
		{"empty header segment", G, "." + segs[1] + "." + segs[2], verify.ErrMalformed},
		{"oversized token", G, segs[0] + "." + strings.Repeat("A", verify.MaxTokenSize) + "." + segs[2], verify.ErrTooLarge},
		{"header not JSON", G, b64([]byte("RS256")) + "." + segs[1] + "." + segs[2], verify.ErrMalformed},
		{"duplicate alg in header", G, e.emu.SignRS256JSON([]byte(`{"alg":"RS256","kid":"`+googleKid+`","alg":"none"}`), mustJSON(idc)), verify.ErrMalformed},
		{"duplicate aud in payload", G, e.emu.SignRS256JSON(mustJSON(rsHeader), dupJSON(idc, `"aud":"https://evil.example"`)), verify.ErrMalformed},
		{"duplicate key via escape", G, e.emu.SignRS256JSON(mustJSON(rsHeader), dupJSON(idc, `"\u0061ud":"https://evil.example"`)), verify.ErrMalformed},
		{"duplicate key nested", G, e.emu.SignRS256JSON(mustJSON(rsHeader), dupJSON(idc, `"google":{"a":1,"a":2}`)), verify.ErrMalformed},
		{"payload is an array", G, e.emu.SignRS256JSON(mustJSON(rsHeader), []byte(`["iss","aud"]`)), verify.ErrMalformed},
		{"payload is a string", G, e.emu.SignRS256JSON(mustJSON(rsHeader), []byte(`"claims"`)), verify.ErrMalformed},
		{"payload with trailing data", G, e.emu.SignRS256JSON(mustJSON(rsHeader), append(mustJSON(idc), []byte(`{}`)...)), verify.ErrMalformed},
		{"payload with invalid UTF-8", G, e.emu.SignRS256JSON(mustJSON(rsHeader), dupJSON(idc, "\"x\":\"\xff\"")), verify.ErrMalformed},
		{"IAP payload is null", I, e.emu.SignES256JSON(mustJSON(esHeader), []byte(`null`)), verify.ErrMalformed},
		{"IAP google claim not an object", I, e.emu.SignES256(nil, with(iapc, "google", "x")), verify.ErrMalformed},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims, err := c.v.Verify(ctx, c.tok)
			require.Error(t, err)
			assert.Nil(t, claims)
			assert.ErrorIs(t, err, c.want, "got %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "verify: "), err.Error())
			if len(c.tok) > 20 {
				for _, seg := range strings.Split(c.tok, ".") {
					if len(seg) > 16 {
						assert.NotContains(t, err.Error(), seg, "error text leaks the token")
					}
				}
			}
		})
	}
	// The valid tokens the bad ones were derived from do verify.
	_, err = gv.Verify(ctx, valid)
	require.NoError(t, err)
	_, err = iv.Verify(ctx, validIAP)
	require.NoError(t, err)
	_, err = iv.Verify(ctx, withSig(esInput, jose))
	require.NoError(t, err)
}

func mustB64(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// paddedToken signs claims whose payload segment needs padding, then pads
// it (the signature covers the unpadded form).
func paddedToken(emu *idtokentest.Server, claims map[string]any) string {
	for k := 0; ; k++ {
		tok := emu.SignRS256(nil, with(claims, "p", strings.Repeat("x", k)))
		s := strings.Split(tok, ".")
		if len(s[1])%4 != 0 {
			return s[0] + "." + padded(s[1]) + "." + s[2]
		}
	}
}

func padded(s string) string {
	for len(s)%4 != 0 {
		s += "="
	}
	return s
}

// dupJSON appends extra members to the JSON object of m.
func dupJSON(m map[string]any, extra string) []byte {
	b := mustJSON(m)
	return append(append(b[:len(b)-1:len(b)-1], ","+extra...), '}')
}

// Errors wrap exactly one sentinel; a generic err is never returned.
func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.google(t).Verify(ctx, "garbage")
	var he *verify.HTTPError
	assert.False(t, errors.As(err, &he))
	assert.ErrorIs(t, err, verify.ErrMalformed)
}
