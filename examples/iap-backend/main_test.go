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
	s := out.String()
	assert.Contains(t, s, "audience /projects/123456789012/global/backendServices/4242\n")
	assert.Contains(t, s, "from IAP: 200 hello, alice@example.com\n")
	assert.Contains(t, s, "rejected GET /: verify: request carries no token\nno assertion (IAP bypassed): 401")
	assert.Contains(t, s, "rejected GET /: verify: identity headers do not match the verified token: X-Goog-Authenticated-User-Email\nforged email header: 401")
}

func TestAudienceRequired(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-project-number", "1"}, &bytes.Buffer{})
	assert.EqualError(t, err, "set -audience, or -project-number with -backend-service-id or -app-engine-project (or try -emulate)")
}

// Real mode serves until the context ends.
func TestServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"-addr", "127.0.0.1:0", "-audience", "/projects/1/apps/p"}, &out))
	assert.Contains(t, out.String(), "audience /projects/1/apps/p")
}
