package keyfile_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/keyfile"
)

// Fault tests: the emulator misbehaves, keyfile (through httpx and the
// cache) copes. Each test asserts the request count the emulator saw.

type tokenContext interface {
	TokenContext(context.Context) (*oauth2.Token, error)
}

// stamps records when each request left and when its reply came back.
type stamps struct {
	base http.RoundTripper
	mu   sync.Mutex
	sent []time.Time
	got  []time.Time
}

func (s *stamps) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.sent = append(s.sent, time.Now())
	s.mu.Unlock()
	resp, err := s.base.RoundTrip(r)
	s.mu.Lock()
	s.got = append(s.got, time.Now())
	s.mu.Unlock()
	return resp, err
}

func newSource(t *testing.T, emu *idtokentest.Server, sa *idtokentest.ServiceAccount, c *http.Client, r httpx.Retry) tokenContext {
	t.Helper()
	ts, err := keyfile.NewTokenSource(context.Background(), keyfile.Config{
		Audience: aud, CredentialsJSON: sa.KeyJSON(), HTTPClient: c, Retry: r,
	})
	require.NoError(t, err)
	return ts.(tokenContext)
}

func client(t *testing.T) *http.Client {
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestFault500TwiceThenSuccess(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("five-hundred")
	emu.InjectFault(idtokentest.EndpointToken, 2, idtokentest.Fault{Status: 500})
	ts := newSource(t, emu, sa, client(t), httpx.Retry{BaseDelay: time.Millisecond})
	tok, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Equal(t, 3, emu.Count(idtokentest.EndpointToken), "two 500s, then the token")
}

func TestFault429RetryAfterHonoured(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("rate-limited")
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Status: 429, RetryAfter: time.Second})
	rec := &stamps{base: &http.Transport{}}
	c := &http.Client{Transport: rec}
	t.Cleanup(c.CloseIdleConnections)
	// Backoff alone would wait about a millisecond: only Retry-After can
	// explain a wait of a second.
	ts := newSource(t, emu, sa, c, httpx.Retry{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second})
	_, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointToken))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.sent, 2)
	// A lower bound only: timers never fire early.
	assert.GreaterOrEqual(t, rec.sent[1].Sub(rec.got[0]), time.Second, "the retry waited for Retry-After")
}

func TestFault429RetryAfterBeyondBudget(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("quota")
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Status: 429, RetryAfter: time.Hour})
	ts := newSource(t, emu, sa, client(t), httpx.Retry{})
	_, err := ts.TokenContext(context.Background())
	var he *keyfile.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 429, he.StatusCode)
	assert.Equal(t, time.Hour, he.RetryAfter)
	assert.True(t, he.Temporary())
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken), "no hour-long wait, no second request")
}

func TestFaultHungEndpointDeadline(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("hung")
	emu.InjectFault(idtokentest.EndpointToken, -1, idtokentest.Fault{Delay: time.Hour})
	ts := newSource(t, emu, sa, client(t), httpx.Retry{MaxAttempts: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := ts.TokenContext(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(20 * time.Second): // a watchdog, not a speed assertion
		t.Fatal("TokenContext did not return after its deadline")
	}
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))
}

func TestFaultDroppedConnectionRetried(t *testing.T) {
	t.Parallel()
	emu := idtokentest.NewServer(t)
	sa := emu.NewServiceAccount("dropped")
	emu.InjectFault(idtokentest.EndpointToken, 1, idtokentest.Fault{Drop: true})
	ts := newSource(t, emu, sa, client(t), httpx.Retry{BaseDelay: time.Millisecond})
	_, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, emu.Count(idtokentest.EndpointToken))
}

func TestFaultNotRetried(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		fault idtokentest.Fault
		check func(t *testing.T, err error)
	}{
		"400": {idtokentest.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`}, func(t *testing.T, err error) {
			var he *keyfile.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, "invalid_grant", he.Code)
		}},
		"401": {idtokentest.Fault{Status: 401}, func(t *testing.T, err error) {
			var he *keyfile.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 401, he.StatusCode)
		}},
		"403": {idtokentest.Fault{Status: 403}, func(t *testing.T, err error) {
			var he *keyfile.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 403, he.StatusCode)
			assert.False(t, he.Temporary())
		}},
		"garbage": {idtokentest.Fault{Garbage: true}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, keyfile.ErrBadReply)
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := idtokentest.NewServer(t)
			sa := emu.NewServiceAccount("no-retry")
			emu.InjectFault(idtokentest.EndpointToken, 1, tc.fault)
			ts := newSource(t, emu, sa, client(t), httpx.Retry{BaseDelay: time.Millisecond})
			_, err := ts.TokenContext(context.Background())
			require.Error(t, err)
			tc.check(t, err)
			assert.Equal(t, 1, emu.Count(idtokentest.EndpointToken))
		})
	}
}
