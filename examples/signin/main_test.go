package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulated(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate"}, &out))
	s := out.String()

	// The sign-in URL the played browser visited: the emulator's
	// authorization endpoint, PKCE, a loopback redirect.
	m := regexp.MustCompile(`Your browser has been opened to sign in\. If it has not, visit:\n\n    http://127\.0\.0\.1:[0-9]+/o/oauth2/v2/auth\?\S*client_id=([^&\s]+)\S*\n`).FindStringSubmatch(s)
	require.NotNil(t, m, "sign-in instructions with the emulator's auth URL in:\n%s", s)
	clientID := m[1]
	assert.True(t, strings.HasSuffix(clientID, ".apps.googleusercontent.com"), clientID)
	assert.Contains(t, m[0], "code_challenge_method=S256")
	assert.Contains(t, m[0], "redirect_uri=http%3A%2F%2F127.0.0.1%3A")
	assert.Contains(t, m[0], "scope=openid+email")

	// The ID token is for the OAuth client, about the signed-in person.
	assert.Equal(t, 1, strings.Count(s, "ID token: eyJ"), "one token shown, and only its first characters")
	assert.Contains(t, s, `"aud": "`+clientID+`",`)
	assert.Contains(t, s, `"email": "ada@example.com",`)
	assert.Contains(t, s, `"email_verified": true,`)
	assert.Contains(t, s, `"iss": "https://accounts.google.com",`)

	// The second source refreshed from the stored refresh token.
	assert.Regexp(t, `\nsecond source: refreshed without a browser, from \S+/token\.json\n$`, s)
	assert.Equal(t, 1, strings.Count(s, "Your browser has been opened"), "no second sign-in")
}

func TestEmulatedAuthorizedUser(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-emulate", "-authorized-user", "adc.json"}, &out))
	s := out.String()
	assert.True(t, strings.HasPrefix(s, "ID token: eyJ"), "no sign-in, straight to the token:\n%s", s)
	assert.Contains(t, s, `"email": "ada@example.com",`)
	assert.Contains(t, s, `"iss": "https://accounts.google.com",`)
	assert.NotContains(t, s, "browser")
	assert.NotContains(t, s, "second source")
}

func TestClientIDRequired(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-client-secret", "not-used"}, &bytes.Buffer{})
	assert.EqualError(t, err, "-client-id is required (or -emulate)")
}
