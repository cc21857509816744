// Package secretscan finds credentials in error text, for tests that
// assert a package never leaks one. Every package that handles a key, an
// assertion, a token, a refresh token or a client secret calls Check on
// each error its failure paths produce:
//
//	_, err := ts.Token()
//	secretscan.Check(t, err, keyPEM, assertion)
//
// Two nets catch a leak: the explicit secrets given (the whole value,
// when 8 bytes or more, and every line or `\n`-separated piece of 16 bytes or more, so one line of a
// PEM key is enough), and patterns for credentials the test may not know
// (see [Patterns]).
package secretscan

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// A Pattern recognises one kind of credential.
type Pattern struct {
	Name string
	Re   *regexp.Regexp
}

// Patterns returns the credential shapes Find looks for: PEM private keys,
// Google OAuth access tokens (ya29.), JWTs (ID tokens and assertions,
// which all begin with a base64url JSON header "eyJ"), refresh tokens
// (1//), and OAuth client secrets (GOCSPX-).
func Patterns() []Pattern {
	return []Pattern{
		{"PEM private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
		{"PEM body line", regexp.MustCompile(`MII[A-Za-z0-9+/]{40,}`)},
		{"OAuth access token", regexp.MustCompile(`ya29\.[A-Za-z0-9_\-]{8,}`)},
		{"JWT", regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`)},
		{"refresh token", regexp.MustCompile(`1//[A-Za-z0-9_\-]{8,}`)},
		{"OAuth client secret", regexp.MustCompile(`GOCSPX-[A-Za-z0-9_\-]{6,}`)},
	}
}

// minSecret is the shortest explicit secret Find looks for: real
// credentials are far longer, and a one-letter "secret" would match any
// text.
const minSecret = 8

// minPiece is the shortest piece of an explicit secret that counts as a
// leak: shorter fragments (a PEM armour line's "-----", a JSON brace)
// occur in innocent text.
const minPiece = 16

// Find reports every leak in text: the names of the patterns that match
// and, for explicit secrets, "secret #i". It never returns the secret
// itself, so its result is safe to print.
func Find(text string, secrets ...string) []string {
	var found []string
	for _, p := range Patterns() {
		if p.Re.MatchString(text) {
			found = append(found, p.Name)
		}
	}
	for i, s := range secrets {
		if len(s) < minSecret {
			continue // too short to tell apart from innocent text
		}
		if strings.Contains(text, s) {
			found = append(found, fmt.Sprintf("secret #%d", i))
			continue
		}
		for _, piece := range pieces(s) {
			if strings.Contains(text, piece) {
				found = append(found, fmt.Sprintf("secret #%d (a line of it)", i))
				break
			}
		}
	}
	return found
}

// pieces splits a secret at real and JSON-escaped newlines and keeps the
// pieces long enough to be distinctive.
func pieces(s string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(s, `\n`, "\n"), "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= minPiece {
			out = append(out, line)
		}
	}
	return out
}

// Check fails t if err's text (as Error(), %v and %+v render it) contains
// a credential. A nil err passes.
func Check(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	text := err.Error() + "\n" + fmt.Sprintf("%v\n%+v", err, err)
	if found := Find(text, secrets...); len(found) > 0 {
		// Report what leaked, never the value.
		t.Errorf("error text leaks credentials: %s (error type %T)", strings.Join(found, ", "), err)
	}
}
