package idtokentest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idtokens/idtokens/internal/fakeclock"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
)

type stsReply struct {
	AccessToken      string `json:"access_token"`
	IssuedTokenType  string `json:"issued_token_type"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func exchange(t *testing.T, emu *idtokentest.Server, form url.Values, basic bool) (int, stsReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, emu.STSURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("client", "secret")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var r stsReply
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &r), string(b))
	return resp.StatusCode, r
}

func stsForm(p *idtokentest.Provider, subject string) url.Values {
	return url.Values{
		"grant_type":           {idtokentest.GrantTokenExchange},
		"audience":             {p.Audience()},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
		"requested_token_type": {idtokentest.TokenTypeAccessToken},
		"subject_token":        {subject},
		"subject_token_type":   {idtokentest.TokenTypeJWT},
	}
}

func generateIDToken(t *testing.T, emu *idtokentest.Server, bearer, sa string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, emu.IAMCredentialsURL()+"v1/projects/-/serviceAccounts/"+sa+":generateIdToken",
		strings.NewReader(`{"audience":"https://svc.example"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestSTSExchange(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(time.Now())
	emu := idtokentest.NewServer(t, idtokentest.Options{Now: clk.Now, ProjectNumber: "42"})
	p := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "ci", Provider: "gh", TokenLifetime: 10 * time.Minute})
	assert.Equal(t, "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci/providers/gh", p.Audience())
	assert.Equal(t, "principal://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci/subject/alice", p.Principal("alice"))
	sa := emu.NewServiceAccount("run-invoker")
	emu.AllowImpersonation(p.Principal("alice"), sa.Email)

	status, r := exchange(t, emu, stsForm(p, p.SignSubjectToken("alice", "", time.Hour)), false)
	require.Equal(t, http.StatusOK, status, r.ErrorDescription)
	assert.Equal(t, "Bearer", r.TokenType)
	assert.Equal(t, idtokentest.TokenTypeAccessToken, r.IssuedTokenType)
	assert.Equal(t, 600, r.ExpiresIn)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointSTS))

	assert.Equal(t, http.StatusOK, generateIDToken(t, emu, r.AccessToken, sa.Email), "federated token accepted by IAM")
	clk.Add(11 * time.Minute)
	assert.Equal(t, http.StatusUnauthorized, generateIDToken(t, emu, r.AccessToken, sa.Email), "expired federated token refused")

	// Another subject gets a token, but no permission.
	_, r = exchange(t, emu, stsForm(p, p.SignSubjectToken("mallory", "https://"+strings.TrimPrefix(p.Audience(), "//"), time.Hour)), false)
	require.NotEmpty(t, r.AccessToken, "https:// form of the audience accepted")
	assert.Equal(t, http.StatusForbidden, generateIDToken(t, emu, r.AccessToken, sa.Email))
}

func TestSTSRefusals(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	p := emu.RegisterProvider(idtokentest.ProviderOptions{})
	wf := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "staff", Provider: "okta", Workforce: true})
	custom := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "k8s", AllowedAudiences: []string{"sts.example"}})
	good := p.SignSubjectToken("alice", "", time.Hour)
	now := time.Now()
	with := func(k, v string) url.Values {
		f := stsForm(p, good)
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := map[string]struct {
		form   url.Values
		basic  bool
		status int
		code   string
		text   string
	}{
		"no grant type":     {with("grant_type", ""), false, 400, "invalid_request", "grant_type"},
		"wrong grant type":  {with("grant_type", "refresh_token"), false, 400, "unsupported_grant_type", "refresh_token"},
		"wrong requested":   {with("requested_token_type", "urn:ietf:params:oauth:token-type:id_token"), false, 400, "invalid_request", "requested_token_type"},
		"unknown audience":  {with("audience", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y"), false, 400, "invalid_target", "audience"},
		"no subject token":  {with("subject_token", ""), false, 400, "invalid_request", "subject_token"},
		"no token type":     {with("subject_token_type", ""), false, 400, "invalid_request", "subject_token_type"},
		"saml":              {with("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), false, 400, "invalid_request", "saml2"},
		"bad options":       {with("options", "{"), false, 400, "invalid_request", "options"},
		"expired":           {with("subject_token", p.SignSubjectToken("alice", "", -time.Second)), false, 400, "invalid_grant", "expired"},
		"future":            {with("subject_token", p.Issuer.Sign(map[string]any{"iss": p.Issuer.URL, "aud": p.Audience(), "sub": "a", "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()})), false, 400, "invalid_grant", "future"},
		"no exp":            {with("subject_token", p.Issuer.Sign(map[string]any{"iss": p.Issuer.URL, "aud": p.Audience(), "sub": "a", "iat": now.Unix()})), false, 400, "invalid_grant", "iat and exp"},
		"long sub":          {with("subject_token", p.SignSubjectToken(strings.Repeat("s", 128), "", time.Hour)), false, 400, "invalid_grant", "sub"},
		"wrong issuer":      {with("subject_token", p.Issuer.Sign(map[string]any{"iss": "https://other", "aud": p.Audience(), "sub": "a", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})), false, 400, "invalid_grant", "issuer"},
		"other issuer key":  {with("subject_token", wf.SignSubjectToken("alice", p.Audience(), time.Hour)), false, 400, "invalid_grant", "signature"},
		"tampered":          {with("subject_token", good[:len(good)-4]+"AAAA"), false, 400, "invalid_grant", "signature"},
		"garbage":           {with("subject_token", "a.b.c"), false, 400, "invalid_grant", "parse"},
		"custom aud wrong":  {stsForm(custom, custom.SignSubjectToken("a", "", time.Hour)), false, 400, "invalid_grant", "audience"},
		"custom aud ok":     {stsForm(custom, custom.SignSubjectToken("a", "sts.example", time.Hour)), false, 200, "", ""},
		"workforce no proj": {stsForm(wf, wf.SignSubjectToken("a", "", time.Hour)), false, 400, "invalid_request", "userProject"},
		"workforce client":  {stsForm(wf, wf.SignSubjectToken("a", "", time.Hour)), true, 200, "", ""},
		"workforce project": {func() url.Values {
			f := stsForm(wf, wf.SignSubjectToken("a", "", time.Hour))
			f.Set("options", `{"userProject":"123"}`)
			return f
		}(), false, 200, "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			status, r := exchange(t, emu, tc.form, tc.basic)
			assert.Equal(t, tc.status, status, r.ErrorDescription)
			assert.Equal(t, tc.code, r.Error)
			assert.Contains(t, r.ErrorDescription, tc.text)
			if tc.status == 200 {
				assert.NotEmpty(t, r.AccessToken)
			} else {
				assert.Empty(t, r.AccessToken)
			}
		})
	}
}

func TestExternalAccountJSON(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	p := emu.RegisterProvider(idtokentest.ProviderOptions{})
	var m map[string]any
	require.NoError(t, json.Unmarshal(p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{
		SubjectTokenURL: "http://127.0.0.1:1/token", Headers: map[string]string{"Metadata": "true"},
		Format: "json", SubjectTokenFieldName: "access_token", ServiceAccount: "sa@p.iam.gserviceaccount.com",
	}), &m))
	assert.Equal(t, "external_account", m["type"])
	assert.Equal(t, p.Audience(), m["audience"])
	assert.Equal(t, idtokentest.TokenTypeJWT, m["subject_token_type"])
	assert.Equal(t, emu.STSURL(), m["token_url"])
	assert.Equal(t, emu.URL()+"/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken", m["service_account_impersonation_url"])
	assert.Equal(t, map[string]any{
		"url": "http://127.0.0.1:1/token", "headers": map[string]any{"Metadata": "true"},
		"format": map[string]any{"type": "json", "subject_token_field_name": "access_token"},
	}, m["credential_source"])
}
