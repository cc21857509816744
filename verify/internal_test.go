package verify

import (
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLifetime(t *testing.T) {
	t.Parallel()
	cfg, _, err := Config{Preset: GoogleIDToken, Audiences: []string{"a"}}.validate()
	require.NoError(t, err)
	c := &keyCache{cfg: &cfg}
	for _, tc := range []struct {
		cc, age string
		want    time.Duration
	}{
		{"public, max-age=21600, must-revalidate, no-transform", "", 6 * time.Hour},
		{"public, max-age=21600, must-revalidate, no-transform", "600", 6*time.Hour - 10*time.Minute},
		{"max-age=3600", "3590", DefaultMinRefetchInterval}, // floored
		{"max-age=3600", "junk", time.Hour},
		{"MAX-AGE=60", "", time.Minute},
		{"", "", DefaultKeysTTL},
		{"public", "", DefaultKeysTTL},
		{"no-store, max-age=3600", "", DefaultKeysTTL},
		{"no-cache", "", DefaultKeysTTL},
		{"max-age=-5", "", DefaultKeysTTL},
		{"max-age=abc", "", DefaultKeysTTL},
		{"max-age=0", "", DefaultMinRefetchInterval},
		{"max-age=99999999999", "", DefaultMaxKeysAge}, // capped
	} {
		h := http.Header{}
		if tc.cc != "" {
			h.Set("Cache-Control", tc.cc)
		}
		if tc.age != "" {
			h.Set("Age", tc.age)
		}
		assert.Equal(t, tc.want, c.lifetime(h), "%q age %q", tc.cc, tc.age)
	}
}

func TestSeenCacheBounded(t *testing.T) {
	t.Parallel()
	s := newSeenCache(3)
	c := func(i int) *Claims { return &Claims{Subject: fmt.Sprint(i)} }
	for i := range 3 {
		s.add(fmt.Sprint("tok", i), c(i))
	}
	require.NotNil(t, s.get("tok0")) // tok0 becomes most recent
	s.add("tok3", c(3))              // evicts tok1, the least recent
	assert.Equal(t, 3, s.len())
	assert.Nil(t, s.get("tok1"))
	for _, k := range []string{"tok0", "tok2", "tok3"} {
		assert.NotNil(t, s.get(k), k)
	}
	// Keys are whole tokens: tokens sharing any prefix stay distinct.
	s.add("tok3x", c(4))
	assert.Equal(t, "3", s.get("tok3").Subject)
	assert.Equal(t, "4", s.get("tok3x").Subject)
	for i := range 100 {
		s.add(fmt.Sprint("more", i), c(i))
	}
	assert.Equal(t, 3, s.len())
}

func TestDERSignatureMatchesASN1(t *testing.T) {
	t.Parallel()
	for _, tc := range [][2]string{
		{"01", "01"},
		{"7f" + repeat("ff", 31), "80" + repeat("00", 31)},
		{repeat("00", 31) + "01", "00ff" + repeat("11", 30)},
		{"ff" + repeat("ee", 31), "0080" + repeat("01", 30)},
	} {
		r, s := pad32(tc[0]), pad32(tc[1])
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
		require.NoError(t, err)
		assert.Equal(t, want, derSignature(nil, r, s), tc)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func pad32(hex string) []byte {
	b, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		panic(hex)
	}
	return b.FillBytes(make([]byte, 32))
}

// The scanner accepts exactly what encoding/json accepts, minus duplicate
// names and invalid UTF-8.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, ` { "a" : 1 } `, `{"a":[1,2,{"b":null}],"c":"\u00e9\n","d":-0.5e+10}`,
		`{"a":"\ud83d\ude00"}`, `{"a":{"a":{"a":1}}}`, `{"a":1,"A":2}`,
		`{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":"\x"}`, `{"a":"` + "\t" + `"}`,
		`{"a":tru}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, `[]`, `"s"`, `1`, `null`, `{"a":[1,]}`, `{"a":[}`,
		`{"a":1 "b":2}`, `{"a":"\u12"}`, `{"a":-}`, `{"a":1e}`, `{`, ``,
	} {
		err := forEachMember([]byte(in), func(_, _ []byte) error { return nil })
		var m map[string]any
		stdErr := json.Unmarshal([]byte(in), &m)
		assert.Equal(t, stdErr == nil && m != nil, err == nil, "%q: ours %v, encoding/json %v", in, err, stdErr)
	}
	for _, in := range []string{`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"x":{"b":1,"b":1}}`, `{"x":[{"b":1,"b":1}]}`} {
		assert.ErrorIs(t, forEachMember([]byte(in), func(_, _ []byte) error { return nil }), errJSONDuplicate, in)
	}
	assert.ErrorIs(t, forEachMember([]byte("{\"a\":\"\xff\"}"), func(_, _ []byte) error { return nil }), errJSONSyntax)
	deep := ""
	for range 40 {
		deep += `{"a":`
	}
	deep += "1"
	for range 40 {
		deep += "}"
	}
	assert.ErrorIs(t, forEachMember([]byte(deep), func(_, _ []byte) error { return nil }), errJSONDepth)
	// Many members: duplicate detection switches to a map.
	big := "{"
	for i := range 100 {
		big += fmt.Sprintf(`"k%d":%d,`, i, i)
	}
	assert.NoError(t, forEachMember([]byte(big+`"end":1}`), func(_, _ []byte) error { return nil }))
	assert.ErrorIs(t, forEachMember([]byte(big+`"k7":1}`), func(_, _ []byte) error { return nil }), errJSONDuplicate)
}
