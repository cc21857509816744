package jwt

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func tok(payload string) string {
	return seg(`{"alg":"RS256"}`) + "." + seg(payload) + "." + seg("sig")
}

func TestUnverifiedClaims(t *testing.T) {
	t.Parallel()
	c, err := UnverifiedClaims(tok(`{"iss":"i","aud":"a","exp":1700000000,"iat":1699996400,"email":"e"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, c.Audience)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), c.Expiry)
	assert.Equal(t, time.Unix(1699996400, 0).UTC(), c.IssuedAt)
	assert.Equal(t, "e", c.Email)

	c, err = UnverifiedClaims(tok(`{"aud":["a","b"],"exp":1}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, c.Audience)
}

func TestUnverifiedClaimsErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		raw  string
		want error
	}{
		"no exp":        {tok(`{"aud":"a"}`), ErrNoExpiry},
		"negative exp":  {tok(`{"exp":-1}`), ErrMalformed},
		"huge exp":      {tok(`{"exp":1e300}`), ErrMalformed},
		"string exp":    {tok(`{"exp":"1"}`), ErrMalformed},
		"array payload": {tok(`[1]`), ErrMalformed},
		"bad aud":       {tok(`{"aud":5,"exp":1}`), ErrMalformed},
		"two segments":  {"a.b", ErrMalformed},
		"four segments": {"a.b.c.d", ErrMalformed},
		"padded":        {seg(`{}`) + "=." + seg(`{}`) + ".", ErrMalformed},
		"std alphabet":  {"a+b." + seg(`{}`) + ".", ErrMalformed},
		"empty header":  {"." + seg(`{}`) + ".", ErrMalformed},
		"too large":     {strings.Repeat("a", MaxTokenSize+1), ErrTooLarge},
		"not json":      {seg("x") + "." + seg("y") + ".", ErrMalformed},
		"empty":         {"", ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := UnverifiedClaims(tc.raw)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
}

func FuzzUnverifiedClaims(f *testing.F) {
	f.Add(tok(`{"aud":"a","exp":1}`))
	f.Add(tok(`{"aud":["a"],"exp":1.5,"iat":0}`))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := UnverifiedClaims(raw)
		if err == nil && c.Expiry.IsZero() && !strings.Contains(raw, ".") {
			t.Fatalf("accepted %q without exp", raw)
		}
		if p, err := Split(raw); err == nil {
			if p.SigningInput != raw[:len(p.SigningInput)] {
				t.Fatal("signing input is not a prefix of the token")
			}
		}
	})
}
