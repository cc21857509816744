package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// needGcloud skips where -emulate cannot run: it drives the real gcloud
// CLI (in a throwaway CLOUDSDK_CONFIG that run passes to gcloud through
// Config.Env, never through this process's environment).
func needGcloud(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gcloud"); err != nil {
		t.Skip("gcloud is not installed")
	}
	if testing.Short() {
		t.Skip("gcloud takes seconds per call")
	}
}

const emu = "@idtokens-emulator.iam.gserviceaccount.com"

func TestEmulatedIDTokenThroughDelegate(t *testing.T) {
	t.Parallel()
	needGcloud(t)
	var out bytes.Buffer
	// The emulator lets developer impersonate relay and relay impersonate
	// invoker, not developer invoker: the token proves gcloud was given
	// the whole chain.
	require.NoError(t, run(context.Background(), []string{
		"-emulate", "-audience", "https://svc.example", "-delegates", "relay", "-include-email",
	}, &out))
	s := out.String()
	assert.Regexp(t, `^emulator at http://127\.0\.0\.1:[0-9]+; gcloud signed in as developer`+regexp.QuoteMeta(emu)+`, impersonating invoker`+regexp.QuoteMeta(emu)+"\n", s)
	assert.Regexp(t, "\ntoken:   eyJ[A-Za-z0-9_-]{21}…\n", s, "only the token's first characters")
	assert.Contains(t, s, `"aud": "https://svc.example",`)
	assert.Contains(t, s, `"email": "invoker`+emu+`",`)
	assert.Contains(t, s, `"email_verified": true,`)
	assert.Contains(t, s, `"iss": "https://accounts.google.com",`)
}

func TestEmulatedAccessToken(t *testing.T) {
	t.Parallel()
	needGcloud(t)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate", "-access-token"}, &out))
	s := out.String()
	assert.Contains(t, s, "impersonating invoker"+emu+"\n")
	assert.Regexp(t, "\ntoken:   \\S{1,24}…\nexpires: \\S+ \\(in [0-9hms]+\\)\n$", s)
	assert.NotContains(t, s, "claims:", "an access token is not a JWT")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	// Checked before gcloud is looked for, so these run everywhere.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-include-email"}, "gcloud: IncludeEmail requires ImpersonateServiceAccount"},
		{[]string{"-delegates", "relay@p.iam.gserviceaccount.com"}, "gcloud: invalid Config: Delegates need ImpersonateServiceAccount"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), append(tc.args, "-gcloud", "/nonexistent/gcloud"), &bytes.Buffer{})
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestEmulateWithoutGcloud(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-emulate", "-gcloud", "/nonexistent/gcloud"}, &bytes.Buffer{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "-emulate runs the real gcloud CLI, which is not installed: "), err.Error())
}
