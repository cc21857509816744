// Package credfile holds what every parser of Google credential files
// shares: JSON decoding whose errors never quote the file (it holds
// secrets), the "type" check, URL checks, and the authorized_user format
// (read by both impersonate and signin). Errors carry no package prefix:
// callers wrap them with their own sentinel.
package credfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DecodeJSON unmarshals data into v. Its errors say where the file is
// wrong (byte offset, field name) but never quote its content.
func DecodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not JSON (syntax error at byte %d)", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("field %q has the wrong JSON type", te.Field)
	}
	return errors.New("not a JSON object")
}

// CheckType checks a file's "type" field.
func CheckType(got, want string) error {
	switch got {
	case want:
		return nil
	case "":
		return errors.New(`no "type" field`)
	default:
		return fmt.Errorf("type is %q, want %q", got, want)
	}
}

// Missing lists the names of required fields whose values are empty, as
// "a, b", or "" when none is.
func Missing(fields ...[2]string) string {
	var missing []string
	for _, f := range fields {
		if f[1] == "" {
			missing = append(missing, f[0])
		}
	}
	return strings.Join(missing, ", ")
}

// CheckURL checks that raw is an absolute http(s) URL without a query.
func CheckURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", field, raw)
	}
	return nil
}

// AuthorizedUser is a parsed authorized_user credentials file: what
// `gcloud auth application-default login` writes to
// ~/.config/gcloud/application_default_credentials.json.
type AuthorizedUser struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	RefreshToken   string `json:"refresh_token"`
	TokenURI       string `json:"token_uri"`
	QuotaProjectID string `json:"quota_project_id"`
	UniverseDomain string `json:"universe_domain"`
}

// String never prints the secret or the refresh token.
func (u *AuthorizedUser) String() string {
	return "authorized_user credentials for OAuth client " + u.ClientID
}

// GoString keeps %#v from printing the secret or the refresh token too.
func (u *AuthorizedUser) GoString() string { return u.String() }

// ParseAuthorizedUser parses and validates an authorized_user file. An
// empty token_uri is left empty (callers pick their default).
func ParseAuthorizedUser(data []byte) (*AuthorizedUser, error) {
	var u AuthorizedUser
	if err := DecodeJSON(data, &u); err != nil {
		return nil, err
	}
	if err := CheckType(u.Type, "authorized_user"); err != nil {
		return nil, err
	}
	if m := Missing([2]string{"client_id", u.ClientID}, [2]string{"client_secret", u.ClientSecret}, [2]string{"refresh_token", u.RefreshToken}); m != "" {
		return nil, fmt.Errorf("missing %s", m)
	}
	if u.TokenURI != "" {
		if err := CheckURL("token_uri", u.TokenURI); err != nil {
			return nil, err
		}
	}
	return &u, nil
}
