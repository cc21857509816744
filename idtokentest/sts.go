package idtokentest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Token-exchange wire values (RFC 8693 as Google's STS uses them).
const (
	GrantTokenExchange       = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken     = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT             = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken         = "urn:ietf:params:oauth:token-type:id_token"
	cloudPlatformScope       = "https://www.googleapis.com/auth/cloud-platform"
	defaultExternalIssuerURL = "https://idp.example.com/"
)

// ExternalIssuer is an OpenID Connect identity provider outside Google
// (GitHub Actions, GitLab, a Kubernetes cluster, an on-prem IdP): it
// signs the subject tokens that STS exchanges. Create one with
// Emulator.NewExternalIssuer and trust it with Emulator.RegisterProvider.
type ExternalIssuer struct {
	// URL is the iss claim of its tokens.
	URL string
	// KeyID is the kid in its tokens' header.
	KeyID string
	// Key is its RS256 signing key.
	Key *rsa.PrivateKey

	e *Emulator
}

// NewExternalIssuer returns an external OIDC issuer whose tokens carry
// iss = issuerURL ("" means https://idp.example.com/<random>). Its clock is
// the emulator's.
func (e *Emulator) NewExternalIssuer(issuerURL string) *ExternalIssuer {
	k := newSigningKey()
	if issuerURL == "" {
		issuerURL = defaultExternalIssuerURL + randomID(6)
	}
	return &ExternalIssuer{URL: issuerURL, KeyID: k.kid, Key: k.key, e: e}
}

// SignSubjectToken signs an OIDC token for subject sub with audience aud,
// issued now (emulator clock) and expiring after ttl (0: one hour;
// negative: already expired).
func (i *ExternalIssuer) SignSubjectToken(sub, aud string, ttl time.Duration) string {
	if ttl == 0 {
		ttl = time.Hour
	}
	now := i.e.now()
	return i.Sign(map[string]any{
		"iss": i.URL,
		"sub": sub,
		"aud": aud,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	})
}

// Sign signs arbitrary claims (RS256, kid = KeyID), for tokens a real IdP
// would not issue: no exp, odd audiences, extra claims.
func (i *ExternalIssuer) Sign(claims map[string]any) string {
	tok, err := signRS256(i.Key, map[string]any{"alg": "RS256", "kid": i.KeyID, "typ": "JWT"}, claims)
	if err != nil {
		panic(err)
	}
	return tok
}

// ProviderOptions describes a workload (or workforce) identity pool
// provider for RegisterProvider.
type ProviderOptions struct {
	// Pool and Provider are the IDs; defaults "pool" and "provider".
	Pool, Provider string
	// Issuer signs the subject tokens the provider accepts; nil means a
	// new one.
	Issuer *ExternalIssuer
	// AllowedAudiences of subject tokens. Empty means Google's default:
	// the provider's resource name, as //iam.googleapis.com/… or
	// https://iam.googleapis.com/….
	AllowedAudiences []string
	// Workforce makes it a workforce pool provider
	// (//iam.googleapis.com/locations/global/workforcePools/P/providers/X);
	// STS then requires options={"userProject":…} unless the request
	// authenticates an OAuth client.
	Workforce bool
	// TokenLifetime of the federated access tokens; 0 means the emulator's
	// TokenLifetime.
	TokenLifetime time.Duration
	// AWS makes it an AWS provider: it accepts subject tokens of type
	// urn:ietf:params:aws:token-type:aws4_request signed with credentials
	// added by AddAWSCredentials, instead of OIDC tokens.
	AWS bool
}

// Provider is a registered identity pool provider: STS at STSURL accepts
// subject tokens from its issuer and issues federated access tokens for
// Principal(sub), which the emulator's IAM endpoints accept (grant them
// with AllowImpersonation).
type Provider struct {
	// Issuer signs the subject tokens the provider accepts.
	Issuer *ExternalIssuer

	e        *Emulator
	audience string // resource name with the // prefix
	pool     string // principal prefix up to and including the pool
}

// stsProvider is what the STS handler needs.
type stsProvider struct {
	issuer    string
	kid       string
	pub       *rsa.PublicKey
	audiences []string
	pool      string
	workforce bool
	aws       bool
	lifetime  time.Duration
	// providerSuffix is "/providers/X"; pool+providerSuffix is the resource.
	providerSuffix string

	mu      sync.Mutex
	awsKeys map[string]awsCredential // by access key ID
}

type stsState struct {
	mu        sync.Mutex
	providers map[string]*stsProvider // by resource name (// form)
}

// sts returns the emulator's STS state, created on first use.
func (e *Emulator) sts() *stsState {
	e.stsOnce.Do(func() { e.stsState = &stsState{providers: map[string]*stsProvider{}} })
	return e.stsState
}

// RegisterProvider registers a workload (or workforce) identity pool
// provider in the emulated project and returns it. Registering the same
// pool and provider again replaces the earlier one.
func (e *Emulator) RegisterProvider(o ProviderOptions) *Provider {
	if o.Pool == "" {
		o.Pool = "pool"
	}
	if o.Provider == "" {
		o.Provider = "provider"
	}
	if o.Issuer == nil {
		o.Issuer = e.NewExternalIssuer("")
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = e.opts.TokenLifetime
	}
	var pool string
	if o.Workforce {
		pool = "iam.googleapis.com/locations/global/workforcePools/" + o.Pool
	} else {
		pool = fmt.Sprintf("iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s", e.opts.ProjectNumber, o.Pool)
	}
	resource := pool + "/providers/" + o.Provider
	auds := o.AllowedAudiences
	if len(auds) == 0 {
		auds = []string{"//" + resource, "https://" + resource}
	}
	st := e.sts()
	st.mu.Lock()
	st.providers["//"+resource] = &stsProvider{
		issuer:    o.Issuer.URL,
		kid:       o.Issuer.KeyID,
		pub:       &o.Issuer.Key.PublicKey,
		audiences: slices.Clone(auds),
		pool:      pool,
		workforce: o.Workforce,
		aws:       o.AWS,
		lifetime:  o.TokenLifetime,

		providerSuffix: "/providers/" + o.Provider,
	}
	st.mu.Unlock()
	return &Provider{Issuer: o.Issuer, e: e, audience: "//" + resource, pool: pool}
}

// Audience is the provider's resource name, the STS audience:
// //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X.
func (p *Provider) Audience() string { return p.audience }

// Principal is the federated principal STS issues tokens for:
// principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/SUB.
func (p *Provider) Principal(sub string) string {
	return "principal://" + p.pool + "/subject/" + sub
}

// SignSubjectToken signs a subject token from the provider's issuer; aud
// "" means the provider's resource name.
func (p *Provider) SignSubjectToken(sub, aud string, ttl time.Duration) string {
	if aud == "" {
		aud = p.audience
	}
	return p.Issuer.SignSubjectToken(sub, aud, ttl)
}

// ExternalAccountOptions shapes an external_account file. Set exactly one
// of SubjectTokenFile and SubjectTokenURL.
type ExternalAccountOptions struct {
	// SubjectTokenFile makes a file-sourced credential.
	SubjectTokenFile string
	// SubjectTokenURL makes a URL-sourced credential, sent with Headers.
	SubjectTokenURL string
	Headers         map[string]string
	// Format is "text" (default) or "json"; SubjectTokenFieldName names the
	// JSON field holding the token.
	Format                string
	SubjectTokenFieldName string
	// SubjectTokenType defaults to urn:ietf:params:oauth:token-type:jwt.
	SubjectTokenType string
	// ServiceAccount, when set, adds a service_account_impersonation_url
	// for it on the emulator's IAM Credentials.
	ServiceAccount string
	// WorkforcePoolUserProject is written as workforce_pool_user_project.
	WorkforcePoolUserProject string
}

// ExternalAccountJSON returns an external_account credential file, as
// `gcloud iam workload-identity-pools create-cred-config` writes it, whose
// token_url is the emulator's STS.
func (p *Provider) ExternalAccountJSON(o ExternalAccountOptions) []byte {
	cs := map[string]any{}
	if o.SubjectTokenFile != "" {
		cs["file"] = o.SubjectTokenFile
	}
	if o.SubjectTokenURL != "" {
		cs["url"] = o.SubjectTokenURL
		if len(o.Headers) > 0 {
			cs["headers"] = o.Headers
		}
	}
	if o.Format != "" {
		f := map[string]string{"type": o.Format}
		if o.SubjectTokenFieldName != "" {
			f["subject_token_field_name"] = o.SubjectTokenFieldName
		}
		cs["format"] = f
	}
	tt := o.SubjectTokenType
	if tt == "" {
		tt = TokenTypeJWT
	}
	m := map[string]any{
		"type":               "external_account",
		"audience":           p.audience,
		"subject_token_type": tt,
		"token_url":          p.e.STSURL(),
		"credential_source":  cs,
		"universe_domain":    "googleapis.com",
	}
	if o.ServiceAccount != "" {
		m["service_account_impersonation_url"] = p.e.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + o.ServiceAccount + ":generateAccessToken"
	}
	if o.WorkforcePoolUserProject != "" {
		m["workforce_pool_user_project"] = o.WorkforcePoolUserProject
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// serveSTS is POST /v1/token on sts.googleapis.com: the OAuth 2.0 token
// exchange of an external subject token for a federated access token.
func (e *Emulator) serveSTS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Could not parse the request body.")
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != GrantTokenExchange {
		if gt == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
			return
		}
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid value for \"grant_type\": "+gt)
		return
	}
	if rt := f.Get("requested_token_type"); rt != TokenTypeAccessToken {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"requested_token_type\": must be "+TokenTypeAccessToken)
		return
	}
	aud := f.Get("audience")
	st := e.sts()
	st.mu.Lock()
	p := st.providers[aud]
	st.mu.Unlock()
	if p == nil {
		oauthError(w, http.StatusBadRequest, "invalid_target",
			"The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}
	subject := f.Get("subject_token")
	if subject == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: subject_token")
		return
	}
	tt := f.Get("subject_token_type")
	switch {
	case tt == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: subject_token_type")
		return
	case p.aws && tt != TokenTypeAWS4Request:
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"subject_token_type\": this AWS provider accepts "+TokenTypeAWS4Request+", not "+tt)
		return
	case p.aws, tt == TokenTypeJWT, tt == TokenTypeIDToken:
	default:
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"subject_token_type\": this OIDC provider accepts "+TokenTypeJWT+" and "+TokenTypeIDToken+", not "+tt)
		return
	}
	var opts struct {
		UserProject string `json:"userProject"`
	}
	if o := f.Get("options"); o != "" && json.Unmarshal([]byte(o), &opts) != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"options\": not a JSON object.")
		return
	}
	if _, _, basic := r.BasicAuth(); p.workforce && !basic && opts.UserProject == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "A workforce pool token exchange needs options.userProject (workforce_pool_user_project) or client authentication.")
		return
	}
	check := e.checkSubjectToken
	if p.aws {
		check = e.checkAWSSubjectToken
	}
	sub, msg := check(p, subject)
	if msg != "" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msg)
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		scopes = []string{cloudPlatformScope}
	}
	tok, expiry := e.IssueAccessToken("principal://"+p.pool+"/subject/"+sub, p.lifetime, scopes...)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int(expiry.Sub(e.now()).Round(time.Second) / time.Second),
	})
}

// checkSubjectToken validates an OIDC subject token as Google's STS does
// and returns its subject, or Google-style text saying why it is refused.
func (e *Emulator) checkSubjectToken(p *stsProvider, raw string) (sub, reason string) {
	jws, err := parseJWS(raw)
	if err != nil {
		return "", "Unable to parse the ID Token."
	}
	if kid, _ := jws.header["kid"].(string); kid != p.kid || !jws.verifyRS256(p.pub) {
		return "", "Invalid ID Token signature: the token is not signed by a key of the issuer (kid " + fmt.Sprintf("%q", kid) + ")."
	}
	if iss := jws.str("iss"); iss != p.issuer {
		return "", fmt.Sprintf("The issuer in ID Token %q does not match the expected ones: %q.", iss, p.issuer)
	}
	if !audienceAllowed(jws.claims["aud"], p.audiences) {
		return "", fmt.Sprintf("The audience in ID Token %v does not match the expected audience.", jws.claims["aud"])
	}
	now := e.now()
	exp, okE := jws.num("exp")
	iat, okI := jws.num("iat")
	if !okE || !okI {
		return "", "The ID Token must have iat and exp claims."
	}
	if now.Unix() >= exp {
		return "", fmt.Sprintf("ID Token expired at %s; now is %s.", time.Unix(exp, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if iat > now.Add(e.opts.MaxClockSkew).Unix() {
		return "", "The ID Token was issued in the future (check the clocks)."
	}
	sub = jws.str("sub")
	if sub == "" || len(sub) > 127 {
		return "", "The ID Token's sub claim must be 1 to 127 characters (google.subject mapping)."
	}
	return sub, ""
}

func audienceAllowed(aud any, allowed []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(allowed, a)
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && slices.Contains(allowed, s) {
				return true
			}
		}
	}
	return false
}
