package credfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "GOCSPX-supersecretvalue"

func TestParseAuthorizedUser(t *testing.T) {
	t.Parallel()
	good := `{"type":"authorized_user","client_id":"c","client_secret":"` + secret + `","refresh_token":"1//rt-secret"}`
	u, err := ParseAuthorizedUser([]byte(good))
	require.NoError(t, err)
	assert.Equal(t, "c", u.ClientID)
	assert.Equal(t, "", u.TokenURI, "no default here: callers pick theirs")
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		assert.NotContains(t, fmt.Sprintf(f, u), secret, f)
	}

	for name, tc := range map[string]struct{ data, want string }{
		"truncated":     {`{"type":`, "not JSON (syntax error at byte 8)"},
		"array":         {`[]`, "not a JSON object"},
		"wrong type":    {`{"type":"service_account"}`, `type is "service_account", want "authorized_user"`},
		"no type":       {`{}`, `no "type" field`},
		"field type":    {`{"type":"authorized_user","client_id":5}`, `field "client_id" has the wrong JSON type`},
		"missing":       {`{"type":"authorized_user","client_id":"c"}`, "missing client_secret, refresh_token"},
		"bad token_uri": {strings.TrimSuffix(good, "}") + `,"token_uri":"oauth2.googleapis.com/token"}`, `token_uri "oauth2.googleapis.com/token" is not an absolute http(s) URL`},
		"secret in bad": {`{"type":"authorized_user","client_secret":"` + secret + `",`, "not JSON (syntax error at byte 68)"},
	} {
		_, err := ParseAuthorizedUser([]byte(tc.data))
		require.Error(t, err, name)
		assert.Equal(t, tc.want, err.Error(), name)
		assert.NotContains(t, err.Error(), secret, name)
	}
}

func FuzzParseAuthorizedUser(f *testing.F) {
	f.Add([]byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}`))
	f.Add([]byte(`{"type":"authorized_user","client_secret":"` + secret + `"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseAuthorizedUser(data)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if u.ClientID == "" || u.ClientSecret == "" || u.RefreshToken == "" {
			t.Fatalf("accepted incomplete credentials")
		}
	})
}
