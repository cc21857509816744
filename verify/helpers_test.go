package verify_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/verify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	runAud = "https://hello-abc123-uc.a.run.app"
)

var iapAud = verify.IAPAudience("123456789012", "987654321")

// clock is a settable test clock shared by the emulator and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an emulator and a clock for one test.
type env struct {
	emu *idtokentest.Server
	clk *clock
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
	cfg := verify.Config{
		Preset:     verify.GoogleIDToken,
		Audiences:  []string{runAud},
		KeysURL:    e.emu.CertsURL(),
		HTTPClient: e.emu.Client(),
		Now:        e.clk.Now,
		Retry:      httpx.Retry{MaxAttempts: 1},
	}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := verify.New(cfg)
	require.NoError(t, err)
	return v
}

func (e *env) iap(t testing.TB, mod ...func(*verify.Config)) *verify.Verifier {
	t.Helper()
	cfg := verify.Config{
		Preset:     verify.IAP,
		Audiences:  []string{iapAud},
		KeysURL:    e.emu.IAPKeysURL(),
		HTTPClient: e.emu.Client(),
		Now:        e.clk.Now,
		Retry:      httpx.Retry{MaxAttempts: 1},
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
