package gcloud

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunCancelledContextKillsGcloud(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("POSIX shell script")
	}
	script, err := os.ReadFile("testdata/fake-gcloud.sh")
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "gcloud")
	require.NoError(t, os.WriteFile(bin, script, 0o755))
	started := filepath.Join(dir, "pid")
	r, err := newRunner(bin, []string{"FAKE_GCLOUD_SLEEP=30", "FAKE_GCLOUD_PID=" + started}, time.Minute)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(started); err == nil {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err = r.run(ctx, "auth print-identity-token", nil)
	require.ErrorIs(t, err, context.Canceled)
	var ge *Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, -1, ge.ExitCode)
	assert.False(t, errors.Is(err, ErrTimeout))
}

func TestCleanStderr(t *testing.T) {
	t.Parallel()
	long := "ERROR: (gcloud.x) " + strings.Repeat("é", 400)
	got := cleanStderr(long)
	assert.LessOrEqual(t, len(got), maxMessage+len("…"))
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.True(t, strings.ToValidUTF8(got, "?") == got, "clipped on a rune boundary")
	assert.Equal(t, "", cleanStderr(""))
	assert.Equal(t, "boom", cleanStderr("WARNING: noise\nboom\n\n"))
	assert.Equal(t, "bad key [REDACTED]-----END PRIVATE KEY-----", cleanStderr("ERROR: (gcloud.x) bad key -----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----"))
}

func FuzzParseIDToken(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4IiwiZXhwIjoxNzk1NDUyNDcyfQ.c2ln\n"), "x")
	f.Add([]byte(""), "")
	f.Add([]byte("two\nlines"), "")
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsieCIsInkiXSwiZXhwIjoxfQ.c2ln"), "y")
	f.Fuzz(func(t *testing.T, out []byte, audience string) {
		tok, err := parseIDToken(out, audience)
		if err != nil {
			var ge *Error
			require.ErrorAs(t, err, &ge)
			require.ErrorIs(t, err, ErrBadOutput)
			// Fixed texts only: nothing of the output reaches the error.
			require.Contains(t, []string{"no token printed", "more than one line printed",
				"output is not a usable ID token", "the token's audience is not the one asked for"}, ge.Message)
			require.Equal(t, "gcloud: gcloud auth print-identity-token failed: "+ge.Message+" (hint: "+hints[ErrBadOutput]+")", err.Error())
			return
		}
		require.Equal(t, strings.TrimSpace(string(out)), tok.AccessToken)
		require.False(t, tok.Expiry.IsZero())
	})
}

func FuzzParseConfigHelper(f *testing.F) {
	f.Add([]byte(`{"credential":{"access_token":"ya29.abc","token_expiry":"2026-11-23T16:47:52Z"}}`))
	f.Add([]byte(`{"credential":{"access_token":"ya29.abc"}}`))
	f.Add([]byte(`{"credential":null}`))
	f.Add([]byte(`[]`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, out []byte) {
		tok, err := parseConfigHelper(out, now)
		if err != nil {
			require.ErrorIs(t, err, ErrBadOutput)
			var ge *Error
			require.ErrorAs(t, err, &ge)
			require.Contains(t, []string{"output is not JSON", "output has no credential.access_token",
				"credential.access_token is not a single word", "credential.token_expiry is not an RFC 3339 time"}, ge.Message)
			require.Equal(t, "gcloud: gcloud config config-helper failed: "+ge.Message+" (hint: "+hints[ErrBadOutput]+")", err.Error())
			return
		}
		require.NotEmpty(t, tok.AccessToken)
		require.NotContains(t, tok.AccessToken, "\n")
		require.False(t, tok.Expiry.IsZero())
	})
}

func FuzzCleanStderr(f *testing.F) {
	f.Add("ERROR: (gcloud.auth.print-identity-token) You do not currently have an active account selected.\nPlease run:\n\n  $ gcloud auth login\n")
	f.Add("WARNING: x\nERROR: (gcloud.y) ya29.secret eyJabcd.efg.hij\n")
	f.Add("Traceback\nValueError: 1//0gsecret")
	f.Fuzz(func(t *testing.T, stderr string) {
		msg := cleanStderr(stderr)
		require.LessOrEqual(t, len(msg), maxMessage+len("…"))
		require.NotContains(t, msg, "\n")
		require.False(t, secretPattern.MatchString(strings.ReplaceAll(msg, "[REDACTED]", " ")), "unredacted secret in %q", msg)
		_ = classify(stderr)
	})
}
