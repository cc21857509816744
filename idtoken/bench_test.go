package idtoken_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
)

// The cached hot path: what every request pays once a token is cached.
func BenchmarkReuseTokenSourceCached(b *testing.B) {
	emu := idtokentest.New(idtokentest.Options{})
	raw := emu.MintIDToken(idtokentest.IDTokenClaims{Audience: aud})
	ts := idtoken.ReuseTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: raw}), idtoken.ReuseOptions{})
	ctx := context.Background()
	if _, err := ts.TokenContext(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.TokenContext(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type nopRT struct{ resp *http.Response }

func (n nopRT) RoundTrip(*http.Request) (*http.Response, error) { return n.resp, nil }

// Transport overhead per request (clone + header), base transport free.
// Side by side: golang.org/x/oauth2.Transport doing the same job.
func BenchmarkTransport(b *testing.B) {
	src := idtoken.ReuseTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "opaque", Expiry: time.Now().Add(time.Hour)}), idtoken.ReuseOptions{})
	base := nopRT{&http.Response{StatusCode: 200, Body: http.NoBody}}
	req, _ := http.NewRequest(http.MethodGet, "https://svc.example/", nil)
	for name, rt := range map[string]http.RoundTripper{
		"idtoken": &idtoken.Transport{Source: src, Base: base},
		"oauth2":  &oauth2.Transport{Source: src, Base: base},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
