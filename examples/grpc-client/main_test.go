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
	require.NoError(t, run(context.Background(), []string{"-emulate"}, &out))
	assert.Equal(t, "health: SERVING\n", out.String())
}

func TestAddrRequired(t *testing.T) {
	t.Parallel()
	assert.EqualError(t, run(context.Background(), nil, &bytes.Buffer{}), "-addr is required (or try -emulate)")
}
