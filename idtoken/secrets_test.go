package idtoken_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
)

// No error from detection or from getting a token quotes a private key,
// refresh token, client secret or token.
func TestErrorsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("secretive")
	var key map[string]any
	require.NoError(t, json.Unmarshal(sa.KeyJSON(), &key))
	pem := key["private_key"].(string)
	client := emu.NewOAuthClient()
	rt := emu.IssueRefreshToken(client, emu.NewUser("dev@example.com"))
	user := emu.AuthorizedUserJSON(client, rt)

	// A key whose PEM body is damaged but still long and secret-looking.
	badKey := map[string]any{}
	for k, v := range key {
		badKey[k] = v
	}
	badKey["private_key"] = strings.Replace(pem, "MII", "!!!", 1)
	badKeyJSON, _ := json.Marshal(badKey)

	var errs []error
	collect := func(d *idtoken.Detection, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		_, err = d.TokenSource.Token()
		require.Error(t, err)
		errs = append(errs, err)
	}
	collect(idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: badKeyJSON}))
	collect(idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: impersonatedFile(t, emu.IAMCredentialsURL(), sa.Email, nil, badKeyJSON)}))
	collect(idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: user})) // no target
	// Not granted: the refresh works, IAM refuses.
	collect(idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: user, ImpersonateServiceAccount: sa.Email, HTTPClient: emu.Client()}))
	emu.RevokeRefreshToken(rt)
	collect(idtoken.Detect(context.Background(), aud, idtoken.Options{CredentialsJSON: impersonatedFile(t, emu.IAMCredentialsURL(), sa.Email, nil, user)}))
	// A token that reaches a plain-http remote URL is refused without echo.
	tr := &idtoken.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJsecret.token.value"})}
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	_, err := tr.RoundTrip(req)
	errs = append(errs, err)

	require.Len(t, errs, 6)
	pemLines := strings.Split(strings.TrimSpace(pem), "\n")
	for _, err := range errs {
		msg := err.Error()
		for _, line := range pemLines[1 : len(pemLines)-1] {
			require.NotContains(t, msg, line)
		}
		assert.NotContains(t, msg, rt)
		assert.NotContains(t, msg, client.Secret)
		assert.NotContains(t, msg, "eyJsecret")
		assert.NotContains(t, msg, "ya29.")
	}
}
