package verify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

// whoami echoes the verified identity from the request context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := verify.ClaimsFromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", 500)
		return
	}
	_, _ = w.Write([]byte(c.Email + " " + c.Subject))
})

type iapReq struct {
	assertion   string
	email, id   string // identity headers; "" = absent
	extraAssert bool
}

func TestIAPMiddleware(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.iap(t)
	const sub = "accounts.google.com:112233445566778899001"
	good := e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud, Email: "alice@example.com", Subject: sub})
	gcipSub := "securetoken.google.com/my-proj/tenant-1:uid-42"
	gcip := e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud, Email: "bob@example.org", Subject: gcipSub})
	bareSub := e.emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: iapAud, Email: "carol@example.com", Subject: "998877"})

	cases := []struct {
		name    string
		req     iapReq
		status  int
		body    string
		wantErr error
	}{
		{"assertion only", iapReq{assertion: good}, 200, "alice@example.com " + sub, nil},
		{"matching headers", iapReq{good, "accounts.google.com:alice@example.com", "accounts.google.com:112233445566778899001", false}, 200, "alice@example.com " + sub, nil},
		{"email header differs in case", iapReq{good, "accounts.google.com:Alice@Example.com", "", false}, 200, "alice@example.com " + sub, nil},
		{"Identity Platform namespace", iapReq{gcip, "securetoken.google.com/my-proj/tenant-1:bob@example.org", "securetoken.google.com/my-proj/tenant-1:uid-42", false}, 200, "bob@example.org " + gcipSub, nil},
		{"sub without namespace, header with", iapReq{bareSub, "", "accounts.google.com:998877", false}, 200, "carol@example.com 998877", nil},
		{"email header mismatch", iapReq{good, "accounts.google.com:mallory@example.com", "", false}, 401, "", verify.ErrHeaderMismatch},
		{"id header mismatch", iapReq{good, "", "accounts.google.com:1", false}, 401, "", verify.ErrHeaderMismatch},
		{"email header without namespace", iapReq{good, "alice@example.com", "", false}, 401, "", verify.ErrHeaderMismatch},
		{"id header without namespace", iapReq{good, "", "112233445566778899001", false}, 401, "", verify.ErrHeaderMismatch},
		{"unknown namespace", iapReq{good, "evil.example:alice@example.com", "", false}, 401, "", verify.ErrHeaderMismatch},
		{"empty value after namespace", iapReq{good, "accounts.google.com:", "", false}, 401, "", verify.ErrHeaderMismatch},
		{"no assertion", iapReq{email: "accounts.google.com:alice@example.com"}, 401, "", verify.ErrNoToken},
		{"two assertions", iapReq{assertion: good, extraAssert: true}, 401, "", verify.ErrMalformed},
		{"bad assertion", iapReq{assertion: good[:len(good)-3] + "AAA"}, 401, "", verify.ErrSignature},
		{"ID token in the IAP header", iapReq{assertion: e.mint("x")}, 401, "", verify.ErrAlgorithm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotErr error
			h := verify.IAPMiddleware(v, verify.MiddlewareOptions{OnError: func(_ *http.Request, err error) { gotErr = err }})(whoami)
			r := httptest.NewRequest("GET", "/", nil)
			if c.req.assertion != "" {
				r.Header.Set("x-goog-iap-jwt-assertion", c.req.assertion)
			}
			if c.req.extraAssert {
				r.Header.Add("x-goog-iap-jwt-assertion", c.req.assertion)
			}
			if c.req.email != "" {
				r.Header.Set(verify.IAPUserEmailHeader, c.req.email)
			}
			if c.req.id != "" {
				r.Header.Set(verify.IAPUserIDHeader, c.req.id)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, c.status, w.Code, w.Body.String())
			if c.status == 200 {
				assert.Equal(t, c.body, w.Body.String())
				assert.NoError(t, gotErr)
				return
			}
			assert.Equal(t, "unauthorized\n", w.Body.String(), "401 body never explains")
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.ErrorIs(t, gotErr, c.wantErr)
		})
	}
}

func TestBearerMiddleware(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.google(t)
	sa := e.emu.NewServiceAccount("caller")
	tok := e.emu.MintIDToken(idtokentest.IDTokenClaims{Audience: runAud, Email: sa.Email})
	other := e.emu.MintIDToken(idtokentest.IDTokenClaims{Audience: "https://other.run.app", Email: sa.Email})
	cases := []struct {
		name, authz string
		status      int
		wantErr     error
	}{
		{"valid", "Bearer " + tok, 200, nil},
		{"scheme is case-insensitive", "bearer " + tok, 200, nil},
		{"no header", "", 401, verify.ErrNoToken},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, verify.ErrNoToken},
		{"empty bearer", "Bearer ", 401, verify.ErrNoToken},
		{"other audience", "Bearer " + other, 401, verify.ErrAudience},
		{"garbage", "Bearer abc.def.ghi", 401, verify.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotErr error
			h := verify.BearerMiddleware(v, verify.MiddlewareOptions{OnError: func(_ *http.Request, err error) { gotErr = err }})(whoami)
			r := httptest.NewRequest("GET", "/", nil)
			if c.authz != "" {
				r.Header.Set("Authorization", c.authz)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, c.status, w.Code)
			if c.status == 200 {
				assert.Equal(t, sa.Email+" "+sa.UniqueID, w.Body.String())
				return
			}
			assert.Equal(t, "unauthorized\n", w.Body.String())
			assert.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer"))
			assert.ErrorIs(t, gotErr, c.wantErr)
		})
	}
}

func TestMiddlewarePresetMismatchPanics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assert.Panics(t, func() { verify.IAPMiddleware(e.google(t), verify.MiddlewareOptions{}) })
}
