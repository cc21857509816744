package idtokentest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
)

const iapAud = "/projects/123456789012/global/backendServices/42"

type jwk struct {
	Kty, Alg, Use, Crv, Kid, X, Y string
}

func iapKeys(t *testing.T, emu *idtokentest.Server) (map[string]*ecdsa.PublicKey, http.Header) {
	t.Helper()
	resp, err := emu.Client().Get("https://www.gstatic.com/iap/verify/public_key-jwk")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var set struct{ Keys []jwk }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		require.Equal(t, "EC", k.Kty)
		require.Equal(t, "ES256", k.Alg)
		require.Equal(t, "P-256", k.Crv)
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		require.Len(t, x, 32)
		require.Len(t, y, 32)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		require.NoError(t, err)
		out[k.Kid] = pub
	}
	return out, resp.Header
}

// verifyES256 checks a token with the standard library only.
func verifyES256(t *testing.T, keys map[string]*ecdsa.PublicKey, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(hb, &h))
	require.NoError(t, json.Unmarshal(cb, &c))
	require.Len(t, sig, 64)
	pub := keys[h["kid"].(string)]
	require.NotNil(t, pub, "kid published")
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	require.True(t, ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])))
	return h, c
}

func TestIAPKeysAndAssertion(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	emu := idtokentest.NewServer(t, idtokentest.Options{Now: func() time.Time { return now }})
	keys, hdr := iapKeys(t, emu)
	require.Len(t, keys, 1)
	assert.Contains(t, hdr.Get("Cache-Control"), "max-age=21600")
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointIAPKeys))

	tok := emu.MintIAPAssertion(idtokentest.IAPClaims{
		Audience: iapAud, Email: "alice@example.com", HostedDomain: "example.com",
		Google: map[string]any{"access_levels": []string{"accessPolicies/1/accessLevels/a"}},
		GCIP:   map[string]any{"user_id": "u"},
	})
	h, c := verifyES256(t, keys, tok)
	assert.Equal(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": emu.IAPKeyID()}, h)
	assert.Equal(t, idtokentest.IAPIssuer, c["iss"])
	assert.Equal(t, iapAud, c["aud"])
	assert.Equal(t, "alice@example.com", c["email"])
	assert.Equal(t, "example.com", c["hd"])
	assert.Regexp(t, `^accounts\.google\.com:[1-9][0-9]{20}$`, c["sub"])
	assert.Equal(t, float64(now.Unix()), c["iat"])
	assert.Equal(t, float64(now.Add(10*time.Minute).Unix()), c["exp"])
	assert.NotNil(t, c["google"])
	assert.NotNil(t, c["gcip"])

	// Rotation keeps the previous key published.
	old := emu.IAPKeyID()
	kid := emu.RotateIAPKeys()
	keys, _ = iapKeys(t, emu)
	assert.Len(t, keys, 2)
	assert.Contains(t, keys, old)
	assert.Contains(t, keys, kid)
	verifyES256(t, keys, emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud}))
}

// Google's own validator (the oracle) accepts the emulator's IAP
// assertions, fetching the keys from the emulator at Google's URL.
func TestIAPAssertionAcceptedByGoogleValidator(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	tok := emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud, Email: "alice@example.com"})
	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(context.Background(), tok, iapAud)
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", p.Claims["email"])
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointIAPKeys))
}

func TestBadTokenHelpers(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	keys, _ := iapKeys(t, emu)

	// Verbatim JSON, duplicate names kept.
	tok := emu.SignES256JSON([]byte(`{"alg":"ES256","kid":"`+emu.IAPKeyID()+`"}`), []byte(`{"aud":"a","aud":"b"}`))
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	assert.Equal(t, `{"aud":"a","aud":"b"}`, string(payload))
	verifyES256(t, keys, tok)

	// IAPSignature: the JOSE and DER forms are the same signature.
	input := parts[0] + "." + parts[1]
	jose, der := emu.IAPSignature(input)
	sum := sha256.Sum256([]byte(input))
	pub := keys[emu.IAPKeyID()]
	assert.True(t, ecdsa.VerifyASN1(pub, sum[:], der))
	assert.True(t, ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(jose[:32]), new(big.Int).SetBytes(jose[32:])))

	assert.Equal(t, "e30.bnVsbA.AQI", idtokentest.AssembleJWS([]byte("{}"), []byte("null"), []byte{1, 2}))
	rs := emu.SignRS256JSON([]byte(`{"alg":"RS256"}`), []byte(`[]`))
	assert.Len(t, strings.Split(rs, "."), 3)
}
