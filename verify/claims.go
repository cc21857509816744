package verify

import (
	"encoding/json"
	"strconv"
	"time"
)

// Claims are the verified claims of a token. Treat them as read-only:
// slices and Raw may be shared with the verified-token cache.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time // zero when the token has no nbf

	// Email of the caller: a service account or user for Google ID tokens
	// (present when requested: includeEmail, format=full), the user for
	// IAP.
	Email         string
	EmailVerified bool
	// HostedDomain (hd) is the Google Workspace domain of the user.
	HostedDomain string
	// AuthorizedParty (azp) is the client the token was issued to.
	AuthorizedParty string

	// Google is the "google" claim: IAP access levels, or Compute Engine
	// details in metadata-server tokens with format=full. Nil if absent.
	Google *GoogleClaims
	// GCIP is the raw "gcip" claim IAP adds for Identity Platform
	// (external identities) users. Nil if absent; decode with
	// json.Unmarshal or GCIPClaims.
	GCIP json.RawMessage

	// Raw is the whole payload as JSON; Decode reads any claim from it.
	Raw json.RawMessage
}

// GoogleClaims is the "google" claim.
type GoogleClaims struct {
	// AccessLevels are the IAP access levels the request satisfied
	// (accessPolicies/NUM/accessLevels/NAME).
	AccessLevels  []string       `json:"access_levels,omitempty"`
	ComputeEngine *ComputeEngine `json:"compute_engine,omitempty"`
}

// ComputeEngine is google.compute_engine in a metadata-server ID token
// requested with format=full.
type ComputeEngine struct {
	ProjectID                 string   `json:"project_id"`
	ProjectNumber             int64    `json:"project_number"`
	Zone                      string   `json:"zone"`
	InstanceID                string   `json:"instance_id"`
	InstanceName              string   `json:"instance_name"`
	InstanceCreationTimestamp int64    `json:"instance_creation_timestamp"`
	LicenseID                 []string `json:"license_id,omitempty"`
}

// GCIPClaims is the Identity Platform block of an IAP assertion.
type GCIPClaims struct {
	Issuer        string         `json:"iss"`
	Audience      string         `json:"aud"`
	Subject       string         `json:"sub"`
	UserID        string         `json:"user_id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	Name          string         `json:"name"`
	Picture       string         `json:"picture"`
	AuthTime      int64          `json:"auth_time"`
	Firebase      map[string]any `json:"firebase"`
}

// GCIPClaims decodes the gcip block; ok is false when there is none.
func (c *Claims) GCIPClaims() (g GCIPClaims, ok bool, err error) {
	if c.GCIP == nil {
		return g, false, nil
	}
	err = json.Unmarshal(c.GCIP, &g)
	return g, err == nil, err
}

// Decode unmarshals the whole payload into v (a struct or a map).
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.Raw, v) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func parseFloat(b []byte) (float64, error) { return strconv.ParseFloat(string(b), 64) }
