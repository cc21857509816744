package idtoken

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/oauth2"
)

// EnvCredentials is the environment variable naming a credentials file,
// as for every Google client library.
const EnvCredentials = "GOOGLE_APPLICATION_CREDENTIALS"

// Sentinel errors; test with errors.Is.
var (
	ErrNoAudience = errors.New("idtoken: audience is required")
	// ErrNoCredentials is matched by every *NoCredentialsError.
	ErrNoCredentials = errors.New("idtoken: no credentials found")
	// ErrNeedsImpersonation: user credentials (authorized_user) cannot get
	// an ID token for an arbitrary audience themselves; they can impersonate
	// a service account that can.
	ErrNeedsImpersonation = errors.New("idtoken: user credentials need Options.ImpersonateServiceAccount: an ID token for an audience is issued to a service account, which the user impersonates (roles/iam.serviceAccountTokenCreator on it)")
	// ErrInvalidCredentials: a credentials file that cannot be used.
	ErrInvalidCredentials = errors.New("idtoken: invalid credentials")
)

// Attempt is one step of detection that did not produce credentials.
type Attempt struct {
	// Step names what was tried: "GOOGLE_APPLICATION_CREDENTIALS",
	// "gcloud ADC file <path>", "metadata server", "gcloud CLI".
	Step string
	// Reason says why it did not apply.
	Reason string
}

func (a Attempt) String() string { return a.Step + ": " + a.Reason }

// NoCredentialsError is returned when detection found nothing usable. It
// lists every step and why it did not apply. errors.Is(err,
// ErrNoCredentials) is true for it.
type NoCredentialsError struct {
	Attempts []Attempt
}

func (e *NoCredentialsError) Error() string {
	var b strings.Builder
	b.WriteString("idtoken: no credentials found; tried: ")
	for i, a := range e.Attempts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoCredentials) true.
func (e *NoCredentialsError) Is(target error) bool { return target == ErrNoCredentials }

// Detection is what Detect found.
type Detection struct {
	// Method is how tokens are obtained.
	Method Method
	// Origin says where the credentials came from, for logs: "Options.CredentialsJSON",
	// "GOOGLE_APPLICATION_CREDENTIALS=/path", "gcloud ADC file /path",
	// "metadata server", "gcloud CLI". It never contains secrets.
	Origin string
	// Impersonated is the service account tokens are issued to when
	// the method impersonates one ("" otherwise).
	Impersonated string
	// TokenSource is the cached source of ID tokens; it implements
	// ContextTokenSource.
	TokenSource oauth2.TokenSource
}

// NewTokenSource finds credentials as Detect does and returns a cached
// source of ID tokens for audience. The token's AccessToken (and
// Extra("id_token")) is the raw ID token, TokenType "Bearer" and Expiry
// the token's exp claim; the source implements [ContextTokenSource].
// ctx is used only during construction.
func NewTokenSource(ctx context.Context, audience string, opts Options) (oauth2.TokenSource, error) {
	d, err := Detect(ctx, audience, opts)
	if err != nil {
		return nil, err
	}
	return d.TokenSource, nil
}

// Detect finds credentials and builds a token source for audience, in
// this order, stopping at the first that applies:
//
//  1. Options.CredentialsJSON or Options.CredentialsFile when set (then
//     nothing else is tried);
//  2. the file named by $GOOGLE_APPLICATION_CREDENTIALS;
//  3. gcloud's well-known ADC file: $CLOUDSDK_CONFIG/application_default_credentials.json,
//     else ~/.config/gcloud/application_default_credentials.json
//     (%APPDATA%\gcloud\application_default_credentials.json on Windows);
//  4. the metadata server, when one is detected (Options.OnGCE);
//  5. the gcloud CLI, only when Options.UseGcloud is set.
//
// A credentials file is used by its "type": service_account (package
// keyfile), impersonated_service_account (its source_credentials, a
// service account key or user credentials, call IAM generateIdToken for
// the account in its service_account_impersonation_url, with its
// delegates), external_account (package federation), authorized_user
// (impersonates Options.ImpersonateServiceAccount, required).
//
// A step that does not apply (variable unset, no file, no metadata server)
// is recorded and detection goes on; when none applies the error is a
// *NoCredentialsError listing them. A step that applies but fails (a file
// that cannot be read or parsed, a bad configuration) stops detection with
// that error: a broken credential is never silently skipped in favour of
// another identity.
func Detect(ctx context.Context, audience string, opts Options) (*Detection, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("idtoken: %w", err)
	}
	if audience == "" {
		return nil, ErrNoAudience
	}
	if !opts.Method.valid() {
		return nil, fmt.Errorf("idtoken: unknown Options.Method %q", opts.Method)
	}
	if opts.CredentialsJSON != nil && opts.CredentialsFile != "" {
		return nil, errors.New("idtoken: set at most one of Options.CredentialsJSON and Options.CredentialsFile")
	}
	d := &detector{ctx: ctx, audience: audience, opts: opts}
	if d.opts.Getenv == nil {
		d.opts.Getenv = os.Getenv
	}
	if d.opts.HomeDir == nil {
		d.opts.HomeDir = os.UserHomeDir
	}
	return d.run()
}

type detector struct {
	ctx      context.Context
	audience string
	opts     Options
	attempts []Attempt
}

func (d *detector) skip(step, reason string) { d.attempts = append(d.attempts, Attempt{step, reason}) }

func (d *detector) run() (*Detection, error) {
	m := d.opts.Method
	switch {
	case d.opts.CredentialsJSON != nil:
		return d.fromJSON(d.opts.CredentialsJSON, "Options.CredentialsJSON", true)
	case d.opts.CredentialsFile != "":
		data, err := os.ReadFile(d.opts.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("idtoken: reading Options.CredentialsFile: %w", err)
		}
		return d.fromJSON(data, "Options.CredentialsFile "+d.opts.CredentialsFile, true)
	case m == MethodMetadata:
		return d.fromMetadata()
	case m == MethodGcloud:
		return d.fromGcloud()
	}

	// 2. GOOGLE_APPLICATION_CREDENTIALS
	if p := d.opts.Getenv(EnvCredentials); p == "" {
		d.skip(EnvCredentials, "not set")
	} else {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("idtoken: reading %s file: %w", EnvCredentials, err)
		}
		if det, err := d.fromJSON(data, EnvCredentials+"="+p, false); det != nil || err != nil {
			return det, err
		}
	}

	// 3. gcloud's well-known file
	if p, err := wellKnownFile(d.opts.Getenv, d.opts.HomeDir, runtime.GOOS); err != nil {
		d.skip("gcloud ADC file", err.Error())
	} else {
		step := "gcloud ADC file " + p
		data, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.skip(step, "not found (run `gcloud auth application-default login` to create it)")
		case err != nil:
			return nil, fmt.Errorf("idtoken: reading %s: %w", step, err)
		default:
			if det, err := d.fromJSON(data, step, false); det != nil || err != nil {
				return det, err
			}
		}
	}
	if m != "" {
		return nil, d.noCredentials()
	}

	// 4. metadata server
	onGCE := d.opts.OnGCE
	if onGCE == nil {
		onGCE = d.defaultOnGCE
	}
	if onGCE(d.ctx) {
		return d.fromMetadata()
	}
	d.skip("metadata server", "not detected (not running on Google Cloud, and GCE_METADATA_HOST is not set)")

	// 5. gcloud CLI
	if d.opts.UseGcloud {
		return d.fromGcloud()
	}
	return nil, d.noCredentials()
}

func (d *detector) noCredentials() error {
	if d.opts.Method == "" {
		d.skip("gcloud CLI", "not enabled (set Options.UseGcloud to use `gcloud auth print-identity-token` as a last resort)")
	}
	return &NoCredentialsError{Attempts: d.attempts}
}

// wellKnownFile is the path of gcloud's Application Default Credentials
// file: $CLOUDSDK_CONFIG/application_default_credentials.json, else
// %APPDATA%\gcloud\... on Windows, ~/.config/gcloud/... elsewhere.
func wellKnownFile(getenv func(string) string, home func() (string, error), goos string) (string, error) {
	const name = "application_default_credentials.json"
	if dir := getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, name), nil
	}
	if goos == "windows" {
		dir := getenv("APPDATA")
		if dir == "" {
			return "", errors.New("APPDATA is not set")
		}
		return filepath.Join(dir, "gcloud", name), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", errors.New("home directory unknown")
	}
	return filepath.Join(h, ".config", "gcloud", name), nil
}
