package keyfile_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/keyfile"
)

const aud = "https://hello-abc123-uc.a.run.app"

// noRetry keeps failure tests fast and their request counts exact.
var noRetry = keyfile.Retry{MaxAttempts: 1} // the public alias users write

func TestIDTokenFromKeyFile(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("caller")
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)

	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, []string{aud}, c.Audience)
	assert.Equal(t, sa.Email, c.Email)
	assert.Equal(t, c.Expiry, tok.Expiry, "Expiry comes from the exp claim")
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, 5*time.Second)

	// Cached: a second call makes no request.
	tok2, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok, tok2)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))
}

// Google's own validator, pointed at the emulator through an http.Client,
// accepts what keyfile got from the emulator: the emulator speaks Google's
// format and the library carries it unchanged.
func TestGoogleValidatorAcceptsToken(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("oracle")
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)

	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(context.Background(), tok.AccessToken, aud)
	require.NoError(t, err)
	assert.Equal(t, sa.Email, p.Claims["email"])
	assert.Equal(t, "https://accounts.google.com", p.Issuer)

	_, err = v.Validate(context.Background(), tok.AccessToken, "https://other.example")
	require.Error(t, err, "the oracle must reject a wrong audience, or this test proves nothing")
}

func TestKeyFileFromPath(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("file")
	path := filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, os.WriteFile(path, sa.KeyJSON(), 0o600))
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsFile: path})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)

	_, err = keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsFile: path + ".missing"})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSigner(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("hsm")
	signer := &hsm{key: sa.Key}
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{
		Audience: aud, Signer: signer, Email: sa.Email, TokenURL: emu.TokenURL(),
	})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, sa.Email, c.Email)
	assert.EqualValues(t, 1, signer.n.Load())

	_, err = keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, Signer: signer})
	require.ErrorIs(t, err, keyfile.ErrInvalidKey, "email required")

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, Signer: ec, Email: "x@y"})
	require.ErrorIs(t, err, keyfile.ErrInvalidKey, "EC keys are refused at construction")
}

type hsm struct {
	key crypto.Signer
	n   atomic.Int32
}

func (h *hsm) Public() crypto.PublicKey { return h.key.Public() }
func (h *hsm) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	h.n.Add(1)
	return h.key.Sign(r, d, o)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	good := emu.NewServiceAccount("cfg").KeyJSON()
	var m map[string]any
	require.NoError(t, json.Unmarshal(good, &m))
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for key, val := range m {
			c[key] = val
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return b
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))

	cases := map[string]struct {
		cfg  keyfile.Config
		want error
		text string
	}{
		"no audience":        {keyfile.Config{CredentialsJSON: good}, keyfile.ErrNoAudience, "Audience is required"},
		"no key":             {keyfile.Config{Audience: aud}, keyfile.ErrNoKey, "exactly one"},
		"two keys":           {keyfile.Config{Audience: aud, CredentialsJSON: good, CredentialsFile: "x"}, keyfile.ErrNoKey, "exactly one"},
		"malformed json":     {keyfile.Config{Audience: aud, CredentialsJSON: []byte(`{"type":`)}, keyfile.ErrInvalidKey, "not JSON"},
		"json array":         {keyfile.Config{Audience: aud, CredentialsJSON: []byte(`[]`)}, keyfile.ErrInvalidKey, "not a JSON object"},
		"wrong type":         {keyfile.Config{Audience: aud, CredentialsJSON: with("type", "authorized_user")}, keyfile.ErrInvalidKey, `type is "authorized_user"`},
		"no type":            {keyfile.Config{Audience: aud, CredentialsJSON: with("type", nil)}, keyfile.ErrInvalidKey, `no "type"`},
		"type not string":    {keyfile.Config{Audience: aud, CredentialsJSON: with("type", 5)}, keyfile.ErrInvalidKey, `"type" has the wrong JSON type`},
		"no email":           {keyfile.Config{Audience: aud, CredentialsJSON: with("client_email", nil)}, keyfile.ErrInvalidKey, "missing client_email"},
		"no private key":     {keyfile.Config{Audience: aud, CredentialsJSON: with("private_key", nil)}, keyfile.ErrInvalidKey, "missing private_key"},
		"bad pem":            {keyfile.Config{Audience: aud, CredentialsJSON: with("private_key", "-----BEGIN PRIVATE KEY-----\nnotbase64!!\n-----END PRIVATE KEY-----\n")}, keyfile.ErrInvalidKey, "not PEM"},
		"pem not a key":      {keyfile.Config{Audience: aud, CredentialsJSON: with("private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, keyfile.ErrInvalidKey, "neither PKCS#8 nor PKCS#1"},
		"ec key":             {keyfile.Config{Audience: aud, CredentialsJSON: with("private_key", ecPEM)}, keyfile.ErrInvalidKey, "want RSA"},
		"relative token url": {keyfile.Config{Audience: aud, CredentialsJSON: good, TokenURL: "/token"}, nil, "not an absolute http(s) URL"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := keyfile.NewTokenSource(context.Background(), tc.cfg)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "keyfile: "), err.Error())
			assertNoSecret(t, err, m["private_key"].(string))
		})
	}
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, line := range strings.Split(s, "\n") {
			if len(line) > 20 {
				assert.NotContains(t, err.Error(), line, "error text leaks a secret")
			}
		}
	}
}

// fakeEndpoint serves one canned reply from a token endpoint and records
// the assertions it receives.
func fakeEndpoint(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestEndpointFailures(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("fail")
	// {"alg":"RS256"}.{"aud":"x"} — a token without exp.
	noExp := "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := map[string]struct {
		status   int
		body     string
		url      string
		check    func(t *testing.T, err error)
		attempts int32
	}{
		"invalid_grant": {status: 400, body: `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, check: func(t *testing.T, err error) {
			var he *keyfile.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 400, he.StatusCode)
			assert.Equal(t, "invalid_grant", he.Code)
			assert.Equal(t, "Invalid JWT Signature.", he.Description)
			assert.False(t, he.Temporary())
			assert.Contains(t, err.Error(), "keyfile: HTTP 400 Bad Request from")
		}},
		"500": {status: 500, body: `oops`, check: func(t *testing.T, err error) {
			var he *keyfile.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 500, he.StatusCode)
			assert.True(t, he.Temporary())
		}},
		"200 without id_token": {status: 200, body: `{"access_token":"ya29.x"}`, check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, keyfile.ErrNoIDToken)
		}},
		"200 not json": {status: 200, body: `<html>`, check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, keyfile.ErrBadReply)
		}},
		"token without exp": {status: 200, body: `{"id_token":"` + noExp + `"}`, check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, keyfile.ErrInvalidToken)
			require.ErrorIs(t, err, jwt.ErrNoExpiry)
		}},
		"unreachable": {url: closed.URL + "/token", check: func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "keyfile: POST "+closed.URL+"/token")
			assert.Contains(t, err.Error(), "refused")
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u := tc.url
			if u == "" {
				srv, _ := fakeEndpoint(t, tc.status, tc.body)
				u = srv.URL + "/token"
			}
			ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{
				Audience: aud, CredentialsJSON: sa.KeyJSON(), TokenURL: u, Retry: noRetry,
			})
			require.NoError(t, err)
			_, err = ts.Token()
			require.Error(t, err)
			tc.check(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "keyfile: "), err.Error())
			assertNoSecret(t, err, string(sa.KeyJSON()))
		})
	}
}

func TestEmulatorRejectsForeignKey(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	other := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("victim")
	impostor := other.NewServiceAccount("victim") // same email, different key
	var m map[string]any
	require.NoError(t, json.Unmarshal(impostor.KeyJSON(), &m))
	m["client_email"] = sa.Email
	m["token_uri"] = emu.TokenURL()
	b, _ := json.Marshal(m)
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsJSON: b, Retry: noRetry})
	require.NoError(t, err)
	_, err = ts.Token()
	var he *keyfile.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "invalid_grant", he.Code)
}

func TestRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("retry")
	emu.InjectFault(idtokentest.EndpointToken, 2, idtokentest.Fault{Status: 503})
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{
		Audience: aud, CredentialsJSON: sa.KeyJSON(),
		Retry: httpx.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, 3, emu.Count(idtokentest.EndpointToken))
}

func TestTokenContextHonoursDeadline(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("slow")
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Delay: 5 * time.Second})
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = ts.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}).TokenContext(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConcurrentCallersOneRequest(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("many")
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ts.Token()
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))
}
