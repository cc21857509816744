package secretscan_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/internal/secretscan"
	"github.com/idtokens/idtokens/keyfile"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// The checker itself can fail, for every kind of credential, and does not
// flag ordinary error text.
func TestCheckerDetects(t *testing.T) {
	t.Parallel()
	leaks := map[string]string{
		"pem header":    "keyfile: bad key -----BEGIN PRIVATE KEY-----",
		"pem rsa":       "x -----BEGIN RSA PRIVATE KEY-----",
		"pem body":      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
		"access token":  "keyfile: got ya29.emu-0123456789abcdef",
		"jwt":           "token eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln",
		"refresh token": "refresh 1//emu-0123456789abcdef failed",
		"client secret": "client GOCSPX-0123456789ab",
	}
	for name, text := range leaks {
		r := &recorder{TB: t}
		secretscan.Check(r, errors.New(text))
		assert.Len(t, r.failed, 1, name)
		for _, f := range r.failed {
			assert.NotContains(t, f, text, "the report must not repeat the secret")
		}
	}
	// Explicit secrets: whole, or any line of 16+ bytes (real or \n-escaped).
	secret := "line-one-of-the-secret\nline-two-of-the-secret"
	for _, text := range []string{secret, "… line-two-of-the-secret …", `{"k":"line-one-of-the-secret\n…"}`} {
		r := &recorder{TB: t}
		secretscan.Check(r, fmt.Errorf("wrapped: %w", errors.New(text)), secret)
		assert.Len(t, r.failed, 1, text)
	}
	clean := []string{
		"keyfile: HTTP 400 Bad Request from http://127.0.0.1:43321/token: invalid_grant: Invalid JWT Signature.",
		"keyfile: POST https://oauth2.googleapis.com/token: context deadline exceeded",
		"keyfile: invalid service account key: private_key is not PEM",
		"metadata: GET http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity: EOF",
	}
	for _, text := range clean {
		r := &recorder{TB: t}
		secretscan.Check(r, errors.New(text), "line-one-of-the-secret", "short")
		assert.Empty(t, r.failed, text)
	}
	secretscan.Check(t, nil, "anything")
}

// assertions captures every assertion the library sends.
type assertions struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (a *assertions) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		if form, err := url.ParseQuery(string(b)); err == nil && form.Get("assertion") != "" {
			a.mu.Lock()
			a.seen = append(a.seen, form.Get("assertion"))
			a.mu.Unlock()
		}
	}
	return a.base.RoundTrip(r)
}

func (a *assertions) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// Drive keyfile through every failure the emulator can inject and check
// that no error text holds the private key, an assertion, an issued token,
// a refresh token or a client secret.
func TestKeyfileErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("leaky")
	der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
	require.NoError(t, err)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	accessToken, _ := emu.IssueAccessToken(sa.Email, 0)
	oc := emu.NewOAuthClient()
	refreshToken := emu.IssueRefreshToken(oc, emu.NewUser("dev@example.com"))
	goodToken := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: "https://svc.example", Email: sa.Email})
	noExp := emu.SignRS256(nil, map[string]any{"aud": "https://svc.example", "email": sa.Email})

	// "400 echoes token" plays an endpoint that echoes credentials back:
	// httpx redacts them from server text (see also httpx's echo test).
	faults := map[string][]idtokentest.Fault{
		"400 oauth":         {{Status: 400, Body: `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`}},
		"401":               {{Status: 401}},
		"403":               {{Status: 403}},
		"500 forever":       {{Status: 500}},
		"503 retry-after":   {{Status: 503, RetryAfter: time.Hour}},
		"garbage":           {{Garbage: true}},
		"drop forever":      {{Drop: true}},
		"delay+deadline":    {{Delay: time.Hour}},
		"200 access only":   {{Status: 200, Body: `{"access_token":"` + accessToken + `"}`}},
		"200 bad id_token":  {{Status: 200, Body: `{"id_token":"eyJhbGciOiJSUzI1NiJ9.%%%.x"}`}},
		"200 token no exp":  {{Status: 200, Body: `{"id_token":"` + noExp + `"}`}},
		"200 wrong type":    {{Status: 200, Body: `{"id_token":5}`}},
		"400 echoes token":  {{Status: 400, Body: `{"error":"invalid_grant","error_description":"not ` + goodToken + ` nor ` + refreshToken + ` nor ` + oc.Secret + `"}`}},
		"500 then 400":      {{Status: 500}, {Status: 400}},
		"drop then garbage": {{Drop: true}, {Garbage: true}},
	}
	for name, fs := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := idtokentest.NewServer(t)
			sa := emu.NewServiceAccount("leaky") // a fresh key per case
			der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
			require.NoError(t, err)
			keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			for i, f := range fs {
				n := 1
				if i == len(fs)-1 {
					n = -1
				}
				emu.InjectFault(idtokentest.EndpointToken, n, f)
			}
			rec := &assertions{base: &http.Transport{}}
			c := &http.Client{Transport: rec}
			t.Cleanup(c.CloseIdleConnections)
			ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{
				Audience: "https://svc.example", CredentialsJSON: sa.KeyJSON(), HTTPClient: c,
				Retry: httpx.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond},
			})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err = ts.(interface {
				TokenContext(context.Context) (*oauth2.Token, error)
			}).TokenContext(ctx)
			require.Error(t, err)
			sent := rec.all()
			require.NotEmpty(t, sent, "the library sent at least one assertion")
			secrets := append([]string{keyPEM, string(sa.KeyJSON()), accessToken, refreshToken, oc.Secret, goodToken, noExp}, sent...)
			secretscan.Check(t, err, secrets...)
		})
	}

	// Construction errors: every way a key file can be wrong.
	bad := map[string][]byte{
		"truncated":   sa.KeyJSON()[:200],
		"ec key":      []byte(`{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"}`),
		"wrong type":  bytes.Replace(sa.KeyJSON(), []byte(`"service_account"`), []byte(`"authorized_user"`), 1),
		"key as int":  []byte(`{"type":"service_account","client_email":"a@b","private_key":5}`),
		"garbled pem": bytes.Replace(sa.KeyJSON(), []byte("MII"), []byte("M!I"), 1),
	}
	for name, data := range bad {
		_, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: "a", CredentialsJSON: data})
		require.Error(t, err, name)
		secretscan.Check(t, err, keyPEM, string(sa.KeyJSON()))
	}
	path := filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, os.WriteFile(path, sa.KeyJSON()[:300], 0o600))
	_, err = keyfile.NewTokenSource(context.Background(), keyfile.Config{Audience: "a", CredentialsFile: path})
	require.Error(t, err)
	secretscan.Check(t, err, keyPEM)
}
