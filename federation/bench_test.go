package federation_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
)

func benchFixture(b *testing.B) (*idtokentest.Server, []byte) {
	b.Helper()
	emu := idtokentest.NewServer(b)
	p := emu.RegisterProvider(idtokentest.ProviderOptions{})
	sa := emu.NewServiceAccount("bench")
	emu.AllowImpersonation(p.Principal(subject), sa.Email)
	file := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(file, []byte(p.SignSubjectToken(subject, "", time.Hour)), 0o600); err != nil {
		b.Fatal(err)
	}
	return emu, p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: file, ServiceAccount: sa.Email})
}

// BenchmarkTokenCached is the hot path: a cached, valid token.
func BenchmarkTokenCached(b *testing.B) {
	_, cred := benchFixture(b)
	ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdToken is one full acquisition against the loopback
// emulator: read the subject token file, STS, generateIdToken.
func BenchmarkColdToken(b *testing.B) {
	emu, cred := benchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		ts, err := federation.NewTokenSource(context.Background(), federation.Config{Audience: aud, CredentialsJSON: cred})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(emu.Count(idtokentest.EndpointSTS)+emu.Count(idtokentest.EndpointGenerateIDToken))/float64(b.N), "roundtrips/op")
}
