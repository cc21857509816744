package idtokentest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
)

const target = "https://hello-abc123-uc.a.run.app"

func TestJWTBearerChecks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	emu := idtokentest.NewServer(t, idtokentest.Options{Now: func() time.Time { return now }})
	sa := emu.NewServiceAccount("bearer")
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	c := newClient(t)

	type tc struct {
		key    *rsa.PrivateKey
		header map[string]any
		claims map[string]any
		status int
		code   string
		desc   string // substring of error_description
	}
	base := func(mod func(*tc)) tc {
		x := tc{
			key:    sa.Key,
			header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": sa.KeyID},
			claims: map[string]any{
				"iss": sa.Email, "aud": emu.TokenURL(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
				"target_audience": target,
			},
			status: 200,
		}
		mod(&x)
		return x
	}
	bad := func(status int, code, desc string, mod func(*tc)) tc {
		return base(func(x *tc) { mod(x); x.status, x.code, x.desc = status, code, desc })
	}
	cases := map[string]tc{
		"ok":                    base(func(*tc) {}),
		"aud is Google's URL":   base(func(x *tc) { x.claims["aud"] = idtokentest.GoogleTokenURL }),
		"no kid tries all keys": base(func(x *tc) { delete(x.header, "kid") }),
		"iat within skew ahead": base(func(x *tc) {
			x.claims["iat"] = now.Add(4 * time.Minute).Unix()
			x.claims["exp"] = now.Add(64 * time.Minute).Unix()
		}),
		"bad signature":         bad(400, "invalid_grant", "Invalid JWT Signature", func(x *tc) { x.key = stranger }),
		"bad signature no kid":  bad(400, "invalid_grant", "Invalid JWT Signature", func(x *tc) { x.key = stranger; delete(x.header, "kid") }),
		"unknown kid":           bad(400, "invalid_grant", "Invalid JWT Signature", func(x *tc) { x.header["kid"] = "nope" }),
		"alg none":              bad(400, "invalid_grant", "Invalid JWT Signature", func(x *tc) { x.header["alg"] = "none" }),
		"alg HS256":             bad(400, "invalid_grant", "Invalid JWT Signature", func(x *tc) { x.header["alg"] = "HS256" }),
		"wrong aud":             bad(400, "invalid_grant", "audience", func(x *tc) { x.claims["aud"] = "https://example.com/token" }),
		"aud array":             bad(400, "invalid_grant", "audience", func(x *tc) { x.claims["aud"] = []string{emu.TokenURL()} }),
		"unknown account":       bad(400, "invalid_grant", "account not found", func(x *tc) { x.claims["iss"] = "ghost@idtokens-emulator.iam.gserviceaccount.com" }),
		"lifetime over an hour": bad(400, "invalid_grant", "short-lived", func(x *tc) { x.claims["exp"] = now.Add(time.Hour + time.Second).Unix() }),
		"exp equals iat":        bad(400, "invalid_grant", "short-lived", func(x *tc) { x.claims["exp"] = now.Unix() }),
		"iat beyond skew ahead": bad(400, "invalid_grant", "short-lived", func(x *tc) {
			x.claims["iat"] = now.Add(6 * time.Minute).Unix()
			x.claims["exp"] = now.Add(66 * time.Minute).Unix()
		}),
		"expired": bad(400, "invalid_grant", "short-lived", func(x *tc) {
			x.claims["iat"] = now.Add(-2 * time.Hour).Unix()
			x.claims["exp"] = now.Add(-time.Hour).Unix()
		}),
		"no iat":                bad(400, "invalid_grant", "short-lived", func(x *tc) { delete(x.claims, "iat") }),
		"string exp":            bad(400, "invalid_grant", "short-lived", func(x *tc) { x.claims["exp"] = "soon" }),
		"iat -1e300 (overflow)": bad(400, "invalid_grant", "short-lived", func(x *tc) { x.claims["iat"] = -1e300 }),
		"exp 1e300 (overflow)":  bad(400, "invalid_grant", "short-lived", func(x *tc) { x.claims["exp"] = 1e300 }),
		"empty target_audience": bad(400, "invalid_request", "target_audience", func(x *tc) { x.claims["target_audience"] = "" }),
		"no target, no scope":   bad(400, "invalid_scope", "", func(x *tc) { delete(x.claims, "target_audience") }),
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := signAssertion(t, x.key, x.header, x.claims)
			r := postForm(t, c, emu.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
			require.Equal(t, x.status, r.Status, "body: %s", r.Body)
			m := r.json(t)
			if x.status != 200 {
				assert.Equal(t, x.code, m["error"])
				assert.Contains(t, m["error_description"], x.desc)
				return
			}
			h, claims := decode(t, m["id_token"].(string))
			assert.Equal(t, emu.GoogleKeyID(), h["kid"])
			assert.Equal(t, target, claims["aud"])
			assert.Equal(t, sa.Email, claims["email"])
			assert.Equal(t, sa.UniqueID, claims["sub"])
			assert.Equal(t, "https://accounts.google.com", claims["iss"])
			assert.EqualValues(t, now.Unix(), claims["iat"])
			assert.EqualValues(t, now.Add(time.Hour).Unix(), claims["exp"])
			assert.True(t, verifyWith(t, c, emu.CertsURL(), m["id_token"].(string)))
		})
	}
}

func TestJWTBearerScopeGivesAccessToken(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("scoped")
	now := time.Now()
	a := signAssertion(t, sa.Key, map[string]any{"alg": "RS256", "kid": sa.KeyID}, map[string]any{
		"iss": sa.Email, "aud": idtokentest.GoogleTokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"scope": "https://www.googleapis.com/auth/cloud-platform",
	})
	r := postForm(t, newClient(t), emu.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	m := r.json(t)
	assert.True(t, strings.HasPrefix(m["access_token"].(string), "ya29.emu-"))
	assert.Equal(t, "Bearer", m["token_type"])
	assert.InDelta(t, 3600, m["expires_in"], 2)
}

func TestTokenEndpointRequestErrors(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	cases := map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"no grant_type":     {url.Values{}, 400, "invalid_request"},
		"unsupported grant": {url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		"no assertion":      {url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}}, 400, "invalid_request"},
		"not a JWS":         {url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"abc"}}, 400, "invalid_grant"},
		"bad base64":        {url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"!!.!!.!!"}}, 400, "invalid_grant"},
		"too large": {url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion":  {strings.Repeat("a", idtokentest.MaxRequestBody)},
		}, 413, "invalid_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := postForm(t, c, emu.TokenURL(), tc.form)
			assert.Equal(t, tc.status, r.Status)
			assert.Equal(t, tc.code, r.json(t)["error"])
		})
	}
}

func TestRefreshTokenGrant(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	client := emu.NewOAuthClient()
	other := emu.NewOAuthClient()
	user := emu.NewUser("dev@example.com")
	rt := emu.IssueRefreshToken(client, user)
	assert.True(t, strings.HasPrefix(rt, "1//emu-"))
	assert.True(t, strings.HasPrefix(client.Secret, "GOCSPX-"))
	form := func(id, secret, rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {rt}}
	}

	r := postForm(t, c, emu.TokenURL(), form(client.ID, client.Secret, rt))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	m := r.json(t)
	assert.True(t, strings.HasPrefix(m["access_token"].(string), "ya29.emu-"))
	_, claims := decode(t, m["id_token"].(string))
	assert.Equal(t, client.ID, claims["aud"])
	assert.Equal(t, client.ID, claims["azp"])
	assert.Equal(t, user.Email, claims["email"])
	assert.Equal(t, user.Subject, claims["sub"])

	// HTTP Basic client authentication works too.
	req := postFormRequest(t, emu.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	req.SetBasicAuth(client.ID, client.Secret)
	assert.Equal(t, 200, do(t, c, req).Status)

	// No openid scope: no ID token.
	rt2 := emu.IssueRefreshToken(client, user, "https://www.googleapis.com/auth/cloud-platform")
	m = postForm(t, c, emu.TokenURL(), form(client.ID, client.Secret, rt2)).json(t)
	assert.NotContains(t, m, "id_token")

	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"wrong secret":         {form(client.ID, "GOCSPX-wrong", rt), 401, "invalid_client"},
		"unknown client":       {form("nobody.apps.googleusercontent.com", "x", rt), 401, "invalid_client"},
		"other client's token": {form(other.ID, other.Secret, rt), 400, "invalid_grant"},
		"unknown token":        {form(client.ID, client.Secret, "1//emu-nope"), 400, "invalid_grant"},
		"empty token":          {form(client.ID, client.Secret, ""), 400, "invalid_grant"},
	} {
		r := postForm(t, c, emu.TokenURL(), tc.form)
		assert.Equal(t, tc.status, r.Status, name)
		assert.Equal(t, tc.code, r.json(t)["error"], name)
	}

	emu.RevokeRefreshToken(rt)
	r = postForm(t, c, emu.TokenURL(), form(client.ID, client.Secret, rt))
	assert.Equal(t, 400, r.Status)
	assert.Equal(t, "invalid_grant", r.json(t)["error"])
	assert.Contains(t, r.json(t)["error_description"], "expired or revoked")
}

func TestCertsCacheControlAndRotation(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	r := get(t, c, emu.CertsURL())
	require.Equal(t, 200, r.Status)
	assert.Equal(t, "public, max-age=21600, must-revalidate, no-transform", r.Header.Get("Cache-Control"))
	assert.NotEmpty(t, r.Header.Get("Date"))
	keys := r.json(t)["keys"].([]any)
	require.Len(t, keys, 1)
	k0 := emu.GoogleKeyID()
	assert.Equal(t, k0, keys[0].(map[string]any)["kid"])
	assert.Equal(t, "RS256", keys[0].(map[string]any)["alg"])

	before := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: target})
	k1 := emu.RotateKeys()
	assert.NotEqual(t, k0, k1)
	assert.Equal(t, k1, emu.GoogleKeyID())
	after := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: target})
	h, _ := decode(t, after)
	assert.Equal(t, k1, h["kid"])
	assert.Equal(t, []string{k1, k0}, kids(t, get(t, c, emu.CertsURL())), "the previous key stays published")
	assert.True(t, verifyWith(t, c, emu.CertsURL(), before), "tokens signed before the rotation still verify")
	assert.True(t, verifyWith(t, c, emu.CertsURL(), after))

	k2 := emu.RotateKeys()
	assert.Equal(t, []string{k2, k1}, kids(t, get(t, c, emu.CertsURL())), "older keys are dropped")
	assert.False(t, verifyWith(t, c, emu.CertsURL(), before))

	short := idtokentest.NewServer(t, idtokentest.Options{CertsMaxAge: time.Minute})
	assert.Equal(t, "public, max-age=60, must-revalidate, no-transform", get(t, c, short.CertsURL()).Header.Get("Cache-Control"))
	none := idtokentest.NewServer(t, idtokentest.Options{CertsMaxAge: -1})
	assert.Empty(t, get(t, c, none.CertsURL()).Header.Get("Cache-Control"))
}

func kids(t *testing.T, r reply) []string {
	var out []string
	for _, k := range r.json(t)["keys"].([]any) {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	return out
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	emu := idtokentest.NewServer(t, idtokentest.Options{Now: func() time.Time { return now }})
	sa := emu.NewServiceAccount("skewed")
	c := newClient(t)
	emu.SetClockSkew(10 * time.Minute)
	assert.Equal(t, now.Add(10*time.Minute), emu.Now())
	_, claims := decode(t, emu.MintIDToken(idtokentest.IDTokenClaims{Audience: target}))
	assert.EqualValues(t, now.Add(10*time.Minute).Unix(), claims["iat"])
	assert.EqualValues(t, now.Add(70*time.Minute).Unix(), claims["exp"])

	// A caller whose clock runs 10 min ahead of the emulator's signs an
	// assertion the emulator sees as issued in the future: refused.
	emu.SetClockSkew(-10 * time.Minute)
	a := signAssertion(t, sa.Key, map[string]any{"alg": "RS256", "kid": sa.KeyID}, map[string]any{
		"iss": sa.Email, "aud": emu.TokenURL(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "target_audience": target,
	})
	r := postForm(t, c, emu.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
	assert.Equal(t, 400, r.Status, "iat is 10 min in the emulator's future, beyond the 5 min tolerance")
	emu.SetClockSkew(0)
	r = postForm(t, c, emu.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
	assert.Equal(t, 200, r.Status)
}

func TestMetadataServer(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("vm")
	c := newClient(t)
	base := emu.URL() + "/computeMetadata/v1/instance/service-accounts/"
	identity := base + "default/identity?audience=" + url.QueryEscape(target)

	r := get(t, c, identity)
	assert.Equal(t, 403, r.Status, "Metadata-Flavor is required")
	assert.Contains(t, string(r.Body), "Metadata-Flavor")
	assert.Equal(t, "Google", r.Header.Get("Metadata-Flavor"))

	r = get(t, c, identity, "Metadata-Flavor", "Google")
	assert.Equal(t, 404, r.Status, "no service account attached yet")

	emu.SetMetadataServiceAccount(sa)
	r = get(t, c, identity, "metadata-flavor", "Google") // google-auth's lower case
	require.Equal(t, 200, r.Status, "%s", r.Body)
	assert.Equal(t, "Google", r.Header.Get("Metadata-Flavor"))
	_, claims := decode(t, string(r.Body))
	assert.Equal(t, target, claims["aud"])
	assert.Equal(t, sa.UniqueID, claims["sub"])
	assert.NotContains(t, claims, "email", "format=standard has no email")

	r = get(t, c, identity, "Metadata-Flavor", "Google", "X-Forwarded-For", "10.0.0.1")
	assert.Equal(t, 403, r.Status, "proxied requests are refused")

	r = get(t, c, base+sa.Email+"/identity?format=full&licenses=TRUE&audience="+url.QueryEscape(target), "Metadata-Flavor", "Google")
	require.Equal(t, 200, r.Status)
	_, claims = decode(t, string(r.Body))
	assert.Equal(t, sa.Email, claims["email"])
	ce := claims["google"].(map[string]any)["compute_engine"].(map[string]any)
	assert.Equal(t, emu.ProjectID(), ce["project_id"])
	assert.Contains(t, ce, "license_id")

	assert.Equal(t, 400, get(t, c, base+"default/identity", "Metadata-Flavor", "Google").Status, "audience required")
	assert.Equal(t, 400, get(t, c, identity+"&format=weird", "Metadata-Flavor", "Google").Status)
	assert.Equal(t, 404, get(t, c, base+"other@x.iam.gserviceaccount.com/identity?audience=a", "Metadata-Flavor", "Google").Status)
	assert.Equal(t, sa.Email, string(get(t, c, base+"default/email", "Metadata-Flavor", "Google").Body))
	assert.Equal(t, 403, get(t, c, base+"default/email").Status)
	assert.Equal(t, 2, emu.Counts()[idtokentest.EndpointMetadataOther], "email reads are counted under metadata.other")
	assert.Equal(t, 8, emu.Count(idtokentest.EndpointMetadataIdentity))
}

func TestIAMCredentials(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	caller := emu.NewServiceAccount("caller")
	target1 := emu.NewServiceAccount("target")
	hop := emu.NewServiceAccount("hop")
	tok, _ := emu.IssueAccessToken(caller.Email, 0)
	gen := func(sa string) string {
		return emu.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + sa + ":generateIdToken"
	}
	body := `{"audience":"` + target + `","includeEmail":true}`

	r := postJSON(t, c, gen(target1.Email), "", body)
	assert.Equal(t, 401, r.Status)
	assert.Equal(t, "UNAUTHENTICATED", r.json(t)["error"].(map[string]any)["status"])
	assert.Equal(t, 401, postJSON(t, c, gen(target1.Email), "ya29.emu-unknown", body).Status)

	r = postJSON(t, c, gen(target1.Email), tok, body)
	assert.Equal(t, 403, r.Status, "no Token Creator grant yet")
	e := r.json(t)["error"].(map[string]any)
	assert.Equal(t, "PERMISSION_DENIED", e["status"])
	assert.Contains(t, e["message"], "iam.serviceAccounts.getOpenIdToken")
	assert.EqualValues(t, 403, e["code"])

	r = postJSON(t, c, gen("ghost@idtokens-emulator.iam.gserviceaccount.com"), tok, body)
	assert.Equal(t, 404, r.Status)
	assert.Equal(t, "NOT_FOUND", r.json(t)["error"].(map[string]any)["status"])

	emu.AllowImpersonation(caller.Email, target1.Email)
	r = postJSON(t, c, gen(target1.Email), tok, body)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	_, claims := decode(t, r.json(t)["token"].(string))
	assert.Equal(t, target, claims["aud"])
	assert.Equal(t, target1.Email, claims["email"])
	assert.Equal(t, target1.UniqueID, claims["sub"])

	r = postJSON(t, c, gen(target1.Email), tok, `{"audience":"`+target+`","delegates":null}`)
	require.Equal(t, 200, r.Status, "delegates: null is accepted")
	_, claims = decode(t, r.json(t)["token"].(string))
	assert.NotContains(t, claims, "email", "includeEmail false")

	// Delegation chain caller → hop → target1: every link is needed.
	chain := `{"audience":"` + target + `","delegates":["projects/-/serviceAccounts/` + hop.Email + `"]}`
	assert.Equal(t, 403, postJSON(t, c, gen(target1.Email), tok, chain).Status)
	emu.AllowImpersonation(caller.Email, hop.Email)
	assert.Equal(t, 403, postJSON(t, c, gen(target1.Email), tok, chain).Status, "hop may not yet act as target")
	emu.AllowImpersonation(hop.Email, target1.Email)
	assert.Equal(t, 200, postJSON(t, c, gen(target1.Email), tok, chain).Status)

	assert.Equal(t, 400, postJSON(t, c, gen(target1.Email), tok, `{"audience":"a","delegates":["projects/-/serviceAccounts/"]}`).Status, "delegate without an email")
	assert.Equal(t, 400, postJSON(t, c, gen(target1.Email), tok, `{"audience":"a","delegates":["organizations/1/roles/x"]}`).Status, "delegate that is no service account")
	assert.Equal(t, 404, postJSON(t, c, gen(target1.Email), tok, `{"audience":"a","delegates":["projects/-/serviceAccounts/ghost@x"]}`).Status)
	assert.Equal(t, 400, postJSON(t, c, gen(target1.Email), tok, `{"audience":""}`).Status)
	assert.Equal(t, 400, postJSON(t, c, gen(target1.Email), tok, `not json`).Status)
	assert.Equal(t, 404, postJSON(t, c, emu.IAMCredentialsURL()+"v1/projects/-/serviceAccounts/"+target1.Email+":nope", tok, body).Status)

	// An expired or revoked token is refused.
	emu.RevokeAccessToken(tok)
	assert.Equal(t, 401, postJSON(t, c, gen(target1.Email), tok, body).Status)

	assert.Equal(t, 15, emu.Count(idtokentest.EndpointGenerateIDToken), "every call but the unknown method is counted")
}

func postFormRequest(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
