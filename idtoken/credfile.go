package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/internal/credfile"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/keyfile"
)

// cloudPlatform is the scope of the access tokens used as the caller of
// IAM Credentials.
const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// credentialsFile holds the fields of a Google credentials file that
// detection itself needs; each method's package parses the rest.
type credentialsFile struct {
	Type string `json:"type"`
	// impersonated_service_account
	ServiceAccountImpersonationURL string          `json:"service_account_impersonation_url"`
	Delegates                      []string        `json:"delegates"`
	SourceCredentials              json.RawMessage `json:"source_credentials"`
}

// parseCredentials reads the type (and, for impersonated_service_account,
// the impersonation fields) of a credentials file. Errors never quote
// the file's content.
func parseCredentials(data []byte) (*credentialsFile, error) {
	var f credentialsFile
	if err := credfile.DecodeJSON(data, &f); err != nil {
		return nil, err
	}
	if f.Type == "" {
		return nil, errors.New(`no "type" field`)
	}
	return &f, nil
}

// impersonationTarget extracts the service account email and the IAM
// Credentials root URL (scheme://host/) from a
// service_account_impersonation_url such as
// https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/SA:generateAccessToken.
func impersonationTarget(raw string) (email, root string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", errors.New("service_account_impersonation_url is not an absolute http(s) URL")
	}
	_, rest, ok := strings.Cut(u.Path, "/serviceAccounts/")
	if !ok {
		return "", "", errors.New("service_account_impersonation_url has no /serviceAccounts/ segment")
	}
	email, _, _ = strings.Cut(rest, ":")
	if email == "" || strings.Contains(email, "/") {
		return "", "", errors.New("service_account_impersonation_url names no service account")
	}
	if e, err := url.PathUnescape(email); err == nil {
		email = e
	}
	return email, u.Scheme + "://" + u.Host + "/", nil
}

// delegateEmails accepts delegates as emails or as
// projects/-/serviceAccounts/EMAIL resource names and returns emails.
func delegateEmails(ds []string) []string {
	if len(ds) == 0 {
		return nil
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		if _, rest, ok := strings.Cut(d, "/serviceAccounts/"); ok {
			d = rest
		}
		out[i] = d
	}
	return out
}

// fromJSON builds a source from a credentials file. It returns (nil, nil)
// when the file is not of the forced method's type and explicit is false
// (detection goes on, the mismatch recorded).
func (d *detector) fromJSON(data []byte, origin string, explicit bool) (*Detection, error) {
	f, err := parseCredentials(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidCredentials, origin, err)
	}
	m := Method(f.Type)
	if d.opts.Method != "" && d.opts.Method != m {
		if explicit {
			return nil, fmt.Errorf("%w: %s: type is %q but Options.Method is %q", ErrInvalidCredentials, origin, f.Type, d.opts.Method)
		}
		d.skip(origin, fmt.Sprintf("type %q, not the %q Options.Method asks for", f.Type, d.opts.Method))
		return nil, nil
	}
	det := &Detection{Method: m, Origin: origin}
	switch m {
	case MethodServiceAccountKey:
		if d.opts.ImpersonateServiceAccount == "" {
			det.TokenSource, err = keyfile.NewTokenSource(d.ctx, keyfile.Config{
				Audience:        d.audience,
				CredentialsJSON: data,
				HTTPClient:      d.opts.HTTPClient,
				EarlyRefresh:    d.opts.EarlyRefresh,
				Now:             d.opts.Now,
			})
			break
		}
		fallthrough
	case MethodAuthorizedUser:
		if d.opts.ImpersonateServiceAccount == "" {
			return nil, fmt.Errorf("%w (credentials: %s)", ErrNeedsImpersonation, origin)
		}
		var base oauth2.TokenSource
		if base, err = d.accessTokenBase(data, f.Type); err == nil {
			det.Impersonated = d.opts.ImpersonateServiceAccount
			det.TokenSource, err = d.impersonate(base, d.opts.ImpersonateServiceAccount, d.opts.Delegates, "")
		}
	case MethodImpersonatedServiceAccount:
		det.Impersonated, det.TokenSource, err = d.fromImpersonatedFile(f)
	case MethodExternalAccount:
		det.Impersonated = d.opts.ImpersonateServiceAccount
		if det.Impersonated == "" {
			if ea, perr := federation.ParseExternalAccount(data); perr == nil {
				det.Impersonated = ea.ServiceAccount // from service_account_impersonation_url
			}
		}
		det.TokenSource, err = d.federation(data)
	default:
		return nil, fmt.Errorf("%w: %s: unsupported credentials type %q", ErrInvalidCredentials, origin, f.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("idtoken: using %s (%s): %w", origin, f.Type, err)
	}
	return det, nil
}

func (d *detector) fromImpersonatedFile(f *credentialsFile) (string, oauth2.TokenSource, error) {
	target, root, err := impersonationTarget(f.ServiceAccountImpersonationURL)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidCredentials, err)
	}
	if len(f.SourceCredentials) == 0 || string(f.SourceCredentials) == "null" {
		return "", nil, fmt.Errorf("%w: no source_credentials", ErrInvalidCredentials)
	}
	src, err := parseCredentials(f.SourceCredentials)
	if err != nil {
		return "", nil, fmt.Errorf("%w: source_credentials: %v", ErrInvalidCredentials, err)
	}
	if src.Type != string(MethodServiceAccountKey) && src.Type != string(MethodAuthorizedUser) {
		return "", nil, fmt.Errorf("%w: source_credentials type %q is not supported (want service_account or authorized_user)", ErrInvalidCredentials, src.Type)
	}
	base, err := d.accessTokenBase(f.SourceCredentials, src.Type)
	if err != nil {
		return "", nil, err
	}
	delegates := f.Delegates
	if d.opts.ImpersonateServiceAccount != "" {
		target, root = d.opts.ImpersonateServiceAccount, ""
	}
	if len(d.opts.Delegates) > 0 {
		delegates = d.opts.Delegates
	}
	ts, err := d.impersonate(base, target, delegateEmails(delegates), root)
	return target, ts, err
}

// accessTokenBase returns a cached source of cloud-platform access tokens
// for a service_account (through golang.org/x/oauth2/google) or
// authorized_user (impersonate.AuthorizedUserBase) credentials file; both
// honour the file's token_uri.
func (d *detector) accessTokenBase(data []byte, typ string) (oauth2.TokenSource, error) {
	client := d.opts.HTTPClient
	if client == nil {
		client = httpx.NewClient()
	}
	if typ == string(MethodAuthorizedUser) {
		return impersonate.AuthorizedUserBase(d.ctx, data, client)
	}
	if _, err := keyfile.ParseKey(data); err != nil {
		return nil, err // the same checks and messages as a direct key
	}
	// The oauth2 source keeps this context for its refreshes: it carries
	// only the HTTP client, never the caller's cancellation.
	cctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	creds, err := google.CredentialsFromJSONWithTypeAndParams(cctx, data, google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{cloudPlatform}})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	return creds.TokenSource, nil
}
