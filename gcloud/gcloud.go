package gcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/jwt"
)

// DefaultTimeout bounds one gcloud run unless Config.Timeout says
// otherwise. gcloud takes about a second when warm, several when it must
// refresh a credential first.
const DefaultTimeout = 30 * time.Second

// DefaultAccessTokenLifetime is the lifetime assumed for an access token
// when gcloud reports no expiry. It is short on purpose: gcloud hands out
// its cached token until about 3¾ minutes before that token expires
// (google-auth's refresh threshold), so a token from gcloud may have no
// more than that left.
const DefaultAccessTokenLifetime = 3 * time.Minute

// defaultBinary is the gcloud launcher for this platform.
func defaultBinary() string {
	if runtime.GOOS == "windows" {
		return "gcloud.cmd"
	}
	return "gcloud"
}

// Config configures NewTokenSource. Every field is optional: the zero
// Config prints the active account's ID token.
type Config struct {
	// Audience is passed as --audiences: the URL of the Cloud Run service
	// or Cloud Function, or an IAP OAuth client ID. gcloud accepts it only
	// for service accounts (activated, metadata server, or impersonated).
	// Empty means gcloud's default audience (its own OAuth client ID).
	Audience string
	// ImpersonateServiceAccount is the service account to mint the token
	// for, through the IAM Credentials API, with the active account's
	// credentials (which need roles/iam.serviceAccountTokenCreator on it).
	ImpersonateServiceAccount string
	// Delegates is the chain of service accounts between the active
	// account and ImpersonateServiceAccount, in order: the active account
	// may impersonate Delegates[0], which may impersonate Delegates[1], …,
	// and the last may impersonate ImpersonateServiceAccount. gcloud gets
	// them as --impersonate-service-account=D1,D2,TARGET.
	Delegates []string
	// IncludeEmail asks for the email and email_verified claims. gcloud
	// supports it only with ImpersonateServiceAccount (service-account ID
	// tokens from a key carry the email anyway).
	IncludeEmail bool
	// Account is the gcloud credentialed account to use (--account)
	// instead of the active one.
	Account string

	// Binary is the gcloud executable: a name looked up in PATH or a path.
	// Default "gcloud" ("gcloud.cmd" on Windows).
	Binary string
	// Env is appended to os.Environ() for gcloud, after
	// CLOUDSDK_CORE_DISABLE_PROMPTS=1: e.g. "CLOUDSDK_CONFIG=/path".
	Env []string
	// Timeout bounds one gcloud run (0: DefaultTimeout).
	Timeout time.Duration
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AccessConfig configures NewAccessTokenSource.
type AccessConfig struct {
	// ImpersonateServiceAccount, when set, makes the tokens those of this
	// service account, with Delegates as in Config.
	ImpersonateServiceAccount string
	Delegates                 []string
	// Account is the gcloud credentialed account to use (--account).
	Account string

	// Binary, Env, Timeout, EarlyRefresh and Now are as in Config.
	Binary       string
	Env          []string
	Timeout      time.Duration
	EarlyRefresh time.Duration
	Now          func() time.Time
}

// runner runs one gcloud command.
type runner struct {
	bin     string
	env     []string
	timeout time.Duration
}

func newRunner(binary string, env []string, timeout time.Duration) (*runner, error) {
	if binary == "" {
		binary = defaultBinary()
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("gcloud: Config.Env entry is not KEY=VALUE")
		}
	}
	if timeout < 0 {
		return nil, fmt.Errorf("gcloud: Config.Timeout is negative")
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, &Error{
			Command:  "gcloud",
			ExitCode: -1,
			Message:  fmt.Sprintf("%q not found or not executable", binary),
			Hint:     hints[ErrNotInstalled],
			Err:      ErrNotInstalled,
			cause:    err,
		}
	}
	full := append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	full = append(full, env...)
	return &runner{bin: path, env: full, timeout: timeout}, nil
}

// checkValue refuses values that could be read as a flag, split a
// comma-separated list, or smuggle control characters into gcloud.
func checkValue(field, v string, list bool) error {
	if strings.HasPrefix(v, "-") {
		return fmt.Errorf("%w: %s must not start with '-'", ErrInvalidConfig, field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s must not contain control characters or newlines", ErrInvalidConfig, field)
		}
	}
	if list && strings.Contains(v, ",") {
		return fmt.Errorf("%w: %s must not contain ','", ErrInvalidConfig, field)
	}
	return nil
}

// cmdMeta are the characters cmd.exe interprets even inside quotes; on
// Windows gcloud is a batch file (gcloud.cmd) that cmd.exe parses.
const cmdMeta = "\"%!^&|<>"

// checkBatchArgs refuses, for a .cmd or .bat launcher, arguments that
// cmd.exe could read as anything but text.
func checkBatchArgs(bin string, args []string) error {
	ext := strings.ToLower(filepath.Ext(bin))
	if ext != ".cmd" && ext != ".bat" {
		return nil
	}
	for _, a := range args {
		if strings.ContainsAny(a, cmdMeta) {
			return fmt.Errorf("%w: %s is a batch file and a value contains one of %s, which cmd.exe would interpret", ErrInvalidConfig, filepath.Base(bin), cmdMeta)
		}
	}
	return nil
}

// impersonationArgs validates the common identity fields and returns
// their flags.
func impersonationArgs(account, target string, delegates []string) ([]string, error) {
	var args []string
	if err := checkValue("Account", account, false); err != nil {
		return nil, err
	}
	if account != "" {
		args = append(args, "--account="+account)
	}
	if err := checkValue("ImpersonateServiceAccount", target, true); err != nil {
		return nil, err
	}
	if target == "" && len(delegates) > 0 {
		return nil, fmt.Errorf("%w: Delegates need ImpersonateServiceAccount", ErrInvalidConfig)
	}
	for i, d := range delegates {
		if d == "" {
			return nil, fmt.Errorf("%w: Delegates[%d] is empty", ErrInvalidConfig, i)
		}
		if err := checkValue(fmt.Sprintf("Delegates[%d]", i), d, true); err != nil {
			return nil, err
		}
	}
	if target != "" {
		chain := append(slices.Clone(delegates), target)
		args = append(args, "--impersonate-service-account="+strings.Join(chain, ","))
	}
	return args, nil
}

// idSource is what one ID token refresh needs.
type idSource struct {
	run      *runner
	args     []string
	audience string
}

// NewTokenSource validates cfg, finds the gcloud binary and returns a
// cached source of ID tokens printed by `gcloud auth print-identity-token`.
// It does not run gcloud yet. ctx is not stored; the context of each
// TokenContext call (and Config.Timeout) bounds that run.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gcloud: %w", err)
	}
	if err := checkValue("Audience", cfg.Audience, false); err != nil {
		return nil, err
	}
	if cfg.IncludeEmail && cfg.ImpersonateServiceAccount == "" {
		return nil, alsoIs{ErrIncludeEmailNeedsImpersonation, ErrInvalidConfig}
	}
	args := []string{"auth", "print-identity-token", "--format=value(id_token)"}
	if cfg.Audience != "" {
		args = append(args, "--audiences="+cfg.Audience)
	}
	ia, err := impersonationArgs(cfg.Account, cfg.ImpersonateServiceAccount, cfg.Delegates)
	if err != nil {
		return nil, err
	}
	args = append(args, ia...)
	if cfg.IncludeEmail {
		args = append(args, "--include-email")
	}
	r, err := newRunner(cfg.Binary, cfg.Env, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	if err := checkBatchArgs(r.bin, args[3:]); err != nil {
		return nil, err
	}
	s := &idSource{run: r, args: args, audience: cfg.Audience}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: cfg.Now}), nil
}

func (s *idSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	out, err := s.run.run(ctx, "auth print-identity-token", s.args)
	if err != nil {
		return nil, err
	}
	return parseIDToken(out, s.audience)
}

// parseIDToken reads print-identity-token's output: one JWT and a
// newline. Errors never quote the output.
func parseIDToken(out []byte, audience string) (*oauth2.Token, error) {
	raw := strings.TrimSpace(string(out))
	if raw == "" {
		return nil, badOutput("auth print-identity-token", "no token printed")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return nil, badOutput("auth print-identity-token", "more than one line printed")
	}
	tok, err := cache.FromIDToken(raw)
	if err != nil {
		return nil, badOutput("auth print-identity-token", "output is not a usable ID token", err)
	}
	if audience != "" {
		c, _ := jwt.UnverifiedClaims(raw) // FromIDToken parsed it already
		if !slices.Contains(c.Audience, audience) {
			return nil, badOutput("auth print-identity-token", "the token's audience is not the one asked for")
		}
	}
	return tok, nil
}

// accessSource is what one access token refresh needs.
type accessSource struct {
	run  *runner
	args []string
	now  func() time.Time
}

// NewAccessTokenSource validates cfg, finds the gcloud binary and returns
// a cached source of OAuth 2.0 access tokens from
// `gcloud config config-helper --format=json`, with the expiry gcloud
// reports (DefaultAccessTokenLifetime when it reports none). Use it as the
// base credential of package impersonate. It does not run gcloud yet.
func NewAccessTokenSource(ctx context.Context, cfg AccessConfig) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gcloud: %w", err)
	}
	args := []string{"config", "config-helper", "--format=json"}
	ia, err := impersonationArgs(cfg.Account, cfg.ImpersonateServiceAccount, cfg.Delegates)
	if err != nil {
		return nil, err
	}
	args = append(args, ia...)
	r, err := newRunner(cfg.Binary, cfg.Env, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	if err := checkBatchArgs(r.bin, args[3:]); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &accessSource{run: r, args: args, now: now}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: now}), nil
}

func (s *accessSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	out, err := s.run.run(ctx, "config config-helper", s.args)
	if err != nil {
		return nil, err
	}
	return parseConfigHelper(out, s.now())
}

// parseConfigHelper reads the credential part of config-helper's JSON.
// Errors never quote the output (it holds tokens).
func parseConfigHelper(out []byte, now time.Time) (*oauth2.Token, error) {
	const op = "config config-helper"
	var reply struct {
		Credential *struct {
			AccessToken string `json:"access_token"`
			TokenExpiry string `json:"token_expiry"`
		} `json:"credential"`
	}
	if err := json.Unmarshal(out, &reply); err != nil {
		return nil, badOutput(op, "output is not JSON")
	}
	if reply.Credential == nil || reply.Credential.AccessToken == "" {
		return nil, badOutput(op, "output has no credential.access_token")
	}
	if strings.ContainsAny(reply.Credential.AccessToken, " \t\r\n") {
		return nil, badOutput(op, "credential.access_token is not a single word")
	}
	expiry := now.Add(DefaultAccessTokenLifetime)
	if e := reply.Credential.TokenExpiry; e != "" {
		t, err := time.Parse(time.RFC3339, e)
		if err != nil {
			return nil, badOutput(op, "credential.token_expiry is not an RFC 3339 time")
		}
		expiry = t
	}
	return &oauth2.Token{AccessToken: reply.Credential.AccessToken, TokenType: "Bearer", Expiry: expiry}, nil
}

func badOutput(op, msg string, cause ...error) *Error {
	e := &Error{Command: "gcloud " + op, Message: msg, Hint: hints[ErrBadOutput], Err: ErrBadOutput}
	if len(cause) > 0 {
		e.cause = cause[0]
	}
	return e
}

// errorsIsAny reports whether err matches any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// alsoIs is err, with its own text, that also matches another sentinel
// under errors.Is (here: a specific config error that is also
// ErrInvalidConfig, without printing "gcloud: " twice).
type alsoIs struct{ err, also error }

func (a alsoIs) Error() string   { return a.err.Error() }
func (a alsoIs) Unwrap() []error { return []error{a.err, a.also} }
