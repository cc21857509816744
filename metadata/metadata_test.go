package metadata_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const aud = "https://hello-abc123-uc.a.run.app"

func newEmu(t *testing.T) (*idtokentest.Server, *idtokentest.ServiceAccount) {
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("runtime")
	emu.SetMetadataServiceAccount(sa)
	return emu, sa
}

// payload decodes the claims of a token into a map.
func payload(t *testing.T, raw string) map[string]any {
	t.Helper()
	p, err := jwt.Split(raw)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(p.Payload, &m))
	return m
}

func TestFullFormatIsDefault(t *testing.T) {
	t.Parallel()
	emu, sa := newEmu(t)
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, Host: emu.MetadataHost()})
	require.NoError(t, err)
	assert.Zero(t, emu.Count(idtokentest.EndpointMetadataIdentity), "construction makes no request")

	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	c := payload(t, tok.AccessToken)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, sa.Email, c["email"])
	assert.Equal(t, sa.UniqueID, c["sub"])
	ce := c["google"].(map[string]any)["compute_engine"].(map[string]any)
	assert.Equal(t, emu.ProjectID(), ce["project_id"])
	assert.NotContains(t, ce, "license_id")
	assert.Equal(t, time.Unix(int64(c["exp"].(float64)), 0).UTC(), tok.Expiry, "Expiry comes from exp")

	again, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, tok, again)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataIdentity), "one round trip per cold token")

	// Google's validator, pointed at the emulator, accepts the token.
	v, err := googleidtoken.NewValidator(context.Background(), option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	p, err := v.Validate(context.Background(), tok.AccessToken, aud)
	require.NoError(t, err)
	assert.Equal(t, sa.Email, p.Claims["email"])
}

func TestFormatsAndLicenses(t *testing.T) {
	t.Parallel()
	emu, sa := newEmu(t)
	get := func(cfg metadata.Config) map[string]any {
		cfg.Audience, cfg.Host = aud, emu.MetadataHost()
		ts, err := metadata.NewTokenSource(context.Background(), cfg)
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		return payload(t, tok.AccessToken)
	}
	std := get(metadata.Config{Format: "standard"})
	assert.Equal(t, sa.UniqueID, std["sub"])
	assert.NotContains(t, std, "email", "standard tokens carry no email")
	assert.NotContains(t, std, "google")

	full := get(metadata.Config{Format: "full", Licenses: true})
	assert.Equal(t, sa.Email, full["email"])
	ce := full["google"].(map[string]any)["compute_engine"].(map[string]any)
	assert.Contains(t, ce, "license_id")

	byEmail := get(metadata.Config{Account: sa.Email})
	assert.Equal(t, sa.Email, byEmail["email"])
	assert.Equal(t, 3, emu.Count(idtokentest.EndpointMetadataIdentity))
}

func TestUnknownAccount(t *testing.T) {
	t.Parallel()
	emu, _ := newEmu(t)
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{
		Audience: aud, Host: emu.MetadataHost(), Account: "other@p.iam.gserviceaccount.com",
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, metadata.ErrNotFound)
	var he *metadata.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 404, he.StatusCode)
	assert.Equal(t, "http://"+emu.MetadataHost()+"/computeMetadata/v1/instance/service-accounts/other@p.iam.gserviceaccount.com/identity", he.Endpoint)
	assert.NotContains(t, err.Error(), "audience=", "the query stays out of errors")
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataIdentity), "404 is not retried")
}

// The metadata server refuses requests without Metadata-Flavor: Google
// (so that a server-side request forgery cannot read tokens); Google's
// Python client sends the header name in lower case.
func TestEmulatorRequiresMetadataFlavor(t *testing.T) {
	t.Parallel()
	emu, _ := newEmu(t)
	url := "http://" + emu.MetadataHost() + "/computeMetadata/v1/instance/service-accounts/default/identity?audience=" + aud
	get := func(h http.Header) (int, string, http.Header) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		for k, v := range h {
			req.Header[k] = v // raw: no canonicalisation
		}
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header
	}
	status, body, _ := get(nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.NotContains(t, body, ".", "no token in the refusal")
	status, _, _ = get(http.Header{"Metadata-Flavor": {"google"}})
	assert.Equal(t, http.StatusForbidden, status, "the value is case-sensitive")
	status, _, _ = get(http.Header{"Metadata-Flavor": {"Google"}, "X-Forwarded-For": {"10.0.0.1"}})
	assert.Equal(t, http.StatusForbidden, status, "proxied requests are refused")
	status, body, h := get(http.Header{"metadata-flavor": {"Google"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Google", h.Get("Metadata-Flavor"))
	_, err := jwt.UnverifiedClaims(body)
	require.NoError(t, err)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg  metadata.Config
		want error
		text string
	}{
		"no audience":            {metadata.Config{}, metadata.ErrNoAudience, "Audience is required"},
		"bad format":             {metadata.Config{Audience: aud, Format: "jwt"}, metadata.ErrBadConfig, `Format is "jwt"`},
		"licenses with standard": {metadata.Config{Audience: aud, Format: "standard", Licenses: true}, metadata.ErrBadConfig, "Licenses needs"},
		"account with slash":     {metadata.Config{Audience: aud, Account: "../token"}, metadata.ErrBadConfig, "Account"},
		"host with scheme":       {metadata.Config{Audience: aud, Host: "http://x"}, metadata.ErrBadConfig, "without scheme"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := metadata.NewTokenSource(context.Background(), tc.cfg)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "metadata: "), err.Error())
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := metadata.NewTokenSource(ctx, metadata.Config{Audience: aud})
	require.ErrorIs(t, err, context.Canceled)
}

func TestServerFailures(t *testing.T) {
	t.Parallel()
	noExp := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"x"}`)) + ".c2ln"
	cases := map[string]struct {
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		"garbage": {200, "<html>", func(t *testing.T, err error) {
			require.ErrorIs(t, err, metadata.ErrInvalidToken)
		}},
		"empty": {200, "\n", func(t *testing.T, err error) {
			require.ErrorIs(t, err, metadata.ErrInvalidToken)
		}},
		"no exp": {200, noExp, func(t *testing.T, err error) {
			require.ErrorIs(t, err, jwt.ErrNoExpiry)
			assert.NotContains(t, err.Error(), noExp)
		}},
		"too large": {200, strings.Repeat("a", metadata.MaxBody+1), func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "exceeds size limit")
		}},
		"400": {400, "non-empty audience parameter required\n", func(t *testing.T, err error) {
			var he *metadata.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 400, he.StatusCode)
			assert.Equal(t, "non-empty audience parameter required", he.Description)
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Metadata-Flavor", "Google")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{
				Audience: aud, Host: strings.TrimPrefix(srv.URL, "http://"),
			})
			require.NoError(t, err)
			_, err = ts.Token()
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "metadata: "), err.Error())
			tc.check(t, err)
		})
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	emu, _ := newEmu(t)
	emu.InjectFault(idtokentest.EndpointMetadataIdentity, 1, idtokentest.Fault{Status: 503})
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, Host: emu.MetadataHost()})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointMetadataIdentity))
}

func TestTokenContextHonoursDeadline(t *testing.T) {
	t.Parallel()
	emu, _ := newEmu(t)
	emu.InjectFault(idtokentest.EndpointMetadataIdentity, 1, idtokentest.Fault{Delay: 3 * time.Second})
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, Host: emu.MetadataHost()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = ts.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}).TokenContext(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Not parallel: it sets GCE_METADATA_HOST, which Google's metadata
// package and OnGCE read.
func TestHostFromEnvironment(t *testing.T) {
	emu, sa := newEmu(t)
	t.Setenv(metadata.HostEnv, emu.MetadataHost())
	assert.True(t, metadata.OnGCE(context.Background()))
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, sa.Email, payload(t, tok.AccessToken)["email"])
}

func TestProbe(t *testing.T) {
	t.Parallel()
	emu, _ := newEmu(t)
	assert.True(t, metadata.Probe(context.Background(), metadata.Config{Host: emu.MetadataHost()}))

	// A web server that is not a metadata server.
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	assert.False(t, metadata.Probe(context.Background(), metadata.Config{Host: strings.TrimPrefix(plain.URL, "http://")}))

	// A closed port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	assert.False(t, metadata.Probe(context.Background(), metadata.Config{Host: closed}))

	assert.False(t, metadata.Probe(context.Background(), metadata.Config{Host: "bad/host"}))
}

// A listener that accepts connections (the kernel does) but never
// answers: what 169.254.169.254 looks like on some networks off Google
// Cloud. The probe gives up at the caller's deadline, and without one
// at ProbeTimeout (the test would hang otherwise).
func TestProbeBlackHole(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	cfg := metadata.Config{Host: l.Addr().String()}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.False(t, metadata.Probe(ctx, cfg))
	assert.False(t, metadata.Probe(context.Background(), cfg))
}

func FuzzParseIdentity(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln\n"))
	f.Add([]byte("a.b.c"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := metadata.ParseIdentity(body)
		if err != nil {
			return
		}
		if tok.Expiry.IsZero() || tok.TokenType != "Bearer" || strings.TrimSpace(tok.AccessToken) != tok.AccessToken {
			t.Fatalf("accepted %q as %+v", body, tok)
		}
	})
}

func Example() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	emu.SetMetadataServiceAccount(emu.NewServiceAccount("runtime"))

	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{
		Audience: "https://hello-abc123-uc.a.run.app",
		Host:     emu.MetadataHost(), // on Google Cloud: leave empty
	})
	if err != nil {
		panic(err)
	}
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType, tok.Expiry.Sub(emu.Now()).Round(time.Minute))
	// Output: Bearer 1h0m0s
}

// The directory paths Google's clients read before asking for a token:
// gcloud lists the accounts, google-auth reads the account's JSON.
func TestEmulatorMetadataDirectory(t *testing.T) {
	t.Parallel()
	emu, sa := newEmu(t)
	get := func(path string) (string, string) {
		req, err := http.NewRequest(http.MethodGet, "http://"+emu.MetadataHost()+"/computeMetadata/v1/"+path, nil)
		require.NoError(t, err)
		req.Header.Set("Metadata-Flavor", "Google")
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, path)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b), resp.Header.Get("Content-Type")
	}
	body, _ := get("instance/service-accounts/")
	assert.Equal(t, "default/\n"+sa.Email+"/\n", body)
	body, ctype := get("instance/service-accounts/?recursive=true")
	assert.Contains(t, ctype, "application/json")
	var dir map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &dir))
	assert.Equal(t, sa.Email, dir["default"]["email"])
	assert.Equal(t, sa.Email, dir[sa.Email]["email"])
	body, _ = get("instance/service-accounts/default/?recursive=true")
	var one map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &one))
	assert.Equal(t, sa.Email, one["email"])
	body, _ = get("instance/service-accounts/default/email")
	assert.Equal(t, sa.Email, body)
	// gcloud sends the audience unescaped and licenses=FALSE.
	body, _ = get("instance/service-accounts/default/identity?audience=" + aud + "/path&format=full&licenses=FALSE")
	c := payload(t, body)
	assert.Equal(t, aud+"/path", c["aud"])
	assert.NotContains(t, c["google"].(map[string]any)["compute_engine"], "license_id")
}

// An http.Client that routes Google's hosts (169.254.169.254 included)
// to the emulator works without Host.
func TestEmulatorClientWithoutHost(t *testing.T) {
	t.Parallel()
	emu, sa := newEmu(t)
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, HTTPClient: emu.Client()})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, sa.Email, payload(t, tok.AccessToken)["email"])
}

// One cold token (a new source each time): one round trip to the
// emulator, which signs each token.
func BenchmarkColdToken(b *testing.B) {
	emu := idtokentest.NewServer(b)
	emu.SetMetadataServiceAccount(emu.NewServiceAccount("bench"))
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.Cleanup(client.CloseIdleConnections)
	cfg := metadata.Config{Audience: aud, Host: emu.MetadataHost(), HTTPClient: client}
	for b.Loop() {
		ts, err := metadata.NewTokenSource(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCachedToken(b *testing.B) {
	emu := idtokentest.NewServer(b)
	emu.SetMetadataServiceAccount(emu.NewServiceAccount("bench"))
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, Host: emu.MetadataHost()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// Nothing listening: Google's metadata client retries refused connections
// a few times, then the error names the endpoint without its query.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := l.Addr().String()
	require.NoError(t, l.Close())
	ts, err := metadata.NewTokenSource(context.Background(), metadata.Config{Audience: aud, Host: host})
	require.NoError(t, err)
	_, err = ts.Token()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metadata: GET http://"+host+"/computeMetadata/v1/instance/service-accounts/default/identity: ")
	assert.Contains(t, err.Error(), "refused")
	assert.NotContains(t, err.Error(), "audience")
}

func ExampleProbe() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	// On Google Cloud: metadata.OnGCE(ctx).
	fmt.Println(metadata.Probe(context.Background(), metadata.Config{Host: emu.MetadataHost()}))
	// Output: true
}
