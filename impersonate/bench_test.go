package impersonate_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
)

// Cold tokens (a new source each time) against the emulator, which signs
// every token: generateIdToken is one round trip, keyless two (and the
// emulator verifies the assertion).
func BenchmarkColdToken(b *testing.B) {
	emu := idtokentest.NewServer(b)
	caller, target := emu.NewServiceAccount("caller"), emu.NewServiceAccount("target")
	emu.AllowImpersonation(caller.Email, target.Email)
	at, _ := emu.IssueAccessToken(caller.Email, 0)
	base := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at})
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.Cleanup(client.CloseIdleConnections)

	b.Run("generateIdToken", func(b *testing.B) {
		cfg := impersonate.Config{Audience: aud, TargetPrincipal: target.Email, Base: base, Endpoint: emu.IAMCredentialsURL(), HTTPClient: client}
		for b.Loop() {
			ts, err := impersonate.NewTokenSource(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyless", func(b *testing.B) {
		cfg := impersonate.KeylessConfig{Audience: aud, ServiceAccount: target.Email, Base: base,
			IAMEndpoint: emu.IAMCredentialsURL(), TokenURL: emu.TokenURL(), HTTPClient: client}
		for b.Loop() {
			ts, err := impersonate.NewKeylessTokenSource(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
