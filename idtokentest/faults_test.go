package idtokentest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
)

// certs fetches the JWKS, the simplest endpoint to fault.
func certs(t *testing.T, c *http.Client, emu *idtokentest.Server) reply {
	t.Helper()
	return get(t, c, emu.CertsURL())
}

func TestFaultStatusDefaultBody(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Status: 503})
	r := certs(t, c, emu)
	assert.Equal(t, 503, r.Status)
	m := r.json(t)
	assert.Equal(t, "emulator_fault", m["error"], "a Google-style OAuth error body")
	assert.Equal(t, "Service Unavailable", m["error_description"])
	assert.Empty(t, r.Header.Get("Retry-After"))
	assert.Equal(t, 200, certs(t, c, emu).Status, "one request only")
}

func TestFaultStatusBodyAndRetryAfter(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	body := `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Status: 429, Body: body, RetryAfter: 3 * time.Second})
	r := certs(t, c, emu)
	assert.Equal(t, 429, r.Status)
	assert.Equal(t, body, string(r.Body))
	assert.Equal(t, "3", r.Header.Get("Retry-After"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
}

func TestFaultGarbage(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Garbage: true})
	r := certs(t, c, emu)
	assert.Equal(t, 200, r.Status)
	assert.False(t, json.Valid(r.Body), "garbage is not JSON: %s", r.Body)
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Drop: true})
	_, err := c.Get(emu.CertsURL())
	require.Error(t, err)
	assert.ErrorIs(t, err, io.EOF, "the connection closes without a reply")
	assert.Equal(t, 200, certs(t, c, emu).Status)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointCerts), "the dropped request is counted")
}

func TestFaultDelayThenNormal(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Delay: time.Millisecond})
	r := certs(t, c, emu)
	assert.Equal(t, 200, r.Status, "a delay alone answers normally afterwards")
	assert.Contains(t, r.json(t), "keys")
}

func TestFaultDelayHonoursClientDeadline(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	// A POST too: the emulator must notice the client leaving before it
	// has read the body.
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Delay: time.Hour})
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Delay: time.Hour, Status: 500})
	for _, req := range []*http.Request{
		postFormRequest(t, emu.TokenURL(), map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}),
		mustRequest(t, "GET", emu.CertsURL()),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := c.Do(req.WithContext(ctx))
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	// Server.Close (at cleanup) returns once the handlers have noticed;
	// goleak in TestMain fails the run if one is still waiting.
}

func TestFaultQueueOrderAndCounts(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Status: 503})
	emu.InjectFault(idtokentest.EndpointCerts, 2, idtokentest.Fault{Status: 429})
	emu.InjectFault(idtokentest.EndpointCerts, 0, idtokentest.Fault{Status: 418}) // n == 0: no-op
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Status: 500})
	var got []int
	for range 5 {
		got = append(got, certs(t, c, emu).Status)
	}
	assert.Equal(t, []int{503, 429, 429, 200, 200}, got)
	assert.Equal(t, 5, emu.Count(idtokentest.EndpointCerts))
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointToken), "other endpoints untouched")
	assert.Equal(t, map[idtokentest.Endpoint]int{idtokentest.EndpointCerts: 5}, emu.Counts())

	// The token endpoint's fault is still queued for its first request.
	r := postForm(t, c, emu.TokenURL(), nil)
	assert.Equal(t, 500, r.Status)
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))

	emu.ResetCounts()
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointCerts))
	assert.Empty(t, emu.Counts())
}

func TestFaultForeverAndClear(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.InjectFault(idtokentest.EndpointCerts, -1, idtokentest.Fault{Status: 500})
	emu.InjectFault(idtokentest.EndpointCerts, 1, idtokentest.Fault{Status: 429}) // behind a forever fault: never reached
	for range 5 {
		assert.Equal(t, 500, certs(t, c, emu).Status)
	}
	emu.ClearFaults()
	assert.Equal(t, 200, certs(t, c, emu).Status)
	assert.Equal(t, 200, certs(t, c, emu).Status, "ClearFaults dropped the queued 429 too")
}

func TestFaultOnIAMAndMetadata(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	sa := emu.NewServiceAccount("iam-fault")
	emu.SetMetadataServiceAccount(sa)
	emu.InjectFault(idtokentest.EndpointGenerateIDToken, 1, idtokentest.Fault{Status: 503})
	emu.InjectFault(idtokentest.EndpointMetadataIdentity, 1, idtokentest.Fault{Status: 500})
	u := emu.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + sa.Email + ":generateIdToken"
	assert.Equal(t, 503, postJSON(t, c, u, "", `{}`).Status, "the fault answers before authentication")
	assert.Equal(t, 401, postJSON(t, c, u, "", `{}`).Status)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointGenerateIDToken))
	assert.Equal(t, 0, emu.Count(idtokentest.EndpointSignJWT))

	id := emu.URL() + "/computeMetadata/v1/instance/service-accounts/default/identity?audience=a"
	assert.Equal(t, 500, get(t, c, id, "Metadata-Flavor", "Google").Status)
	assert.Equal(t, 200, get(t, c, id, "Metadata-Flavor", "Google").Status)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	c := newClient(t)
	emu.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Do(mustRequest(t, "GET", emu.CertsURL()).WithContext(ctx))
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	emu.SetLatency(time.Millisecond)
	assert.Equal(t, 200, certs(t, c, emu).Status)
	emu.SetLatency(0)
	assert.Equal(t, 200, certs(t, c, emu).Status)
	assert.Equal(t, 3, emu.Count(idtokentest.EndpointCerts))
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	return req
}
