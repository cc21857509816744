package idtoken

import (
	"context"
	"net/http"
	"time"
)

// Method names one way of getting ID tokens. The first four are the
// "type" values of Google credential files.
type Method string

// The methods, in the order Detect considers them (credential files first,
// by their type; then the metadata server; then, when allowed, gcloud).
const (
	// MethodServiceAccountKey: a service-account key file; package keyfile.
	MethodServiceAccountKey Method = "service_account"
	// MethodImpersonatedServiceAccount: a file written by
	// `gcloud auth application-default login --impersonate-service-account`;
	// its source credentials call IAM generateIdToken for the target.
	MethodImpersonatedServiceAccount Method = "impersonated_service_account"
	// MethodExternalAccount: a Workload Identity Federation configuration;
	// package federation.
	MethodExternalAccount Method = "external_account"
	// MethodAuthorizedUser: a user's refresh token (`gcloud auth
	// application-default login`); used as the base to impersonate
	// Options.ImpersonateServiceAccount, which is then required.
	MethodAuthorizedUser Method = "authorized_user"
	// MethodMetadata: the GCE / GKE / Cloud Run / Cloud Functions metadata
	// server; package metadata.
	MethodMetadata Method = "metadata"
	// MethodGcloud: the gcloud CLI (`gcloud auth print-identity-token`);
	// package gcloud. Never used unless Options.UseGcloud is set or
	// Options.Method forces it.
	MethodGcloud Method = "gcloud"
)

func (m Method) isFileType() bool {
	switch m {
	case MethodServiceAccountKey, MethodImpersonatedServiceAccount, MethodExternalAccount, MethodAuthorizedUser:
		return true
	}
	return false
}

func (m Method) valid() bool {
	return m == "" || m.isFileType() || m == MethodMetadata || m == MethodGcloud
}

// Options configures Detect, NewTokenSource and NewClient. The zero value
// detects credentials the way Google's client libraries find Application
// Default Credentials.
type Options struct {
	// Method forces one method: only that one is tried, and Detect fails
	// when it does not apply. For the credential-file methods, the file
	// (explicit, from GOOGLE_APPLICATION_CREDENTIALS or gcloud's well-known
	// file) must be of that type. "" means detect.
	Method Method

	// CredentialsJSON or CredentialsFile (at most one) are explicit
	// credentials: a JSON file of any supported type. Detection then uses
	// them and nothing else.
	CredentialsJSON []byte
	CredentialsFile string

	// ImpersonateServiceAccount is the email of a service account to get
	// the ID token for, by IAM Credentials generateIdToken, using the
	// detected credentials as the caller (who needs the Service Account
	// OpenID Connect Identity Token Creator or Token Creator role on it).
	// Required for authorized_user credentials; it overrides the target of
	// impersonated_service_account files; with external_account it is the
	// account to impersonate; with a service_account key, the key's account
	// is the caller; with the metadata server, the attached account (its
	// access token from the metadata server) is; gcloud gets it as
	// --impersonate-service-account.
	ImpersonateServiceAccount string
	// Delegates is the delegation chain for ImpersonateServiceAccount:
	// service account emails, each able to impersonate the next.
	Delegates []string
	// OmitEmail asks for tokens without the email claims where the method
	// allows it (impersonation: includeEmail=false; metadata:
	// format=standard). By default every method asks for them, so the
	// claims do not depend on how the token was obtained.
	OmitEmail bool

	// UseGcloud allows the gcloud CLI as the last resort, after the
	// metadata server. It runs a subprocess; meant for developer machines.
	UseGcloud bool
	// GcloudBinary is the gcloud executable (default: "gcloud" on PATH).
	GcloudBinary string

	// HTTPClient sends the requests that get tokens (never the requests
	// of NewClient's client). nil means a client with a 30 s timeout. Its
	// transport must not add credentials of its own.
	HTTPClient *http.Client

	// Base and AllowInsecureHTTP configure the Transport of NewClient:
	// Base sends the authenticated requests (nil: http.DefaultTransport);
	// AllowInsecureHTTP permits plain http to non-loopback hosts.
	Base              http.RoundTripper
	AllowInsecureHTTP bool

	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Getenv reads environment variables; nil means os.Getenv. Tests inject
	// it (with HomeDir) to run detection in parallel.
	Getenv func(string) string
	// HomeDir returns the user's home directory; nil means os.UserHomeDir.
	HomeDir func() (string, error)
	// OnGCE reports whether a metadata server is reachable; nil means:
	// GCE_METADATA_HOST is set (read with Getenv), else metadata.OnGCE.
	OnGCE func(ctx context.Context) bool
}
