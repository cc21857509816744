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
	assert.Contains(t, out.String(), "verified: yes\n")
	assert.Contains(t, out.String(), "issuer:   https://accounts.google.com\n")
	assert.Contains(t, out.String(), "audience: https://svc.example\n")
	assert.Contains(t, out.String(), "email:    example-key@idtokens-emulator.iam.gserviceaccount.com\n")
	assert.NotContains(t, out.String(), "eyJ", "no token printed by default")
}

func TestNoKey(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-key", ""}, &bytes.Buffer{})
	assert.EqualError(t, err, "no key file: set -key or GOOGLE_APPLICATION_CREDENTIALS (or try -emulate)")
}
