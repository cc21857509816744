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
	require.NoError(t, run(context.Background(), []string{"-emulate", "-explain"}, &out))
	assert.Contains(t, out.String(), "credentials: service_account (GOOGLE_APPLICATION_CREDENTIALS=")
	assert.Contains(t, out.String(), "status: 200 OK\nhello, cloudrun-caller@idtokens-emulator.iam.gserviceaccount.com\n")
}

func TestEmulatedQuiet(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate"}, &out))
	assert.Equal(t, "status: 200 OK\nhello, cloudrun-caller@idtokens-emulator.iam.gserviceaccount.com\n", out.String())
}

func TestURLRequired(t *testing.T) {
	t.Parallel()
	assert.EqualError(t, run(context.Background(), nil, &bytes.Buffer{}), "-url is required (or try -emulate)")
}
