package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var enc = base64.RawURLEncoding.EncodeToString

func rsaJWK(t testing.TB, kid string, bits int, extra ...string) map[string]any {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	m := map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func ecJWK(t testing.TB, kid string, curve elliptic.Curve, crv string) map[string]any {
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	size := (curve.Params().BitSize + 7) / 8
	return map[string]any{"kty": "EC", "kid": kid, "alg": "ES256", "crv": crv,
		"x": enc(k.X.FillBytes(make([]byte, size))), "y": enc(k.Y.FillBytes(make([]byte, size)))}
}

func setJSON(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func TestParseKeySetSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	good := rsaJWK(t, "good", 2048)
	weak := rsaJWK(t, "weak", 1024)
	wrongAlg := rsaJWK(t, "rs512", 2048, "alg", "RS512")
	encUse := rsaJWK(t, "enc", 2048, "use", "enc")
	noKid := rsaJWK(t, "", 2048)
	dupA, dupB := rsaJWK(t, "dup", 2048), rsaJWK(t, "dup", 2048)
	ec := ecJWK(t, "ec", elliptic.P256(), "P-256")
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	private := rsaJWK(t, "private", 2048)
	private["n"], private["e"] = enc(priv.N.Bytes()), "AQAB"
	private["d"] = enc(priv.D.Bytes())

	noAlg := rsaJWK(t, "no-alg", 2048)
	delete(noAlg, "alg")
	delete(noAlg, "use")
	keys, err := parseKeySet(setJSON(good, noAlg, weak, wrongAlg, encUse, noKid, dupA, dupB, ec, private,
		map[string]any{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": enc(make([]byte, 32))}), algRS256)
	require.NoError(t, err)
	assert.Len(t, keys, 2)
	assert.Contains(t, keys, "good")
	assert.Contains(t, keys, "no-alg", "alg and use are optional in a JWK")

	// ES256: only P-256 EC keys on the curve.
	ecGood := ecJWK(t, "p256", elliptic.P256(), "P-256")
	p384 := ecJWK(t, "p384", elliptic.P384(), "P-384")
	offCurve := ecJWK(t, "off", elliptic.P256(), "P-256")
	offCurve["y"] = enc(append(make([]byte, 31), 7))
	keys, err = parseKeySet(setJSON(ecGood, p384, offCurve, good), algES256)
	require.NoError(t, err)
	assert.Len(t, keys, 1)
	assert.Contains(t, keys, "p256")
	assert.NotNil(t, keys["p256"].ec)

	for name, body := range map[string]string{
		"not JSON":      "<html>",
		"no keys":       `{"keys":[]}`,
		"keys not list": `{"keys":{}}`,
		"array":         `[]`,
		"only weak":     string(setJSON(weak)),
	} {
		_, err := parseKeySet([]byte(body), algRS256)
		assert.True(t, errors.Is(err, ErrBadKeySet), "%s: %v", name, err)
	}
}

// FuzzKeySet feeds arbitrary JWKS replies to the key-set parser: no panic,
// and every key it keeps is usable for the algorithm.
func FuzzKeySet(f *testing.F) {
	f.Add(setJSON(rsaJWK(f, "a", 2048)), true)
	f.Add(setJSON(ecJWK(f, "b", elliptic.P256(), "P-256")), false)
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-256","kid":"y","x":"","y":""}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, rs bool) {
		alg := algES256
		if rs {
			alg = algRS256
		}
		keys, err := parseKeySet(body, alg)
		if err != nil {
			if !errors.Is(err, ErrBadKeySet) {
				t.Fatalf("error %v is not ErrBadKeySet", err)
			}
			return
		}
		for kid, k := range keys {
			if kid == "" {
				t.Fatal("empty kid kept")
			}
			if rs && (k.rsa == nil || k.rsa.N.BitLen() < 2048) || !rs && k.ec == nil {
				t.Fatalf("unusable key %q kept", kid)
			}
		}
	})
}
