package federation_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
)

// pathLog records the path and whether an Authorization header was sent.
type pathLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (l *pathLog) RoundTrip(r *http.Request) (*http.Response, error) {
	auth := "no-auth"
	if r.Header.Get("Authorization") != "" {
		auth = "auth"
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path+" "+auth)
	l.mu.Unlock()
	return l.base.RoundTrip(r)
}

// The problem this package solves, pinned against the oracle: Google's
// idtoken (google.golang.org/api) with an external_account file skips
// STS and calls generateIdToken without credentials, for the service
// account "." when the file has no impersonation URL. Ours, with the
// same file and client, gets a token in two authenticated round trips.
// Should Google fix this, the first half fails and can be dropped.
func TestGoogleIDTokenVersusFederation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	for _, sa := range []string{"", f.sa.Email} {
		log := &pathLog{base: f.emu.Transport(nil)}
		ts, err := googleidtoken.NewTokenSource(context.Background(), aud,
			option.WithCredentialsJSON(f.fileJSON(sa)), option.WithHTTPClient(&http.Client{Transport: log}))
		require.NoError(t, err)
		_, err = ts.Token()
		require.Error(t, err, "google idtoken with external_account (sa=%q)", sa)
		target := sa
		if target == "" {
			target = "."
		}
		assert.Equal(t, []string{"POST /v1/projects/-/serviceAccounts/" + target + ":generateIdToken no-auth"}, log.reqs)
	}
	assert.Equal(t, 0, f.emu.Count(idtokentest.EndpointSTS))

	f.emu.ResetCounts()
	log := &pathLog{base: f.emu.Transport(nil)}
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience: aud, CredentialsJSON: f.fileJSON(f.sa.Email), HTTPClient: &http.Client{Transport: log},
	})
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"POST /v1/token no-auth",
		"POST /v1/projects/-/serviceAccounts/" + f.sa.Email + ":generateIdToken auth",
	}, log.reqs)
}
