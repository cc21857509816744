package signin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func FuzzParseCallback(f *testing.F) {
	f.Add("code=4%2F0abc&state=s1&scope=openid&authuser=0", "s1")
	f.Add("error=access_denied&state=s1", "s1")
	f.Add("error=invalid_request&error_description=bad%0Athing&state=s1", "s1")
	f.Add("code=x&state=s1&state=s1", "s1")
	f.Add("code=&state=s1", "s1")
	f.Add("code=x", "")
	f.Add("%zz", "s")
	f.Fuzz(func(t *testing.T, rawQuery, state string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		code, err := parseCallback(q, state)
		if err != nil {
			require.Empty(t, code)
			require.True(t, errors.Is(err, ErrStateMismatch) || errors.Is(err, ErrAccessDenied) ||
				errors.Is(err, ErrAuthorization) || errors.Is(err, ErrNoCode), "unexpected error %v", err)
			require.NotContains(t, err.Error(), "\n")
			if len(q["error"]) == 0 {
				// Only bare sentinels, so the code cannot leak into the text.
				require.True(t, err == ErrStateMismatch || err == ErrNoCode, "unexpected error %v", err)
			}
			return
		}
		require.NotEmpty(t, code)
		require.Equal(t, []string{state}, q["state"], "success only with exactly the expected state")
		require.Equal(t, []string{code}, q["code"])
		require.Empty(t, q["error"])
	})
}

func FuzzParseAuthorizedUser(f *testing.F) {
	f.Add([]byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"1//r","token_uri":"https://oauth2.googleapis.com/token"}`))
	f.Add([]byte(`{"type":"service_account"}`))
	f.Add([]byte(`{"type":"authorized_user","client_id":5}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAuthorizedUser(data)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidCredentials)
			require.Nil(t, a)
			return
		}
		require.Equal(t, "authorized_user", a.Type)
		require.NotEmpty(t, a.ClientID)
		require.NotEmpty(t, a.ClientSecret)
		require.NotEmpty(t, a.RefreshToken)
		// String is exactly the fixed text plus the client ID: neither the
		// secret nor the refresh token can appear in it. (A substring check
		// would trip on one-letter secrets that occur in the fixed text.)
		require.Equal(t, "authorized_user credentials for OAuth client "+a.ClientID, a.String())
	})
}

func FuzzParseTokenReply(f *testing.F) {
	f.Add([]byte(`{"access_token":"ya29.x","expires_in":3599,"id_token":"a.b.c","refresh_token":"1//r","token_type":"Bearer"}`))
	f.Add([]byte(`{"expires_in":-1,"access_token":"x"}`))
	f.Add([]byte(`{"expires_in":1e30,"access_token":"x"}`))
	f.Add([]byte(`<html>`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseTokenReply(body, now)
		if err != nil {
			require.ErrorIs(t, err, ErrBadReply)
			// Fixed texts only: nothing of the reply reaches the error.
			require.Contains(t, []string{
				ErrBadReply.Error() + ": not a JSON object",
				ErrBadReply.Error() + ": no access_token",
				ErrBadReply.Error() + ": expires_in out of range",
			}, err.Error())
			return
		}
		s := &session{clientID: "c"}
		if tok, err := s.accessToken(r); err == nil {
			require.NotEmpty(t, tok.AccessToken)
			require.True(t, tok.Expiry.After(now))
		}
		if _, err := s.idToken(r); err != nil {
			require.True(t, errors.Is(err, ErrNoIDToken) || errors.Is(err, ErrInvalidToken), "unexpected %v", err)
		}
	})
}

func TestCallbackHandler(t *testing.T) {
	t.Parallel()
	done := make(chan callback, 1)
	h := callbackHandler("st", done)
	get := func(target string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec.Code
	}
	require.Equal(t, http.StatusNotFound, get("/favicon.ico"))
	require.Empty(t, done, "other paths do not count")
	require.Equal(t, http.StatusOK, get("/?state=st&code=4%2F0abc"))
	cb := <-done
	require.NoError(t, cb.err)
	require.Equal(t, "4/0abc", cb.code)
	require.Equal(t, http.StatusGone, get("/?state=st&code=again"), "only the first redirect counts")
	require.Empty(t, done)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/?state=st&code=x", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}
