package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// DefaultIAMEndpoint is the root of Google's IAM Credentials API.
const DefaultIAMEndpoint = "https://iamcredentials.googleapis.com/"

// CloudPlatformScope is the scope of the federated token: it lets the
// federated principal call IAM Credentials.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// AllowExecutablesEnv must be "1" for an executable-sourced credential to
// be accepted, as in Google's auth libraries.
const AllowExecutablesEnv = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"

// HTTPError is the error for a non-2xx reply from STS, IAM Credentials or
// a subject-token URL. It is the same type in every package of this
// module, so one errors.As catches them all.
type HTTPError = httpx.Error

// Retry bounds the retries of transient failures (5xx, 429, connection
// errors) of each request. The zero value means the defaults.
type Retry = httpx.Retry

// Sentinel errors; test with errors.Is.
var (
	ErrNoAudience           = errors.New("federation: Config.Audience is required")
	ErrNoCredentials        = errors.New("federation: set exactly one of Config.CredentialsJSON, Config.CredentialsFile or Config.External")
	ErrInvalidCredentials   = errors.New("federation: invalid external_account credentials")
	ErrNoServiceAccount     = errors.New("federation: no target service account: set Config.ServiceAccount or service_account_impersonation_url in the credentials")
	ErrExecutableNotAllowed = errors.New("federation: executable-sourced credentials need " + AllowExecutablesEnv + "=1")
	ErrSubjectToken         = errors.New("federation: getting the federated token failed")
	ErrBadReply             = errors.New("federation: IAM generateIdToken reply is not valid JSON")
	ErrNoIDToken            = errors.New("federation: IAM generateIdToken reply has no token")
	ErrInvalidToken         = errors.New("federation: IAM returned an unusable ID token")
)

// Config configures NewTokenSource. Audience, exactly one credential
// source and a target service account (Config.ServiceAccount or the
// file's service_account_impersonation_url) are required.
type Config struct {
	// Audience is the ID token's aud: the URL of the Cloud Run service,
	// Cloud Function, or the IAP OAuth client ID.
	Audience string

	// CredentialsJSON is the content of an external_account file.
	CredentialsJSON []byte
	// CredentialsFile is the path of an external_account file.
	CredentialsFile string
	// External is a configuration built in code, e.g. with a
	// SubjectTokenSupplier or AwsSecurityCredentialsSupplier. Its
	// ServiceAccountImpersonationURL only names the target service
	// account; its Scopes are replaced by CloudPlatformScope.
	External *externalaccount.Config

	// ServiceAccount is the email of the service account the ID token is
	// for. Empty: the one in service_account_impersonation_url.
	ServiceAccount string
	// Delegates is the chain of service accounts (emails or
	// projects/-/serviceAccounts/EMAIL) between the federated principal
	// and ServiceAccount, for generateIdToken.
	Delegates []string
	// IncludeEmail puts the email and email_verified claims in the token.
	IncludeEmail bool

	// IAMEndpoint is the IAM Credentials root (with a trailing slash).
	// Default: the root of service_account_impersonation_url if any, else
	// https://iamcredentials.{universe_domain}/, i.e. DefaultIAMEndpoint.
	IAMEndpoint string

	// HTTPClient sends every request; nil means a client with a 30 s
	// timeout. Its transport must not add credentials of its own.
	HTTPClient *http.Client
	// Retry bounds retries of transient failures (zero: defaults).
	Retry Retry
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// SubjectTokenFunc adapts a function to externalaccount.SubjectTokenSupplier,
// for a subject token from anywhere (a secret manager, a CI variable, an
// in-process IdP). Put it in Config.External.SubjectTokenSupplier. The
// ctx it receives carries the caller's values and the refresh deadline.
type SubjectTokenFunc func(ctx context.Context, opts externalaccount.SupplierOptions) (string, error)

// SubjectToken implements externalaccount.SubjectTokenSupplier.
func (f SubjectTokenFunc) SubjectToken(ctx context.Context, opts externalaccount.SupplierOptions) (string, error) {
	return f(ctx, opts)
}

type source struct {
	audience  string
	account   string
	delegates []string
	email     bool
	iamURL    string
	ext       externalaccount.Config // a private copy; never mutated after construction
	http      httpx.Options
	client    *http.Client // routes externalaccount's requests through httpx
}

// NewTokenSource validates cfg and returns a cached source of ID tokens
// for cfg.Audience, signed by Google for the target service account. ctx
// is used only during construction (reading the file); it is not stored.
// Nothing is sent before the first Token call.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	if cfg.Audience == "" {
		return nil, ErrNoAudience
	}
	n := 0
	for _, set := range []bool{cfg.CredentialsJSON != nil, cfg.CredentialsFile != "", cfg.External != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, ErrNoCredentials
	}
	var ea *ExternalAccount
	switch {
	case cfg.External != nil:
		ea = &ExternalAccount{Config: *cfg.External}
		if u := cfg.External.ServiceAccountImpersonationURL; u != "" {
			email, root, err := parseImpersonationURL(u)
			if err != nil {
				return nil, err
			}
			ea.ServiceAccount, ea.IAMEndpoint = email, root
		}
		if cs := cfg.External.CredentialSource; cs != nil {
			c := *cs // the caller keeps theirs
			ea.Config.CredentialSource = &c
		}
	default:
		data := cfg.CredentialsJSON
		if cfg.CredentialsFile != "" {
			var err error
			if data, err = os.ReadFile(cfg.CredentialsFile); err != nil {
				return nil, fmt.Errorf("federation: reading credentials file: %w", err)
			}
		}
		var err error
		if ea, err = ParseExternalAccount(data); err != nil {
			return nil, err
		}
	}

	s := &source{
		audience: cfg.Audience,
		account:  cfg.ServiceAccount,
		email:    cfg.IncludeEmail,
		ext:      ea.Config,
	}
	if s.account == "" {
		s.account = ea.ServiceAccount
	}
	if s.account == "" {
		return nil, ErrNoServiceAccount
	}
	if strings.ContainsAny(s.account, "/:?#") || strings.TrimSpace(s.account) != s.account {
		return nil, fmt.Errorf("federation: service account %q is not an email", s.account)
	}
	for _, d := range cfg.Delegates {
		email := strings.TrimPrefix(d, "projects/-/serviceAccounts/")
		if email == "" || strings.ContainsAny(email, "/:?#") {
			return nil, fmt.Errorf("federation: delegate %q is neither an email nor projects/-/serviceAccounts/EMAIL", d)
		}
		s.delegates = append(s.delegates, "projects/-/serviceAccounts/"+email)
	}

	// The file's service_account_impersonation_url only names the target:
	// clearing it keeps x/oauth2 from adding a generateAccessToken hop.
	s.ext.ServiceAccountImpersonationURL = ""
	s.ext.Scopes = []string{CloudPlatformScope}
	ud := s.ext.UniverseDomain
	if ud == "" {
		ud = "googleapis.com"
	}
	if s.ext.TokenURL == "" {
		s.ext.TokenURL = "https://sts." + ud + "/v1/token"
	}
	if !absoluteHTTP(s.ext.TokenURL) {
		return nil, fmt.Errorf("%w: STS token URL is not an absolute http(s) URL", ErrInvalidCredentials)
	}
	switch {
	case cfg.IAMEndpoint != "":
		s.iamURL = cfg.IAMEndpoint
	case ea.IAMEndpoint != "":
		s.iamURL = ea.IAMEndpoint
	default:
		s.iamURL = "https://iamcredentials." + ud + "/"
	}
	if !absoluteHTTP(s.iamURL) {
		return nil, fmt.Errorf("federation: IAM endpoint %q is not an absolute http(s) URL", s.iamURL)
	}
	if !strings.HasSuffix(s.iamURL, "/") {
		s.iamURL += "/"
	}
	if cs := s.ext.CredentialSource; cs != nil && cs.Executable != nil && os.Getenv(AllowExecutablesEnv) != "1" {
		return nil, ErrExecutableNotAllowed
	}
	// x/oauth2 validates the rest (audience, token type, exactly one
	// source, workforce audience) without any I/O.
	if _, err := externalaccount.NewTokenSource(ctx, s.ext); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s.http = httpx.Options{Client: cfg.HTTPClient, Retry: cfg.Retry, Now: now}
	if s.http.Client == nil {
		s.http.Client = httpx.NewClient()
	}
	s.client = &http.Client{Transport: &viaHTTPX{opts: s.http}}
	return cache.New(s.fetch, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: now}), nil
}

// fetch makes the two round trips: STS, then generateIdToken.
func (s *source) fetch(ctx context.Context) (*oauth2.Token, error) {
	fed, err := s.federatedToken(ctx)
	if err != nil {
		return nil, err
	}
	return s.generateIDToken(ctx, fed)
}

// federatedToken runs x/oauth2's external account flow once (subject
// token, then STS exchange) with ctx and s.client. A new
// externalaccount source per refresh keeps the ctx of this refresh, not
// one stored at construction.
func (s *source) federatedToken(ctx context.Context) (string, error) {
	rec := &recorder{}
	ctx = context.WithValue(ctx, recorderKey{}, rec)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	ts, err := externalaccount.NewTokenSource(ctx, s.ext)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	tok, err := ts.Token()
	if he := rec.get(); he != nil {
		// The typed failure of the request (STS or subject-token URL)
		// beats x/oauth2's flattened text.
		if he.Endpoint == stripQuery(s.ext.TokenURL) {
			return "", fmt.Errorf("federation: STS token exchange: %w", he)
		}
		return "", fmt.Errorf("federation: subject token: %w", he)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("federation: %w", ctx.Err())
		}
		return "", fmt.Errorf("%w: %w", ErrSubjectToken, err)
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("%w: STS reply has no access_token", ErrSubjectToken)
	}
	return tok.AccessToken, nil
}

// generateIDToken calls IAM Credentials generateIdToken with the
// federated token.
func (s *source) generateIDToken(ctx context.Context, fedToken string) (*oauth2.Token, error) {
	body := map[string]any{"audience": s.audience, "includeEmail": s.email}
	if len(s.delegates) > 0 {
		body["delegates"] = s.delegates
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	endpoint := s.iamURL + "v1/projects/-/serviceAccounts/" + url.PathEscape(s.account) + ":generateIdToken"
	resp, err := httpx.Do(ctx, s.http, httpx.Request{
		Method: http.MethodPost,
		URL:    endpoint,
		Header: http.Header{
			"Content-Type":  {"application/json"},
			"Authorization": {"Bearer " + fedToken},
		},
		Body: b,
	})
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("federation: generateIdToken for %s (the federated principal needs iam.serviceAccounts.getOpenIdToken on it, e.g. roles/iam.workloadIdentityUser or roles/iam.serviceAccountOpenIdTokenCreator): %w", s.account, err)
		}
		return nil, fmt.Errorf("federation: generateIdToken for %s: %w", s.account, err)
	}
	token, err := ParseGenerateIDTokenReply(resp.Body)
	if err != nil {
		return nil, err
	}
	tok, err := cache.FromIDToken(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return tok, nil
}

// ParseGenerateIDTokenReply extracts the token of an IAM Credentials
// generateIdToken reply ({"token": "…"}).
func ParseGenerateIDTokenReply(body []byte) (string, error) {
	var reply struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return "", ErrBadReply
	}
	if reply.Token == "" {
		return "", ErrNoIDToken
	}
	return reply.Token, nil
}

// recorder keeps the first typed HTTP failure of one refresh, which
// x/oauth2 would otherwise flatten into text.
type recorder struct {
	mu  sync.Mutex
	err *HTTPError
}

type recorderKey struct{}

func (r *recorder) set(e *HTTPError) {
	r.mu.Lock()
	if r.err == nil {
		r.err = e
	}
	r.mu.Unlock()
}

func (r *recorder) get() *HTTPError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// viaHTTPX is the transport of the client handed to x/oauth2: it sends
// each request through httpx (retries, bounded reads, typed errors) and
// records a typed failure in the refresh's recorder.
type viaHTTPX struct{ opts httpx.Options }

func (t *viaHTTPX) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, httpx.DefaultMaxBody))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	resp, err := httpx.Do(req.Context(), t.opts, httpx.Request{
		Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body,
	})
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			return nil, err
		}
		if rec, ok := req.Context().Value(recorderKey{}).(*recorder); ok {
			rec.set(he)
		}
		// Let x/oauth2 see the status; the recorder has the details.
		b, _ := json.Marshal(map[string]string{"error": he.Code, "error_description": he.Description})
		return synthesize(req, he.StatusCode, http.Header{"Content-Type": {"application/json"}}, b), nil
	}
	return synthesize(req, resp.StatusCode, resp.Header, resp.Body), nil
}

func synthesize(req *http.Request, status int, h http.Header, body []byte) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// stripQuery matches httpx's Endpoint: the URL without query, fragment
// or user info.
func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}
