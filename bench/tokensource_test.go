package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/keyfile"
)

const audience = "https://bench-abc123-uc.a.run.app"

// BenchmarkCachedToken is the hot path of every outgoing request: Token()
// on a source that already holds a valid token.
func BenchmarkCachedToken(b *testing.B) {
	emu := idtokentest.NewServer(b)
	key := emu.NewServiceAccount("bench").KeyJSON()
	ctx := context.Background()

	ours, err := keyfile.NewTokenSource(ctx, keyfile.Config{Audience: audience, CredentialsJSON: key})
	if err != nil {
		b.Fatal(err)
	}
	// api/idtoken has two code paths: the one application default
	// credentials take (oauth2.ReuseTokenSource over a JWT config; the
	// deprecated option.WithCredentialsJSON reaches the same code), and the
	// cloud.google.com/go/auth one that option.WithAuthCredentialsJSON takes.
	//lint:ignore SA1019 the same path as ADC, what most users run
	theirs, err := googleidtoken.NewTokenSource(ctx, audience, option.WithCredentialsJSON(key))
	if err != nil {
		b.Fatal(err)
	}
	theirsAuthlib, err := googleidtoken.NewTokenSource(ctx, audience, option.WithAuthCredentialsJSON(option.ServiceAccount, key))
	if err != nil {
		b.Fatal(err)
	}
	// oauth2.ReuseTokenSource over the same raw fetch as ours.
	tok, err := ours.Token()
	if err != nil {
		b.Fatal(err)
	}
	reuse := oauth2.ReuseTokenSource(tok, ours)

	// The floors: an interface call that returns a stored token with no
	// check at all, and one that reads the clock (the least an expiry
	// check costs: every cache here calls time.Now).
	static := oauth2.StaticTokenSource(tok)
	clock := tokenFunc(func() (*oauth2.Token, error) {
		if time.Now().IsZero() {
			return nil, nil
		}
		return tok, nil
	})

	for _, c := range []struct {
		name string
		ts   oauth2.TokenSource
	}{
		{"impl=floor-static", static}, {"impl=floor-clock", clock},
		{"impl=idtokens", ours}, {"impl=oauth2.ReuseTokenSource", reuse},
		{"impl=api-idtoken", theirs}, {"impl=api-idtoken-authlib", theirsAuthlib},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := c.ts.Token(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ts.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// slowUpstream hands out one-hour tokens after a fixed latency, on its
// clock, and counts calls.
type slowUpstream struct {
	latency time.Duration
	now     func() time.Time
	calls   atomic.Int32
}

func (u *slowUpstream) fetch(ctx context.Context) (*oauth2.Token, error) {
	u.calls.Add(1)
	select {
	case <-time.After(u.latency):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &oauth2.Token{AccessToken: "t", TokenType: "Bearer", Expiry: u.now().Add(time.Hour)}, nil
}

func (u *slowUpstream) Token() (*oauth2.Token, error) { return u.fetch(context.Background()) }

// BenchmarkStampede: 1,000 goroutines ask for a token at the same moment,
// with the upstream taking 20 ms, when the cached one-hour token has
// "expiring" = 2 min left (inside our early-refresh window, outside
// oauth2's 10 s delta) or "expired" = 5 s left (invalid for both).
// Reported: upstream calls per stampede and the p99 wait of a caller.
func BenchmarkStampede(b *testing.B) {
	const callers = 1000
	for _, left := range []struct {
		name string
		d    time.Duration
	}{{"expiring", 2 * time.Minute}, {"expired", 5 * time.Second}} {
		for _, impl := range []string{"idtokens", "oauth2.ReuseTokenSource"} {
			b.Run(fmt.Sprintf("left=%s/impl=%s", left.name, impl), func(b *testing.B) {
				var calls, p99 float64
				for b.Loop() {
					var shift atomic.Int64
					now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
					up := &slowUpstream{latency: 20 * time.Millisecond, now: now}
					var ts oauth2.TokenSource
					if impl == "idtokens" {
						// Seed with a fresh one-hour token, then move the
						// clock to where it has `left` to live.
						seeded := false
						ts = cache.New(func(ctx context.Context) (*oauth2.Token, error) {
							if !seeded {
								seeded = true
								return &oauth2.Token{AccessToken: "old", Expiry: now().Add(time.Hour)}, nil
							}
							return up.fetch(ctx)
						}, cache.Options{Now: now})
						if _, err := ts.Token(); err != nil {
							b.Fatal(err)
						}
						shift.Store(int64(time.Hour - left.d))
					} else {
						ts = oauth2.ReuseTokenSource(&oauth2.Token{AccessToken: "old", Expiry: time.Now().Add(left.d)}, up)
					}
					waits := make([]time.Duration, callers)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range callers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							t0 := time.Now()
							if _, err := ts.Token(); err != nil {
								b.Error(err)
							}
							waits[i] = time.Since(t0)
						}()
					}
					close(start)
					wg.Wait()
					time.Sleep(40 * time.Millisecond) // let a background refresh land before counting
					slices.Sort(waits)
					calls += float64(up.calls.Load())
					p99 += float64(waits[callers*99/100])
				}
				b.ReportMetric(calls/float64(b.N), "upstream-calls/op")
				b.ReportMetric(p99/float64(b.N), "p99-wait-ns")
			})
		}
	}
}
