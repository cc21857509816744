package gcloud

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Sentinel errors; test with errors.Is. Failures of a gcloud run are
// *Error values that match one of these (or none, for failures gcloud
// reports in a way this package does not recognise).
var (
	// ErrInvalidConfig: Config has a value gcloud would refuse or that
	// could be mistaken for a flag. Returned by the constructors.
	ErrInvalidConfig = errors.New("gcloud: invalid Config")
	// ErrNotInstalled: the gcloud binary is not in PATH (or Binary is
	// not executable).
	ErrNotInstalled = errors.New("gcloud: the gcloud CLI is not installed")
	// ErrNotLoggedIn: gcloud has no active account, or the account asked
	// for has no credentials.
	ErrNotLoggedIn = errors.New("gcloud: not logged in")
	// ErrReauth: the account's credentials were revoked or expired, or
	// the organisation requires reauthentication.
	ErrReauth = errors.New("gcloud: reauthentication required")
	// ErrAudiencesNeedServiceAccount: gcloud refuses --audiences for user
	// accounts.
	ErrAudiencesNeedServiceAccount = errors.New("gcloud: a custom audience requires a service account")
	// ErrIncludeEmailNeedsImpersonation: gcloud accepts --include-email
	// only with --impersonate-service-account.
	ErrIncludeEmailNeedsImpersonation = errors.New("gcloud: IncludeEmail requires ImpersonateServiceAccount")
	// ErrImpersonation: the IAM Credentials API refused to mint a token
	// for the impersonated service account.
	ErrImpersonation = errors.New("gcloud: service account impersonation failed")
	// ErrTimeout: gcloud did not finish within Config.Timeout and was
	// killed.
	ErrTimeout = errors.New("gcloud: timed out")
	// ErrBadOutput: gcloud succeeded but printed something that is not a
	// usable token.
	ErrBadOutput = errors.New("gcloud: unexpected output")
	// ErrFailed: gcloud failed for a reason not covered above; the
	// Message says which.
	ErrFailed = errors.New("gcloud: command failed")
)

var hints = map[error]string{
	ErrNotInstalled:                   "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) or set Config.Binary to its path",
	ErrNotLoggedIn:                    "run `gcloud auth login` (a person) or `gcloud auth activate-service-account --key-file=…`, or set Config.Account to a credentialed account (`gcloud auth list`)",
	ErrReauth:                         "run `gcloud auth login` to sign in again",
	ErrAudiencesNeedServiceAccount:    "gcloud mints tokens for a custom audience only for service accounts: set Config.ImpersonateServiceAccount (needs roles/iam.serviceAccountTokenCreator on it), activate a service account, or use package signin for a user's own ID token",
	ErrIncludeEmailNeedsImpersonation: "set Config.ImpersonateServiceAccount, or drop IncludeEmail",
	ErrImpersonation:                  "grant the active gcloud account roles/iam.serviceAccountTokenCreator on the service account (and on every delegate), and check the email",
	ErrTimeout:                        "gcloud took longer than Config.Timeout; run the same command by hand to see what it waits for",
	ErrBadOutput:                      "run the same gcloud command by hand; a wrapper script or an old gcloud may print something else",
	ErrFailed:                         "run the same gcloud command by hand to see the whole message",
}

// Error is a failed gcloud run. Its text never contains a token.
type Error struct {
	// Command is the gcloud command that failed, without its flags, e.g.
	// "gcloud auth print-identity-token".
	Command string
	// ExitCode is gcloud's exit status; -1 when it did not run to the end
	// (not found, killed on timeout or cancellation).
	ExitCode int
	// Message is gcloud's error message, cleaned: its ERROR paragraph
	// without the "ERROR: (gcloud.…)" prefix, warnings and advice lines,
	// whitespace collapsed, token-like strings redacted, at most 512 bytes.
	Message string
	// Hint says what to do about it.
	Hint string
	// Err is the sentinel this failure matches (ErrNotLoggedIn, …), or
	// the context's error when the caller gave up.
	Err error

	cause error // the underlying error (exec, parse), for Unwrap only
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gcloud: ")
	b.WriteString(e.Command)
	if e.ExitCode > 0 {
		fmt.Fprintf(&b, " exited with status %d", e.ExitCode)
	} else {
		b.WriteString(" failed")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

const maxMessage = 512

// secretPattern matches strings that look like credentials: JWTs, OAuth
// access and refresh tokens, client secrets, PEM blocks.
var secretPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?|ya29\.[A-Za-z0-9_.-]+|1//[A-Za-z0-9_-]+|GOCSPX-[A-Za-z0-9_-]+|-----BEGIN[^-]*-----[^-]*`)

// redact replaces token-like strings with [REDACTED].
func redact(s string) string { return secretPattern.ReplaceAllString(s, "[REDACTED]") }

// cleanStderr extracts gcloud's error message from its standard error:
// the paragraph that starts with "ERROR: (gcloud.…)" (prefix removed),
// else the last non-warning line (a Python traceback's last line),
// whitespace collapsed, advice lines dropped, secrets redacted, clipped.
func cleanStderr(stderr string) string {
	lines := strings.Split(strings.ReplaceAll(stderr, "\r\n", "\n"), "\n")
	var para []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		rest, ok := strings.CutPrefix(t, "ERROR:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "(gcloud") {
			if j := strings.Index(rest, ")"); j >= 0 {
				rest = strings.TrimSpace(rest[j+1:])
			}
		}
		para = append(para, rest)
		for _, next := range lines[i+1:] {
			n := strings.TrimSpace(next)
			if n == "" || strings.HasPrefix(n, "WARNING:") || strings.HasPrefix(n, "ERROR:") {
				break
			}
			if strings.HasSuffix(n, "run:") || strings.HasPrefix(n, "$ ") {
				continue // "Please run:" advice: the Hint says it better
			}
			para = append(para, n)
		}
		break
	}
	if len(para) == 0 {
		for i := len(lines) - 1; i >= 0; i-- {
			t := strings.TrimSpace(lines[i])
			if t != "" && !strings.HasPrefix(t, "WARNING:") {
				para = []string{t}
				break
			}
		}
	}
	msg := redact(strings.Join(strings.Fields(strings.Join(para, " ")), " "))
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && msg[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// classify maps gcloud's standard error to a sentinel.
func classify(stderr string) error {
	s := strings.ToLower(stderr)
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("invalid account type for `--audiences`", "invalid account type for --audiences"):
		return ErrAudiencesNeedServiceAccount
	case has("invalid account type for `--include-email`", "invalid account type for --include-email"):
		return ErrIncludeEmailNeedsImpersonation
	case has("do not currently have an active account", "does not have any valid credentials", "no credentialed accounts"):
		return ErrNotLoggedIn
	case has("reauthenticat", "reauth is required", "invalid_rapt", "invalid_grant", "expired or revoked"):
		return ErrReauth
	case has("failed to impersonate"):
		return ErrImpersonation
	}
	return ErrFailed
}
