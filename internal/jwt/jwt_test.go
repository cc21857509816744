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
		"embedded CR":   {seg(`{"exp":1}`)[:2] + "\r" + seg(`{"exp":1}`)[2:] + "." + seg(`{"exp":1}`) + ".", ErrMalformed},
		"embedded LF":   {seg(`{}`) + "." + seg(`{"exp":1}`) + "\n.", ErrMalformed},
		"space":         {seg(`{}`) + ". " + seg(`{"exp":1}`) + ".", ErrMalformed},
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
	f.Add(tok(`{"exp":253402300799,"aud":null}`))
	f.Add(tok(`{"exp":1e300}`))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := UnverifiedClaims(raw)
		if err == nil {
			if c.Expiry.IsZero() || c.Expiry.Year() > 9999 || c.Expiry.Before(time.Unix(0, 0)) {
				t.Fatalf("accepted exp %v", c.Expiry)
			}
			if !c.IssuedAt.IsZero() && (c.IssuedAt.Year() > 9999 || c.IssuedAt.Before(time.Unix(0, 0))) {
				t.Fatalf("accepted iat %v", c.IssuedAt)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNoExpiry) {
			t.Fatalf("error outside the sentinels: %v", err)
		}
		p, err := Split(raw)
		if err != nil {
			return
		}
		// Strict decoding: each token has exactly one encoding, so
		// re-encoding the parts gives the input back.
		enc := base64.RawURLEncoding
		if got := enc.EncodeToString(p.Header) + "." + enc.EncodeToString(p.Payload) + "." + enc.EncodeToString(p.Signature); got != raw {
			t.Fatalf("non-canonical encoding accepted: %q re-encodes as %q", raw, got)
		}
		if p.SigningInput != raw[:len(p.SigningInput)] || len(raw) > MaxTokenSize {
			t.Fatal("bad signing input or size cap")
		}
	})
}
