package verify_test

import (
	"testing"
	"time"

	"github.com/idtokens/idtokens/internal/fakeclock"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	runAud = "https://hello-abc123-uc.a.run.app"
)

var iapAud = verify.IAPAudience("123456789012", "987654321")

// env is an emulator and a clock for one test.
type env struct {
	emu *idtokentest.Server
	clk *fakeclock.Clock
}

func newEnv(t testing.TB, opts ...idtokentest.Options) *env {
	t.Helper()
	clk := newClock()
	o := idtokentest.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Now = clk.Now
	return &env{emu: idtokentest.NewServer(t, o), clk: clk}
}

// google returns a GoogleIDToken verifier on the emulator; mod may adjust
// the config.
func (e *env) google(t testing.TB, mod ...func(*verify.Config)) *verify.Verifier {
	t.Helper()
	return e.verifier(t, verify.GoogleIDToken, runAud, e.emu.CertsURL(), mod)
}

// iap returns an IAP verifier on the emulator; mod may adjust the config.
func (e *env) iap(t testing.TB, mod ...func(*verify.Config)) *verify.Verifier {
	t.Helper()
	return e.verifier(t, verify.IAP, iapAud, e.emu.IAPKeysURL(), mod)
}

func (e *env) verifier(t testing.TB, p verify.Preset, aud, keysURL string, mod []func(*verify.Config)) *verify.Verifier {
	t.Helper()
	cfg := verify.Config{
		Preset:     p,
		Audiences:  []string{aud},
		KeysURL:    keysURL,
		HTTPClient: e.emu.Client(),
		Now:        e.clk.Now,
		Retry:      verify.Retry{MaxAttempts: 1},
	}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := verify.New(cfg)
	require.NoError(t, err)
	return v
}

func noCache(c *verify.Config) { c.VerifiedCacheSize = -1 }

// idClaims are the claims of a valid Google ID token at the env's now.
func (e *env) idClaims() map[string]any {
	now := e.clk.Now()
	return map[string]any{
		"iss":   "https://accounts.google.com",
		"aud":   runAud,
		"sub":   "104857600000000000001",
		"azp":   "104857600000000000001",
		"email": "caller@proj.iam.gserviceaccount.com",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
}

func (e *env) iapClaims() map[string]any {
	now := e.clk.Now()
	return map[string]any{
		"iss":   "https://cloud.google.com/iap",
		"aud":   iapAud,
		"sub":   "accounts.google.com:112233445566778899001",
		"email": "alice@example.com",
		"hd":    "example.com",
		"iat":   now.Unix(),
		"exp":   now.Add(10 * time.Minute).Unix(),
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
