package idtoken_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
)

// A developer's `gcloud auth application-default login` file plus
// Options.ImpersonateServiceAccount: refresh → generateIdToken.
func TestDetectAuthorizedUserImpersonates(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("runner")
	client := emu.NewOAuthClient()
	user := emu.NewUser("dev@example.com")
	rt := emu.IssueRefreshToken(client, user)
	emu.AllowImpersonation(user.Email, sa.Email)
	home := t.TempDir()
	writeFile(t, home, ".config/gcloud/application_default_credentials.json", emu.AuthorizedUserJSON(client, rt))

	o := env{home: home}.opts(idtoken.Options{ImpersonateServiceAccount: sa.Email, HTTPClient: emu.Client()})
	d, err := idtoken.Detect(context.Background(), aud, o)
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodAuthorizedUser, d.Method)
	assert.Equal(t, sa.Email, d.Impersonated)
	assert.Equal(t, sa.Email, claims(t, d).Email)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken), "one refresh")
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointGenerateIDToken))

	// A revoked refresh token: the error names the failure, never the secrets.
	emu.RevokeRefreshToken(rt)
	d, err = idtoken.Detect(context.Background(), aud, o)
	require.NoError(t, err)
	_, err = d.TokenSource.Token()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid_grant")
	assert.NotContains(t, err.Error(), rt)
	assert.NotContains(t, err.Error(), client.Secret)

	// No permission on the target: IAM's 403 comes through.
	other := emu.NewServiceAccount("not-granted")
	rt2 := emu.IssueRefreshToken(client, user)
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: emu.AuthorizedUserJSON(client, rt2), ImpersonateServiceAccount: other.Email, HTTPClient: emu.Client()})
	require.NoError(t, err)
	_, err = d.TokenSource.Token()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PERMISSION_DENIED")
}

// impersonatedFile builds the file `gcloud auth application-default login
// --impersonate-service-account` writes.
func impersonatedFile(t *testing.T, iamRoot, target string, delegates []string, source []byte) []byte {
	t.Helper()
	var src map[string]any
	require.NoError(t, json.Unmarshal(source, &src))
	b, err := json.Marshal(map[string]any{
		"type":                              "impersonated_service_account",
		"service_account_impersonation_url": iamRoot + "v1/projects/-/serviceAccounts/" + target + ":generateAccessToken",
		"delegates":                         delegates,
		"source_credentials":                src,
	})
	require.NoError(t, err)
	return b
}

func TestDetectImpersonatedServiceAccountFile(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	target := emu.NewServiceAccount("target")
	middle := emu.NewServiceAccount("middle")
	client := emu.NewOAuthClient()
	user := emu.NewUser("dev@example.com")
	emu.AllowImpersonation(user.Email, middle.Email)
	emu.AllowImpersonation(middle.Email, target.Email)

	// User source, one delegate in resource-name form, and an
	// impersonation URL on the emulator: no HTTPClient redirect needed.
	file := impersonatedFile(t, emu.IAMCredentialsURL(), target.Email,
		[]string{"projects/-/serviceAccounts/" + middle.Email},
		emu.AuthorizedUserJSON(client, emu.IssueRefreshToken(client, user)))
	p := writeFile(t, t.TempDir(), "imp.json", file)
	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": p}, home: t.TempDir()}
	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{}))
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodImpersonatedServiceAccount, d.Method)
	assert.Equal(t, target.Email, d.Impersonated)
	assert.Equal(t, target.Email, claims(t, d).Email)

	// Without the delegate the chain is not allowed: proves delegates are sent.
	file = impersonatedFile(t, emu.IAMCredentialsURL(), target.Email, nil,
		emu.AuthorizedUserJSON(client, emu.IssueRefreshToken(client, user)))
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: file})
	require.NoError(t, err)
	_, err = d.TokenSource.Token()
	assert.ErrorContains(t, err, "PERMISSION_DENIED")

	// Service-account key source with Google's real IAM URL, routed to the
	// emulator by the HTTP client.
	caller := emu.NewServiceAccount("caller")
	emu.AllowImpersonation(caller.Email, target.Email)
	file = impersonatedFile(t, "https://iamcredentials.googleapis.com/", target.Email, nil, caller.KeyJSON())
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: file, HTTPClient: emu.Client()})
	require.NoError(t, err)
	assert.Equal(t, target.Email, claims(t, d).Email)

	// Options.ImpersonateServiceAccount overrides the file's target.
	other := emu.NewServiceAccount("other")
	emu.AllowImpersonation(caller.Email, other.Email)
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: file, HTTPClient: emu.Client(), ImpersonateServiceAccount: other.Email, OmitEmail: true})
	require.NoError(t, err)
	assert.Equal(t, other.Email, d.Impersonated)
	c := claims(t, d)
	assert.Empty(t, c.Email, "OmitEmail → includeEmail=false")
	assert.Equal(t, other.UniqueID, c.Subject)
}

func TestDetectImpersonatedFileErrors(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	key := emu.NewServiceAccount("src").KeyJSON()
	cases := map[string]struct {
		file string
		text string
	}{
		"no url":            {`{"type":"impersonated_service_account","source_credentials":{"type":"authorized_user"}}`, "service_account_impersonation_url is not an absolute http(s) URL"},
		"url without sa":    {`{"type":"impersonated_service_account","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/x","source_credentials":{}}`, "no /serviceAccounts/ segment"},
		"no source":         {`{"type":"impersonated_service_account","service_account_impersonation_url":"https://i/v1/projects/-/serviceAccounts/a@b:generateAccessToken"}`, "no source_credentials"},
		"source no type":    {`{"type":"impersonated_service_account","service_account_impersonation_url":"https://i/v1/projects/-/serviceAccounts/a@b:generateAccessToken","source_credentials":{}}`, `source_credentials: no "type" field`},
		"nested external":   {`{"type":"impersonated_service_account","service_account_impersonation_url":"https://i/v1/projects/-/serviceAccounts/a@b:generateAccessToken","source_credentials":{"type":"external_account"}}`, `source_credentials type "external_account" is not supported`},
		"source bad user":   {`{"type":"impersonated_service_account","service_account_impersonation_url":"https://i/v1/projects/-/serviceAccounts/a@b:generateAccessToken","source_credentials":{"type":"authorized_user","client_id":"c"}}`, "impersonate:"},
		"delegates invalid": {string(impersonatedFile(t, "https://i/", "a@b", []string{"bad/delegate/x"}, key)), "delegate"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: []byte(tc.file)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "idtoken: using Options.CredentialsJSON (impersonated_service_account): "), err.Error())
		})
	}
}

// A service-account key as the caller of generateIdToken for another
// account.
func TestDetectServiceAccountKeyImpersonates(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	caller := emu.NewServiceAccount("ci")
	target := emu.NewServiceAccount("deployer")
	emu.AllowImpersonation(caller.Email, target.Email)
	d, err := idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: caller.KeyJSON(), ImpersonateServiceAccount: target.Email, HTTPClient: emu.Client()})
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodServiceAccountKey, d.Method)
	assert.Equal(t, target.Email, claims(t, d).Email)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointGenerateIDToken))
}

// fakeGcloud writes a gcloud stand-in that records its arguments and
// prints token.
func fakeGcloud(t *testing.T, token string) (bin, argv string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake gcloud is a shell script")
	}
	dir := t.TempDir()
	argv = filepath.Join(dir, "argv")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + argv + "'\nprintf '%s\\n' '" + token + "'\n"
	bin = filepath.Join(dir, "gcloud")
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o700))
	return bin, argv
}

func TestDetectGcloudLastResort(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	tok := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud, Email: "dev-sa@p.iam.gserviceaccount.com"})
	bin, argv := fakeGcloud(t, tok)
	home := t.TempDir()

	d, err := idtoken.Detect(context.Background(), aud, env{home: home}.opts(idtoken.Options{UseGcloud: true, GcloudBinary: bin}))
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodGcloud, d.Method)
	assert.Equal(t, "dev-sa@p.iam.gserviceaccount.com", claims(t, d).Email)
	args, err := os.ReadFile(argv)
	require.NoError(t, err)
	assert.Contains(t, string(args), "print-identity-token\n")
	assert.Contains(t, string(args), "--audiences="+aud+"\n")

	// Allowed but not installed: recorded, still "no credentials".
	_, err = idtoken.Detect(context.Background(), aud, env{home: home}.opts(idtoken.Options{UseGcloud: true, GcloudBinary: filepath.Join(home, "no-gcloud")}))
	var nc *idtoken.NoCredentialsError
	require.ErrorAs(t, err, &nc)
	require.Len(t, nc.Attempts, 4)
	assert.Equal(t, "gcloud CLI", nc.Attempts[3].Step)
	assert.Contains(t, nc.Attempts[3].Reason, "enabled by Options.UseGcloud but not installed")

	// Forced, with impersonation passed through.
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{Method: idtoken.MethodGcloud, GcloudBinary: bin, ImpersonateServiceAccount: "dev-sa@p.iam.gserviceaccount.com"})
	require.NoError(t, err)
	_, err = d.TokenSource.Token()
	require.NoError(t, err)
	args, err = os.ReadFile(argv)
	require.NoError(t, err)
	assert.Contains(t, string(args), "--impersonate-service-account=dev-sa@p.iam.gserviceaccount.com\n")
	assert.Contains(t, string(args), "--include-email\n")
}

// Forced gcloud that is not installed is a hard error, with gcloud's hint.
func TestDetectGcloudForcedNotInstalled(t *testing.T) {
	t.Parallel()
	_, err := idtoken.Detect(context.Background(), aud, idtoken.Options{Method: idtoken.MethodGcloud, GcloudBinary: filepath.Join(t.TempDir(), "gcloud")})
	require.Error(t, err)
	assert.NotErrorIs(t, err, idtoken.ErrNoCredentials)
	assert.True(t, strings.HasPrefix(err.Error(), "idtoken: gcloud"), err.Error())
}
