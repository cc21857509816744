package idtoken

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWellKnownFile(t *testing.T) {
	t.Parallel()
	const name = "application_default_credentials.json"
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("none") }

	p, err := wellKnownFile(env(nil), home, "linux")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/home/u", ".config", "gcloud", name), p)

	p, err = wellKnownFile(env(map[string]string{"CLOUDSDK_CONFIG": "/cfg"}), noHome, "linux")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/cfg", name), p, "CLOUDSDK_CONFIG wins")

	p, err = wellKnownFile(env(map[string]string{"APPDATA": `C:\Users\u\AppData\Roaming`}), home, "windows")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(`C:\Users\u\AppData\Roaming`, "gcloud", name), p, "Windows uses %APPDATA%, not the home dir")

	_, err = wellKnownFile(env(nil), home, "windows")
	assert.EqualError(t, err, "APPDATA is not set")
	_, err = wellKnownFile(env(nil), noHome, "darwin")
	assert.EqualError(t, err, "home directory unknown")
}

func TestImpersonationTarget(t *testing.T) {
	t.Parallel()
	email, root, err := impersonationTarget("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken")
	require.NoError(t, err)
	assert.Equal(t, "sa@p.iam.gserviceaccount.com", email)
	assert.Equal(t, "https://iamcredentials.googleapis.com/", root)

	email, root, err = impersonationTarget("http://127.0.0.1:8080/v1/projects/-/serviceAccounts/sa%40p.iam.gserviceaccount.com:generateAccessToken")
	require.NoError(t, err)
	assert.Equal(t, "sa@p.iam.gserviceaccount.com", email)
	assert.Equal(t, "http://127.0.0.1:8080/", root)

	for _, bad := range []string{"", "/v1/projects/-/serviceAccounts/sa:x", "ftp://h/v1/projects/-/serviceAccounts/sa", "https://h/v1/projects/-/sa", "https://h/v1/projects/-/serviceAccounts/:generateAccessToken", "https://h/serviceAccounts/a/b:x"} {
		_, _, err := impersonationTarget(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, []string{"a@x", "b@x"}, delegateEmails([]string{"projects/-/serviceAccounts/a@x", "b@x"}))
	assert.Nil(t, delegateEmails(nil))
}

// FuzzParseCredentials: credential files are untrusted input. The
// parser must not panic, and its errors must not quote the input.
func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"type":"impersonated_service_account","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken","delegates":["projects/-/serviceAccounts/d@b"],"source_credentials":{"type":"authorized_user","refresh_token":"1//secret"}}`))
	f.Add([]byte(`{"type":`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"x","delegates":"notalist"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseCredentials(data)
		if err != nil {
			if len(data) > 8 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		if cf.Type == "" {
			t.Fatal("parsed a file without type")
		}
		_, _, _ = impersonationTarget(cf.ServiceAccountImpersonationURL)
		_ = delegateEmails(cf.Delegates)
		if len(cf.SourceCredentials) > 0 {
			_, _ = parseCredentials(cf.SourceCredentials)
		}
	})
}
