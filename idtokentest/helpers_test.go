package idtokentest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// These helpers build and read JWTs with the standard library only, so the
// emulator is checked against an independent implementation (not the
// module's internal/jwt).

var b64 = base64.RawURLEncoding

func signAssertion(t testing.TB, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return input + "." + b64.EncodeToString(sig)
}

// decode returns the header and claims of a compact JWS, unverified.
func decode(t testing.TB, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3, "compact JWS")
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := b64.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, dst))
	}
	return header, claims
}

// verifyWith checks raw's RS256 signature against the JWKS at certsURL.
func verifyWith(t testing.TB, c *http.Client, certsURL, raw string) bool {
	t.Helper()
	resp, err := c.Get(certsURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&jwks))
	h, _ := decode(t, raw)
	i := strings.LastIndexByte(raw, '.')
	sig, err := b64.DecodeString(raw[i+1:])
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(raw[:i]))
	for _, k := range jwks.Keys {
		if k.Kid != h["kid"] {
			continue
		}
		n, err := b64.DecodeString(k.N)
		require.NoError(t, err)
		e, err := b64.DecodeString(k.E)
		require.NoError(t, err)
		exp := 0
		for _, x := range e {
			exp = exp<<8 | int(x)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

func do(t testing.TB, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

func postForm(t testing.TB, c *http.Client, u string, form url.Values) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func postJSON(t testing.TB, c *http.Client, u, bearer, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, c, req)
}

func get(t testing.TB, c *http.Client, u string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "GET", u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = []string{hdr[i+1]} // as given: no canonicalisation
	}
	return do(t, c, req)
}

func newClient(t testing.TB) *http.Client {
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}
