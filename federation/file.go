package federation

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/idtokens/idtokens/internal/credfile"
	"golang.org/x/oauth2/google/externalaccount"
)

// ExternalAccount is a parsed `external_account` credential configuration
// file, as `gcloud iam workload-identity-pools create-cred-config` (or
// `workforce-pools create-cred-config`) writes it.
type ExternalAccount struct {
	// Config is the file mapped onto x/oauth2's externalaccount.Config,
	// with ServiceAccountImpersonationURL as written in the file.
	Config externalaccount.Config
	// ServiceAccount is the email in service_account_impersonation_url,
	// or "" when the file has none.
	ServiceAccount string
	// IAMEndpoint is the root (scheme://host/) of
	// service_account_impersonation_url, or "".
	IAMEndpoint string
}

// externalAccountFile is the JSON shape of the file. Field names follow
// Google's auth libraries (google-auth, x/oauth2/google).
type externalAccountFile struct {
	Type                           string                            `json:"type"`
	Audience                       string                            `json:"audience"`
	SubjectTokenType               string                            `json:"subject_token_type"`
	TokenURL                       string                            `json:"token_url"`
	TokenInfoURL                   string                            `json:"token_info_url"`
	ServiceAccountImpersonationURL string                            `json:"service_account_impersonation_url"`
	ServiceAccountImpersonation    impersonationInfo                 `json:"service_account_impersonation"`
	ClientID                       string                            `json:"client_id"`
	ClientSecret                   string                            `json:"client_secret"`
	CredentialSource               *externalaccount.CredentialSource `json:"credential_source"`
	QuotaProjectID                 string                            `json:"quota_project_id"`
	WorkforcePoolUserProject       string                            `json:"workforce_pool_user_project"`
	UniverseDomain                 string                            `json:"universe_domain"`
}

type impersonationInfo struct {
	TokenLifetimeSeconds int `json:"token_lifetime_seconds"`
}

// impersonationURL matches Google's service_account_impersonation_url.
var impersonationURL = regexp.MustCompile(`^(https?://[^/?#]+/)v1/projects/[^/]+/serviceAccounts/([^/:?#]+):generateAccessToken$`)

// ParseExternalAccount parses and validates an `external_account` JSON
// file. Errors wrap ErrInvalidCredentials and never contain the client
// secret or header values.
func ParseExternalAccount(data []byte) (*ExternalAccount, error) {
	var f externalAccountFile
	if err := credfile.DecodeJSON(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	if err := credfile.CheckType(f.Type, "external_account"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	var missing []string
	if f.Audience == "" {
		missing = append(missing, "audience")
	}
	if f.SubjectTokenType == "" {
		missing = append(missing, "subject_token_type")
	}
	if f.CredentialSource == nil {
		missing = append(missing, "credential_source")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", ErrInvalidCredentials, strings.Join(missing, ", "))
	}
	cs := f.CredentialSource
	n := 0
	for _, set := range []bool{cs.File != "", cs.URL != "" && !strings.HasPrefix(cs.EnvironmentID, "aws"), cs.Executable != nil, cs.EnvironmentID != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: credential_source needs exactly one of file, url, executable or environment_id", ErrInvalidCredentials)
	}
	if cs.EnvironmentID != "" && cs.EnvironmentID != "aws1" {
		return nil, fmt.Errorf("%w: credential_source.environment_id %q is not supported (want \"aws1\")", ErrInvalidCredentials, clip(cs.EnvironmentID))
	}
	if cs.Executable != nil && cs.Executable.Command == "" {
		return nil, fmt.Errorf("%w: credential_source.executable.command is empty", ErrInvalidCredentials)
	}
	switch cs.Format.Type {
	case "", "text":
	case "json":
		if cs.Format.SubjectTokenFieldName == "" {
			return nil, fmt.Errorf("%w: credential_source.format.subject_token_field_name is required with type \"json\"", ErrInvalidCredentials)
		}
	default:
		return nil, fmt.Errorf("%w: credential_source.format.type %q is neither \"text\" nor \"json\"", ErrInvalidCredentials, clip(cs.Format.Type))
	}
	for name, u := range map[string]string{"token_url": f.TokenURL, "credential_source.url": cs.URL} {
		if u != "" && !absoluteHTTP(u) {
			return nil, fmt.Errorf("%w: %s is not an absolute http(s) URL", ErrInvalidCredentials, name)
		}
	}
	ea := &ExternalAccount{Config: externalaccount.Config{
		Audience:                       f.Audience,
		SubjectTokenType:               f.SubjectTokenType,
		TokenURL:                       f.TokenURL,
		TokenInfoURL:                   f.TokenInfoURL,
		ServiceAccountImpersonationURL: f.ServiceAccountImpersonationURL,
		ServiceAccountImpersonationLifetimeSeconds: f.ServiceAccountImpersonation.TokenLifetimeSeconds,
		ClientID:                 f.ClientID,
		ClientSecret:             f.ClientSecret,
		CredentialSource:         cs,
		QuotaProjectID:           f.QuotaProjectID,
		WorkforcePoolUserProject: f.WorkforcePoolUserProject,
		UniverseDomain:           f.UniverseDomain,
	}}
	if f.ServiceAccountImpersonationURL != "" {
		email, root, err := parseImpersonationURL(f.ServiceAccountImpersonationURL)
		if err != nil {
			return nil, err
		}
		ea.ServiceAccount, ea.IAMEndpoint = email, root
	}
	return ea, nil
}

// parseImpersonationURL returns the service account email and the IAM
// Credentials root of a service_account_impersonation_url.
func parseImpersonationURL(u string) (email, root string, err error) {
	m := impersonationURL.FindStringSubmatch(u)
	if m == nil {
		return "", "", fmt.Errorf("%w: service_account_impersonation_url is not …/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken", ErrInvalidCredentials)
	}
	email, err = url.PathUnescape(m[2])
	if err != nil || email == "" {
		return "", "", fmt.Errorf("%w: service_account_impersonation_url has an unreadable email", ErrInvalidCredentials)
	}
	return email, m[1], nil
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// clip keeps file-provided values short in error texts.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
