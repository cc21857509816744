package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulated(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate", "-audience", "https://svc.example"}, &out))
	s := out.String()
	assert.Contains(t, s, "provider: //iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/github\n")
	assert.Contains(t, s, "principal: principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/subject/repo:acme/app:ref:refs/heads/main\n")
	assert.Contains(t, s, "audience: https://svc.example\n")
	assert.Contains(t, s, "email:    invoker@idtokens-emulator.iam.gserviceaccount.com\n")
	assert.Regexp(t, `\nsubject:  [0-9]{21}\n`, s, "the service account's unique ID")
	// Two round trips: one token exchange, one generateIdToken, and no
	// access token for the service account in between.
	assert.Contains(t, s, "round trips: STS 1, generateIdToken 1, generateAccessToken 0\n")
	assert.NotContains(t, s, "eyJ", "the token is never printed")
}

func TestEmulatedDefaultsWithoutEmail(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate", "-include-email=false"}, &out))
	s := out.String()
	assert.Contains(t, s, "audience: https://hello-abc123-uc.a.run.app\n", "the default audience")
	assert.NotContains(t, s, "email:")
	assert.Contains(t, s, "round trips: STS 1, generateIdToken 1, generateAccessToken 0\n")
}

func TestAudienceRequired(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-credentials", "cred.json"}, &out)
	require.EqualError(t, err, "-credentials and -audience are required (or use -emulate)")
	assert.Contains(t, out.String(), "Usage of federation:\n", "the usage goes with the error")
	assert.Contains(t, out.String(), "-service-account string\n")
}
