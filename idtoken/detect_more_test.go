package idtoken_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
)

// The metadata server is found by probing GCE_METADATA_HOST (injected),
// after both credential files were looked for.
func TestDetectMetadataServer(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("vm")
	emu.SetMetadataServiceAccount(sa)
	opts := idtoken.Options{
		Getenv:  func(k string) string { return map[string]string{"GCE_METADATA_HOST": emu.MetadataHost()}[k] },
		HomeDir: func() (string, error) { return t.TempDir(), nil },
	} // OnGCE left nil: the real probe runs against the emulator.
	d, err := idtoken.Detect(context.Background(), aud, opts)
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodMetadata, d.Method)
	assert.Equal(t, "metadata server "+emu.MetadataHost(), d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email, "format=full by default: email present")
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataIdentity))

	opts.OmitEmail = true
	d, err = idtoken.Detect(context.Background(), aud, opts)
	require.NoError(t, err)
	assert.Empty(t, claims(t, d).Email, "format=standard")

	// Forced: no probe and no file lookup.
	emu.ResetCounts()
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{Method: idtoken.MethodMetadata, HTTPClient: emu.Client(),
		Getenv: func(string) string { return "" }})
	require.NoError(t, err)
	assert.Equal(t, "metadata server 169.254.169.254", d.Origin)
	assert.Equal(t, sa.Email, claims(t, d).Email, "reached through the emulator's transport")
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointMetadataOther), "no probe when forced")

}

// From a Google Cloud runtime, the attached account impersonates another:
// metadata access token → generateIdToken.
func TestDetectMetadataImpersonates(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	vm := emu.NewServiceAccount("vm")
	target := emu.NewServiceAccount("invoker")
	emu.SetMetadataServiceAccount(vm)
	emu.AllowImpersonation(vm.Email, target.Email)
	opts := idtoken.Options{
		Getenv:                    func(k string) string { return map[string]string{"GCE_METADATA_HOST": emu.MetadataHost()}[k] },
		HomeDir:                   func() (string, error) { return t.TempDir(), nil },
		ImpersonateServiceAccount: target.Email,
		HTTPClient:                emu.Client(), // IAM at its Google address, routed to the emulator
	}
	d, err := idtoken.Detect(context.Background(), aud, opts)
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodMetadata, d.Method)
	assert.Equal(t, target.Email, d.Impersonated)
	assert.Equal(t, target.Email, claims(t, d).Email)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataToken))
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointMetadataIdentity))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointGenerateIDToken))

	// Not granted: IAM's refusal comes through.
	opts.ImpersonateServiceAccount = emu.NewServiceAccount("other").Email
	d, err = idtoken.Detect(context.Background(), aud, opts)
	require.NoError(t, err)
	_, err = d.TokenSource.Token()
	assert.ErrorContains(t, err, "PERMISSION_DENIED")
}

func TestDetectExternalAccount(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("wif-target")
	p := emu.RegisterProvider(idtokentest.ProviderOptions{})
	emu.AllowImpersonation(p.Principal("ci-job-7"), sa.Email)
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "subject.jwt", []byte(p.SignSubjectToken("ci-job-7", "", time.Hour)))
	cred := writeFile(t, dir, "wif.json", p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: tokenFile, ServiceAccount: sa.Email}))

	e := env{vars: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": cred}, home: t.TempDir()}
	d, err := idtoken.Detect(context.Background(), aud, e.opts(idtoken.Options{}))
	require.NoError(t, err)
	assert.Equal(t, idtoken.MethodExternalAccount, d.Method)
	assert.Equal(t, sa.Email, d.Impersonated, "from the file's service_account_impersonation_url")
	assert.Equal(t, sa.Email, claims(t, d).Email)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointSTS))
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointGenerateIDToken))

	// A file without a target and no Options.ImpersonateServiceAccount is
	// an error from federation, surfaced with the file's origin.
	noTarget := writeFile(t, dir, "wif-notarget.json", p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: tokenFile}))
	_, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsFile: noTarget})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "idtoken: using Options.CredentialsFile "+filepath.Join(dir, "wif-notarget.json")+" (external_account): federation: no target service account")

	// Options.ImpersonateServiceAccount supplies it.
	d, err = idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsFile: noTarget, ImpersonateServiceAccount: sa.Email, HTTPClient: emu.Client()})
	require.NoError(t, err)
	assert.Equal(t, sa.Email, d.Impersonated)
	assert.Equal(t, sa.Email, claims(t, d).Email)
}
