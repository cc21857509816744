package gcloud_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/gcloud"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const aud = "https://hello-abc123-uc.a.run.app"

// fake is a fake gcloud in a temp dir and the files it reports into.
type fake struct {
	bin, argv, env, count, pid string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake gcloud is a POSIX shell script")
	}
	script, err := os.ReadFile("testdata/fake-gcloud.sh")
	require.NoError(t, err)
	dir := t.TempDir()
	f := &fake{
		bin:   filepath.Join(dir, "gcloud"),
		argv:  filepath.Join(dir, "argv"),
		env:   filepath.Join(dir, "env"),
		count: filepath.Join(dir, "count"),
		pid:   filepath.Join(dir, "pid"),
	}
	require.NoError(t, os.WriteFile(f.bin, script, 0o755))
	return f
}

// vars returns Config.Env for a run printing stdout/stderr and exiting
// with code.
func (f *fake) vars(stdout, stderr string, code int, extra ...string) []string {
	return append([]string{
		"FAKE_GCLOUD_ARGV=" + f.argv, "FAKE_GCLOUD_ENV=" + f.env, "FAKE_GCLOUD_COUNT=" + f.count,
		"FAKE_GCLOUD_PID=" + f.pid,
		"FAKE_GCLOUD_STDOUT=" + stdout, "FAKE_GCLOUD_STDERR=" + stderr,
		"FAKE_GCLOUD_EXIT=" + itoa(code),
	}, extra...)
}

func itoa(i int) string { return strconv.Itoa(i) }

func (f *fake) args(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.argv)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func (f *fake) runs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.count)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(b), "\n")
}

func TestIDTokenFlags(t *testing.T) {
	t.Parallel()
	emu := idtokentest.New(idtokentest.Options{})
	const target = "target@p.iam.gserviceaccount.com"
	cases := map[string]struct {
		cfg      gcloud.Config
		tokenAud string
		want     []string
	}{
		"zero config": {
			cfg: gcloud.Config{}, tokenAud: "32555940559.apps.googleusercontent.com",
			want: []string{"auth", "print-identity-token", "--format=value(id_token)"},
		},
		"audience": {
			cfg: gcloud.Config{Audience: aud}, tokenAud: aud,
			want: []string{"auth", "print-identity-token", "--format=value(id_token)", "--audiences=" + aud},
		},
		"account": {
			cfg: gcloud.Config{Audience: aud, Account: "ci@p.iam.gserviceaccount.com"}, tokenAud: aud,
			want: []string{"auth", "print-identity-token", "--format=value(id_token)", "--audiences=" + aud, "--account=ci@p.iam.gserviceaccount.com"},
		},
		"impersonate with email": {
			cfg:      gcloud.Config{Audience: aud, ImpersonateServiceAccount: target, IncludeEmail: true},
			tokenAud: aud,
			want:     []string{"auth", "print-identity-token", "--format=value(id_token)", "--audiences=" + aud, "--impersonate-service-account=" + target, "--include-email"},
		},
		"delegates chain, target last": {
			cfg:      gcloud.Config{Audience: aud, ImpersonateServiceAccount: target, Delegates: []string{"d1@p.iam.gserviceaccount.com", "d2@p.iam.gserviceaccount.com"}},
			tokenAud: aud,
			want:     []string{"auth", "print-identity-token", "--format=value(id_token)", "--audiences=" + aud, "--impersonate-service-account=d1@p.iam.gserviceaccount.com,d2@p.iam.gserviceaccount.com," + target},
		},
		"audience with spaces and shell characters stays one argument": {
			cfg: gcloud.Config{Audience: "a b;$(touch x)|`y`"}, tokenAud: "a b;$(touch x)|`y`",
			want: []string{"auth", "print-identity-token", "--format=value(id_token)", "--audiences=a b;$(touch x)|`y`"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			raw := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: tc.tokenAud, Email: "x@p.iam.gserviceaccount.com"})
			cfg := tc.cfg
			cfg.Binary = f.bin
			cfg.Env = f.vars(raw+"\n", "", 0)
			ts, err := gcloud.NewTokenSource(context.Background(), cfg)
			require.NoError(t, err)
			assert.Equal(t, 0, f.runs(t), "construction does not run gcloud")

			tok, err := ts.Token()
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.args(t))
			assert.Equal(t, raw, tok.AccessToken)
			assert.Equal(t, raw, tok.Extra("id_token"))
			assert.Equal(t, "Bearer", tok.TokenType)
			c, err := jwt.UnverifiedClaims(raw)
			require.NoError(t, err)
			assert.Equal(t, c.Expiry, tok.Expiry, "Expiry is the exp claim")

			again, err := ts.Token()
			require.NoError(t, err)
			assert.Same(t, tok, again)
			assert.Equal(t, 1, f.runs(t), "cached: gcloud ran once")
		})
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	emu := idtokentest.New(idtokentest.Options{})
	raw := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud})
	ts, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{
		Audience: aud, Binary: f.bin,
		Env: f.vars(raw, "", 0, "CLOUDSDK_CONFIG=/tmp/some config", "CLOUDSDK_CORE_DISABLE_PROMPTS=0"),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	b, err := os.ReadFile(f.env)
	require.NoError(t, err)
	env := string(b)
	assert.Contains(t, env, "CLOUDSDK_CONFIG=/tmp/some config\n")
	assert.Contains(t, env, "PATH="+os.Getenv("PATH")+"\n", "os.Environ() is inherited")
	assert.Contains(t, env, "CLOUDSDK_CORE_DISABLE_PROMPTS=0\n", "Config.Env comes last and wins")
}

func TestDisablePromptsByDefault(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	emu := idtokentest.New(idtokentest.Options{})
	ts, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{Binary: f.bin, Env: f.vars(emu.MintIDToken(idtokentest.IDTokenClaims{Audience: "x"}), "", 0)})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	b, err := os.ReadFile(f.env)
	require.NoError(t, err)
	assert.Contains(t, string(b), "CLOUDSDK_CORE_DISABLE_PROMPTS=1\n")
}

// Messages below are gcloud 528's own, captured from runs against the
// emulator or copied from its source.
func TestFailures(t *testing.T) {
	t.Parallel()
	const secret = "ya29.a0AfB_byC-this-must-never-leak"
	cases := map[string]struct {
		cfg     gcloud.Config
		stdout  string
		stderr  string
		code    int
		want    error
		message string
		hint    string
	}{
		"not logged in": {
			stderr: "ERROR: (gcloud.auth.print-identity-token) You do not currently have an active account selected.\nPlease run:\n\n  $ gcloud auth login\n\nto obtain new credentials.\n\nIf you have already logged in with a different account, run:\n\n  $ gcloud config set account ACCOUNT\n\nto select an already authenticated account to use.\n",
			code:   1, want: gcloud.ErrNotLoggedIn,
			message: "You do not currently have an active account selected.", hint: "gcloud auth login",
		},
		"account without credentials": {
			cfg:    gcloud.Config{Account: "other@example.com"},
			stderr: "ERROR: (gcloud.auth.print-identity-token) Your current active account [other@example.com] does not have any valid credentials\nPlease run:\n\n  $ gcloud auth login\n",
			code:   1, want: gcloud.ErrNotLoggedIn,
			message: "Your current active account [other@example.com] does not have any valid credentials", hint: "Config.Account",
		},
		"audiences with a user account": {
			cfg:    gcloud.Config{Audience: aud},
			stderr: "ERROR: (gcloud.auth.print-identity-token) Invalid account type for `--audiences`. Requires valid service account.\n",
			code:   1, want: gcloud.ErrAudiencesNeedServiceAccount,
			message: "Invalid account type for `--audiences`. Requires valid service account.", hint: "ImpersonateServiceAccount",
		},
		"reauth": {
			stderr: "ERROR: (gcloud.auth.print-identity-token) There was a problem reauthenticating while refreshing your current auth tokens: reauth is required.\nPlease retry your command or run:\n\n  $ gcloud auth login\n\nto obtain new credentials.\n",
			code:   1, want: gcloud.ErrReauth,
			message: "There was a problem reauthenticating while refreshing your current auth tokens: reauth is required.", hint: "gcloud auth login",
		},
		"revoked refresh token": {
			stderr: "ERROR: (gcloud.auth.print-identity-token) There was a problem refreshing your current auth tokens: ('invalid_grant: Token has been expired or revoked.', {'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'})\nPlease run:\n\n  $ gcloud auth login\n",
			code:   1, want: gcloud.ErrReauth,
			message: "There was a problem refreshing your current auth tokens: ('invalid_grant: Token has been expired or revoked.'", hint: "gcloud auth login",
		},
		"impersonation denied": {
			cfg:    gcloud.Config{Audience: aud, ImpersonateServiceAccount: "t@p.iam.gserviceaccount.com"},
			stderr: "WARNING: This command is using service account impersonation. All API calls will be executed as [t@p.iam.gserviceaccount.com].\nERROR: (gcloud.auth.print-identity-token) PERMISSION_DENIED: Failed to impersonate [t@p.iam.gserviceaccount.com]. Make sure the account that's trying to impersonate it has access to the service account itself and the \"roles/iam.serviceAccountTokenCreator\" role. Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).\n",
			code:   1, want: gcloud.ErrImpersonation,
			message: "PERMISSION_DENIED: Failed to impersonate [t@p.iam.gserviceaccount.com].", hint: "serviceAccountTokenCreator",
		},
		"unknown failure keeps the message, redacts tokens": {
			stderr: "ERROR: (gcloud.auth.print-identity-token) something odd happened with " + secret + " and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n",
			code:   2, want: gcloud.ErrFailed,
			message: "something odd happened with [REDACTED] and [REDACTED]", hint: "by hand",
		},
		"python traceback": {
			stderr: "Traceback (most recent call last):\n  File \"gcloud.py\", line 1\nModuleNotFoundError: No module named 'googlecloudsdk'\n",
			code:   1, want: gcloud.ErrFailed,
			message: "ModuleNotFoundError: No module named 'googlecloudsdk'",
		},
		"launcher cannot find python": {
			code: 127, want: gcloud.ErrNotInstalled, hint: "install the Google Cloud CLI",
		},
		"success with garbage output": {
			stdout:  "Updates are available for some Google Cloud CLI components.\n" + secret + "\n",
			want:    gcloud.ErrBadOutput,
			message: "more than one line printed",
		},
		"success with a non-JWT": {
			stdout: secret + "\n", want: gcloud.ErrBadOutput, message: "not a usable ID token",
		},
		"success with nothing": {
			want: gcloud.ErrBadOutput, message: "no token printed",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			cfg := tc.cfg
			cfg.Binary = f.bin
			cfg.Env = f.vars(tc.stdout, tc.stderr, tc.code)
			ts, err := gcloud.NewTokenSource(context.Background(), cfg)
			require.NoError(t, err)
			_, err = ts.Token()
			require.Error(t, err)
			require.ErrorIs(t, err, tc.want)
			var ge *gcloud.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, "gcloud auth print-identity-token", ge.Command)
			if tc.code != 0 {
				assert.Equal(t, tc.code, ge.ExitCode)
			}
			assert.Contains(t, ge.Message, tc.message)
			assert.NotContains(t, ge.Message, "WARNING")
			assert.NotContains(t, ge.Message, "ERROR: (gcloud")
			assert.NotContains(t, ge.Message, "$ gcloud")
			assert.Contains(t, ge.Hint, tc.hint)
			assert.True(t, strings.HasPrefix(err.Error(), "gcloud: gcloud auth print-identity-token "), err.Error())
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "eyJ")
		})
	}
}

func TestNotInstalled(t *testing.T) {
	t.Parallel()
	_, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{Binary: filepath.Join(t.TempDir(), "gcloud")})
	require.ErrorIs(t, err, gcloud.ErrNotInstalled)
	var ge *gcloud.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, -1, ge.ExitCode)
	assert.Contains(t, ge.Hint, "https://cloud.google.com/sdk/docs/install")

	_, err = gcloud.NewAccessTokenSource(context.Background(), gcloud.AccessConfig{Binary: "gcloud-that-does-not-exist-anywhere"})
	require.ErrorIs(t, err, gcloud.ErrNotInstalled)

	// Uninstalled after the source was built.
	f := newFake(t)
	ts, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{Binary: f.bin})
	require.NoError(t, err)
	require.NoError(t, os.Remove(f.bin))
	_, err = ts.Token()
	require.ErrorIs(t, err, gcloud.ErrNotInstalled)
}

func TestTimeoutKillsGcloud(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ts, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{
		Binary: f.bin, Timeout: 500 * time.Millisecond, Env: f.vars("", "", 0, "FAKE_GCLOUD_SLEEP=30"),
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, gcloud.ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var ge *gcloud.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, -1, ge.ExitCode)
	assertGone(t, f)
}

// A caller that gives up gets its context's error at once; the shared
// refresh goes on for others, bounded by Timeout.
func TestTokenContextCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ts, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{
		Binary: f.bin, Timeout: 200 * time.Millisecond, Env: f.vars("", "", 0, "FAKE_GCLOUD_SLEEP=30"),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ts.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}).TokenContext(ctx)
	require.ErrorIs(t, err, context.Canceled)
	// Let the detached run end (killed by Timeout) before goleak looks.
	_, err = ts.Token()
	require.ErrorIs(t, err, gcloud.ErrTimeout)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	cases := map[string]struct {
		cfg  gcloud.Config
		want error
		text string
	}{
		"audience looks like a flag":   {gcloud.Config{Audience: "--impersonate-service-account=x"}, gcloud.ErrInvalidConfig, "Audience must not start with '-'"},
		"audience with newline":        {gcloud.Config{Audience: "a\nb"}, gcloud.ErrInvalidConfig, "control characters"},
		"audience with NUL":            {gcloud.Config{Audience: "a\x00b"}, gcloud.ErrInvalidConfig, "control characters"},
		"account looks like a flag":    {gcloud.Config{Account: "-x"}, gcloud.ErrInvalidConfig, "Account must not start"},
		"target with comma":            {gcloud.Config{ImpersonateServiceAccount: "a@x,b@x"}, gcloud.ErrInvalidConfig, "must not contain ','"},
		"delegate with comma":          {gcloud.Config{ImpersonateServiceAccount: "t@x", Delegates: []string{"a,b"}}, gcloud.ErrInvalidConfig, "Delegates[0] must not contain ','"},
		"empty delegate":               {gcloud.Config{ImpersonateServiceAccount: "t@x", Delegates: []string{""}}, gcloud.ErrInvalidConfig, "Delegates[0] is empty"},
		"delegates without target":     {gcloud.Config{Delegates: []string{"d@x"}}, gcloud.ErrInvalidConfig, "need ImpersonateServiceAccount"},
		"include email without target": {gcloud.Config{IncludeEmail: true}, gcloud.ErrIncludeEmailNeedsImpersonation, "IncludeEmail requires"},
		"bad env":                      {gcloud.Config{Env: []string{"NOEQUALS"}}, nil, "KEY=VALUE"},
		"negative timeout":             {gcloud.Config{Timeout: -time.Second}, nil, "Timeout is negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Binary = f.bin
			_, err := gcloud.NewTokenSource(context.Background(), cfg)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				assert.ErrorIs(t, err, gcloud.ErrInvalidConfig, "every construction error is an invalid Config")
			}
			assert.Contains(t, err.Error(), tc.text)
			assert.True(t, strings.HasPrefix(err.Error(), "gcloud: "), err.Error())
			assert.Equal(t, 1, strings.Count(err.Error(), "gcloud: "), "prefix once: %s", err)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gcloud.NewTokenSource(ctx, gcloud.Config{Binary: f.bin})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := map[string]struct {
		cfg    gcloud.AccessConfig
		stdout string
		want   []string
		expiry time.Time
	}{
		"with expiry": {
			stdout: `{"configuration":{},"credential":{"access_token":"ya29.abc","id_token":"eyJx.eyJy.z","token_expiry":"2026-11-23T16:47:52Z"},"sentinels":{}}`,
			want:   []string{"config", "config-helper", "--format=json"},
			expiry: time.Date(2026, 11, 23, 16, 47, 52, 0, time.UTC),
		},
		"impersonated, no expiry reported": {
			cfg:    gcloud.AccessConfig{Account: "me@example.com", ImpersonateServiceAccount: "t@p.iam.gserviceaccount.com", Delegates: []string{"d@p.iam.gserviceaccount.com"}},
			stdout: `{"credential":{"access_token":"ya29.abc"}}`,
			want:   []string{"config", "config-helper", "--format=json", "--account=me@example.com", "--impersonate-service-account=d@p.iam.gserviceaccount.com,t@p.iam.gserviceaccount.com"},
			expiry: now.Add(gcloud.DefaultAccessTokenLifetime),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			cfg := tc.cfg
			cfg.Binary, cfg.Env, cfg.Now = f.bin, f.vars(tc.stdout, "", 0), clock
			ts, err := gcloud.NewAccessTokenSource(context.Background(), cfg)
			require.NoError(t, err)
			tok, err := ts.Token()
			require.NoError(t, err)
			assert.Equal(t, "ya29.abc", tok.AccessToken)
			assert.Equal(t, "Bearer", tok.TokenType)
			assert.Equal(t, tc.expiry, tok.Expiry)
			assert.Equal(t, tc.want, f.args(t))
		})
	}
}

func TestAccessTokenBadOutput(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"not json":        `ya29.secret-token-value`,
		"no credential":   `{"configuration":{}}`,
		"empty token":     `{"credential":{"access_token":""}}`,
		"bad expiry":      `{"credential":{"access_token":"ya29.secret-token-value","token_expiry":"tomorrow"}}`,
		"token with junk": `{"credential":{"access_token":"ya29.secret-token-value\nmore"}}`,
	}
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			ts, err := gcloud.NewAccessTokenSource(context.Background(), gcloud.AccessConfig{Binary: f.bin, Env: f.vars(out, "", 0)})
			require.NoError(t, err)
			_, err = ts.Token()
			require.ErrorIs(t, err, gcloud.ErrBadOutput)
			assert.NotContains(t, err.Error(), "secret-token-value")
			var ge *gcloud.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, "gcloud config config-helper", ge.Command)
		})
	}
}

// assertGone checks that the fake gcloud process no longer exists.
func assertGone(t *testing.T, f *fake) {
	t.Helper()
	b, err := os.ReadFile(f.pid)
	if errors.Is(err, os.ErrNotExist) {
		return // killed before it even wrote its pid (a loaded machine)
	}
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	assert.Error(t, p.Signal(syscall.Signal(0)), "gcloud (pid %d) still runs", pid)
}

// On Windows gcloud is gcloud.cmd, parsed by cmd.exe: values it would
// interpret are refused for batch launchers.
func TestBatchLauncherRefusesCmdMetacharacters(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("uses a POSIX executable named gcloud.cmd")
	}
	bin := filepath.Join(t.TempDir(), "gcloud.cmd")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	for _, a := range []string{"https://x.example/?a=1&b=2", "a|b", "%PATH%", `a"b`, "a^b", "a>b"} {
		_, err := gcloud.NewTokenSource(context.Background(), gcloud.Config{Binary: bin, Audience: a})
		require.ErrorIs(t, err, gcloud.ErrInvalidConfig, a)
		assert.Contains(t, err.Error(), "cmd.exe")
	}
	_, err := gcloud.NewAccessTokenSource(context.Background(), gcloud.AccessConfig{Binary: bin, Account: "a&b@example.com"})
	require.ErrorIs(t, err, gcloud.ErrInvalidConfig)
	_, err = gcloud.NewTokenSource(context.Background(), gcloud.Config{Binary: bin, Audience: aud})
	require.NoError(t, err, "an ordinary URL is fine")
}
