package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/idtokens/idtokens/idtokentest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartRunsOffline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out))
	text := out.String()
	for _, m := range methods(idtokentest.OAuthClient{}) {
		i := strings.Index(text, m.name)
		require.GreaterOrEqual(t, i, 0, "no row for %s", m.name)
		row := text[i : i+strings.IndexByte(text[i:], '\n')]
		want := "backend URL"
		if m.userAudience {
			want = "OAuth client ID"
		}
		assert.Contains(t, row, want, "the backend must have verified %s's token: %q", m.name, row)
	}
	assert.Contains(t, text, "assertion for alice@example.com accepted (200)")
	assert.Contains(t, text, "refused (401)")
}
