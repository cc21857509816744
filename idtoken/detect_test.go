package idtoken_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
)

const aud = "https://hello-abc123-uc.a.run.app"

// env is an injected environment: Getenv reads the map, HomeDir a fixed
// directory, and the metadata server is absent unless onGCE says so.
type env struct {
	vars  map[string]string
	home  string
	onGCE bool
}

func (e env) opts(o idtoken.Options) idtoken.Options {
	o.Getenv = func(k string) string { return e.vars[k] }
	o.HomeDir = func() (string, error) {
		if e.home == "" {
			return "", errors.New("no home")
		}
		return e.home, nil
	}
	o.OnGCE = func(context.Context) bool { return e.onGCE }
	return o
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// claims gets one token from d and returns its claims.
func claims(t *testing.T, d *idtoken.Detection) jwt.Claims {
	t.Helper()
	tok, err := d.TokenSource.Token()
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, tok.AccessToken, tok.Extra("id_token"))
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, c.Expiry, tok.Expiry, "Expiry is the exp claim")
	assert.Equal(t, []string{aud}, c.Audience)
	return c
}

func TestDetectServiceAccountFromEnvVar(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("env")
	p := writeFile(t, t.TempDir(), "key.json", sa.KeyJSON())
	// A well-known file also exists: the env var must win.
	home := t.TempDir()
	other := emu.NewServiceAccount("wellknown")
	writeFile(t, home, ".config/gcloud/application_default_credentials.json", other.KeyJSON())

	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": p}, home: home}
	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{}))
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodServiceAccountKey, d.Method)
	assert.Equal(t, "GOOGLE_APPLICATION_CREDENTIALS="+p, d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))
}

func TestDetectWellKnownFileUnderHome(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("home")
	home := t.TempDir()
	p := writeFile(t, home, ".config/gcloud/application_default_credentials.json", sa.KeyJSON())

	d, err := idtoken.Detect(context.Background(), aud, env{home: home}.opts(idtoken.Options{}))
	require.NoError(t, err)
	assert.Equal(t, "gcloud ADC file "+p, d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)
}

func TestDetectWellKnownFileUnderCloudSDKConfig(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("sdkconfig")
	cfg := t.TempDir()
	p := writeFile(t, cfg, "application_default_credentials.json", sa.KeyJSON())

	e := env{vars: map[string]string{"CLOUDSDK_CONFIG": cfg}, home: t.TempDir()}
	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{}))
	require.NoError(t, err)
	assert.Equal(t, "gcloud ADC file "+p, d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)
}

func TestDetectExplicitCredentials(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("explicit")
	// The env var names a broken file: explicit credentials must not look at it.
	broken := writeFile(t, t.TempDir(), "broken.json", []byte("{"))
	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": broken}}

	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{CredentialsJSON: sa.KeyJSON()}))
	require.NoError(t, err)
	assert.Equal(t, "Options.CredentialsJSON", d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)

	p := writeFile(t, t.TempDir(), "sa.json", sa.KeyJSON())
	d, err = idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{CredentialsFile: p}))
	require.NoError(t, err)
	assert.Equal(t, "Options.CredentialsFile "+p, d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)
}

// The exact text users see when nothing is configured: every step, why
// it did not apply, and the gcloud opt-in.
func TestDetectNothingFound(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	_, err := idtoken.Detect(context.Background(), aud, env{home: home}.opts(idtoken.Options{}))
	require.Error(t, err)
	want := "idtoken: no credentials found; tried: " +
		"GOOGLE_APPLICATION_CREDENTIALS: not set; " +
		"gcloud ADC file " + filepath.Join(home, ".config", "gcloud", "application_default_credentials.json") +
		": not found (run `gcloud auth application-default login` to create it); " +
		"metadata server: not detected (not running on Google Cloud, and GCE_METADATA_HOST is not set); " +
		"gcloud CLI: not enabled (set Options.UseGcloud to use `gcloud auth print-identity-token` as a last resort)"
	assert.Equal(t, want, err.Error())
	assert.ErrorIs(t, err, idtoken.ErrNoCredentials)
	var nc *idtoken.NoCredentialsError
	require.ErrorAs(t, err, &nc)
	require.Len(t, nc.Attempts, 4)
	assert.Equal(t, "metadata server", nc.Attempts[2].Step)

	// No home directory at all.
	_, err = idtoken.Detect(context.Background(), aud, env{}.opts(idtoken.Options{}))
	require.ErrorAs(t, err, &nc)
	assert.Equal(t, idtoken.Attempt{Step: "gcloud ADC file", Reason: "home directory unknown"}, nc.Attempts[1])
}

// Not parallel: it uses the real environment (t.Setenv) and the default
// Getenv, to prove the defaults read os.
func TestDetectRealEnvironment(t *testing.T) {
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("realenv")
	p := writeFile(t, t.TempDir(), "key.json", sa.KeyJSON())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)

	d, err := idtoken.Detect(context.Background(), aud, idtoken.Options{})
	require.NoError(t, err)
	assert.Equal(t, "GOOGLE_APPLICATION_CREDENTIALS="+p, d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email)

	// CLOUDSDK_CONFIG pointing at an empty dir, no env var, no metadata.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	cfg := t.TempDir()
	t.Setenv("CLOUDSDK_CONFIG", cfg)
	_, err = idtoken.Detect(context.Background(), aud, idtoken.Options{OnGCE: func(context.Context) bool { return false }})
	require.ErrorIs(t, err, idtoken.ErrNoCredentials)
	assert.Contains(t, err.Error(), "gcloud ADC file "+filepath.Join(cfg, "application_default_credentials.json")+": not found")
}

// A credential that is present but broken stops detection: it must not
// fall through to another identity.
func TestDetectBrokenCredentialsStop(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	good := emu.NewServiceAccount("fallback")
	home := t.TempDir()
	writeFile(t, home, ".config/gcloud/application_default_credentials.json", good.KeyJSON())
	dir := t.TempDir()

	cases := map[string]struct {
		env  map[string]string
		want error
		text string
	}{
		"missing file":    {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(dir, "nope.json")}, os.ErrNotExist, "idtoken: reading GOOGLE_APPLICATION_CREDENTIALS file"},
		"not json":        {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeFile(t, dir, "a.json", []byte(`{"type":`))}, idtoken.ErrInvalidCredentials, "not JSON (syntax error at byte 8)"},
		"no type":         {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeFile(t, dir, "b.json", []byte(`{}`))}, idtoken.ErrInvalidCredentials, `no "type" field`},
		"type not string": {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeFile(t, dir, "c.json", []byte(`{"type":1}`))}, idtoken.ErrInvalidCredentials, `field "type" has the wrong JSON type`},
		"unknown type":    {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeFile(t, dir, "d.json", []byte(`{"type":"gdch_service_account"}`))}, idtoken.ErrInvalidCredentials, `unsupported credentials type "gdch_service_account"`},
		"bad key":         {map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeFile(t, dir, "e.json", []byte(`{"type":"service_account","client_email":"a@b","private_key":"x"}`))}, nil, "keyfile: invalid service account key: private_key is not PEM"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := idtoken.Detect(context.Background(), aud, env{vars: tc.env, home: home}.opts(idtoken.Options{}))
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "idtoken: "), err.Error())
		})
	}
	assert.Zero(t, emu.Count(idtokentest.EndpointToken), "the well-known file was never used")
}

func TestDetectConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := idtoken.Detect(context.Background(), "", idtoken.Options{})
	assert.ErrorIs(t, err, idtoken.ErrNoAudience)
	_, err = idtoken.Detect(context.Background(), aud, idtoken.Options{Method: "magic"})
	assert.EqualError(t, err, `idtoken: unknown Options.Method "magic"`)
	_, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: []byte("{}"), CredentialsFile: "x"})
	assert.EqualError(t, err, "idtoken: set at most one of Options.CredentialsJSON and Options.CredentialsFile")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = idtoken.Detect(ctx, aud, idtoken.Options{})
	assert.ErrorIs(t, err, context.Canceled)
}

// Options.Method restricts detection to one type: files of other types
// are recorded and skipped (explicit ones are an error).
func TestDetectForcedMethod(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("forced")
	p := writeFile(t, t.TempDir(), "key.json", sa.KeyJSON())
	home := t.TempDir()
	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": p}, home: home, onGCE: true}

	_, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{Method: idtoken.MethodExternalAccount}))
	var nc *idtoken.NoCredentialsError
	require.ErrorAs(t, err, &nc)
	assert.Equal(t, []idtoken.Attempt{
		{Step: "GOOGLE_APPLICATION_CREDENTIALS=" + p, Reason: `type "service_account", not the "external_account" Options.Method asks for`},
		{Step: "gcloud ADC file " + filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), Reason: "not found (run `gcloud auth application-default login` to create it)"},
	}, nc.Attempts, "the metadata server and gcloud are not tried when a file type is forced")

	_, err = idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{Method: idtoken.MethodAuthorizedUser, CredentialsJSON: sa.KeyJSON()}))
	assert.ErrorIs(t, err, idtoken.ErrInvalidCredentials)
	assert.Contains(t, err.Error(), `type is "service_account" but Options.Method is "authorized_user"`)

	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{Method: idtoken.MethodServiceAccountKey}))
	require.NoError(t, err)
	assert.Equal(t, sa.Email, claims(t, d).Email)
}

func TestAuthorizedUserNeedsTarget(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	client := emu.NewOAuthClient()
	rt := emu.IssueRefreshToken(client, emu.NewUser("dev@example.com"))
	home := t.TempDir()
	p := writeFile(t, home, ".config/gcloud/application_default_credentials.json", emu.AuthorizedUserJSON(client, rt))

	_, err := idtoken.Detect(context.Background(), aud, env{home: home}.opts(idtoken.Options{}))
	require.ErrorIs(t, err, idtoken.ErrNeedsImpersonation)
	assert.Equal(t, idtoken.ErrNeedsImpersonation.Error()+" (credentials: gcloud ADC file "+p+")", err.Error())
	assert.Contains(t, err.Error(), "Options.ImpersonateServiceAccount")
	assert.NotContains(t, err.Error(), rt)
	assert.NotContains(t, err.Error(), client.Secret)
}
