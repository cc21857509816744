package verify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/idtokens/idtokens/internal/jwt"
)

const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

// MaxTokenSize is the largest token accepted; longer input is refused
// before any decoding. Google ID tokens are about 1 KiB.
const MaxTokenSize = jwt.MaxTokenSize

// b64 is unpadded base64url that rejects padding and non-canonical
// trailing bits, so each token has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// parts are the decoded segments of a compact JWS, all in one buffer.
type parts struct {
	header, payload, sig []byte
	signingInput         string
}

// split decodes raw strictly: three segments of unpadded base64url, the
// first two non-empty. It allocates one buffer for all three.
func split(raw string) (parts, error) {
	if len(raw) > MaxTokenSize {
		return parts{}, ErrTooLarge
	}
	i := strings.IndexByte(raw, '.')
	if i < 0 {
		return parts{}, fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	j := strings.IndexByte(raw[i+1:], '.')
	if j < 0 {
		return parts{}, fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	j += i + 1
	h, p, s := raw[:i], raw[i+1:j], raw[j+1:]
	if strings.IndexByte(s, '.') >= 0 {
		return parts{}, fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	// An empty signature is well-formed (alg "none"); the algorithm check
	// rejects it.
	if h == "" || p == "" {
		return parts{}, fmt.Errorf("%w: empty segment", ErrMalformed)
	}
	// The base64 decoder skips CR and LF; we do not.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return parts{}, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	hl, pl := b64.DecodedLen(len(h)), b64.DecodedLen(len(p))
	buf := make([]byte, hl+pl+b64.DecodedLen(len(s)))
	var out parts
	n, err := b64.Decode(buf, []byte(h))
	if err != nil {
		return parts{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	out.header = buf[:n:n]
	n, err = b64.Decode(buf[hl:], []byte(p))
	if err != nil {
		return parts{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	out.payload = buf[hl : hl+n : hl+n]
	n, err = b64.Decode(buf[hl+pl:], []byte(s))
	if err != nil {
		return parts{}, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	out.sig = buf[hl+pl : hl+pl+n]
	out.signingInput = raw[:j]
	return out, nil
}

// header is what Verify reads from a JOSE header.
type header struct {
	alg, kid []byte
}

// parseHeader reads alg, kid and typ, and refuses every header that would
// let the token choose its own key or change how it is processed: jwk,
// jku, x5u, x5c, crit (we understand no extension), zip, b64.
func parseHeader(b []byte) (header, error) {
	var h header
	err := forEachMember(b, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "alg":
			if h.alg, err = stringValue(v); err != nil {
				return fmt.Errorf("%w: alg is not a string", ErrAlgorithm)
			}
		case "kid":
			if h.kid, err = stringValue(v); err != nil {
				return fmt.Errorf("%w: kid is not a string", ErrMalformed)
			}
		case "typ":
			typ, err := stringValue(v)
			if err != nil || !bytes.EqualFold(typ, []byte("JWT")) {
				return fmt.Errorf("%w: typ must be JWT", ErrHeader)
			}
		case "jwk", "jku", "x5u", "x5c", "crit", "zip", "b64":
			return fmt.Errorf("%w: %q parameter not allowed", ErrHeader, name)
		}
		return nil
	})
	if err != nil {
		return header{}, headerErr(err)
	}
	if h.alg == nil {
		return header{}, fmt.Errorf("%w: no alg", ErrAlgorithm)
	}
	return h, nil
}

func headerErr(err error) error {
	switch err {
	case errJSONSyntax, errJSONDuplicate, errJSONDepth, errNotObject:
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	return err
}

// parseClaims decodes a payload strictly into c. Unknown claims are
// validated as JSON and kept only in c.Raw.
func parseClaims(b []byte, c *Claims) error {
	c.Raw = b
	err := forEachMember(b, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "iss":
			c.Issuer, err = stringClaim(v)
		case "sub":
			c.Subject, err = stringClaim(v)
		case "aud":
			c.Audience, err = audClaim(v)
		case "exp":
			c.Expiry, err = dateClaim(v)
		case "iat":
			c.IssuedAt, err = dateClaim(v)
		case "nbf":
			c.NotBefore, err = dateClaim(v)
		case "email":
			c.Email, err = stringClaim(v)
		case "email_verified":
			c.EmailVerified, err = boolClaim(v)
		case "hd":
			c.HostedDomain, err = stringClaim(v)
		case "azp":
			c.AuthorizedParty, err = stringClaim(v)
		case "google":
			if v[0] != '{' {
				return fmt.Errorf("%w: claim google is not an object", ErrMalformed)
			}
			// Informational block: a shape we do not know (Google adding or
			// retyping a field) must not make a genuine token unusable.
			// Callers then see Google == nil, i.e. no access levels, which
			// denies rather than grants; Raw still holds the block.
			g := new(GoogleClaims)
			if jsonUnmarshal(v, g) == nil {
				c.Google = g
			}
			return nil
		case "gcip":
			if v[0] != '{' {
				return fmt.Errorf("%w: claim gcip is not an object", ErrMalformed)
			}
			c.GCIP = v
			return nil
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: claim %s: %v", ErrMalformed, name, err)
		}
		return nil
	})
	if err != nil {
		switch err {
		case errJSONSyntax, errJSONDuplicate, errJSONDepth, errNotObject:
			return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
		}
		return err
	}
	return nil
}

func stringClaim(v []byte) (string, error) {
	s, err := stringValue(v)
	if err != nil {
		return "", err
	}
	return string(s), nil
}

func boolClaim(v []byte) (bool, error) {
	switch string(v) {
	case "true", `"true"`: // some older Google tokens sent the string
		return true, nil
	case "false", `"false"`:
		return false, nil
	}
	return false, errWrongType
}

func audClaim(v []byte) ([]string, error) {
	if v[0] == '"' {
		s, err := stringClaim(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if v[0] != '[' {
		return nil, errWrongType
	}
	var out []string
	sc := scanner{b: v}
	err := sc.array(1, func(e []byte) error {
		s, err := stringClaim(e)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// dateClaim parses a NumericDate: a JSON number of seconds, maybe
// fractional, between 0 and year 9999.
func dateClaim(v []byte) (time.Time, error) {
	if v[0] == '-' || v[0] < '0' || v[0] > '9' {
		return time.Time{}, errWrongType
	}
	// Fast path: a plain integer, as Google always sends.
	var n int64
	plain := len(v) <= 12
	for _, d := range v {
		if d < '0' || d > '9' {
			plain = false
			break
		}
		n = n*10 + int64(d-'0')
	}
	if plain {
		if n > maxNumericDate {
			return time.Time{}, errRange
		}
		return time.Unix(n, 0), nil
	}
	f, err := parseFloat(v)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errRange
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

var errRange = fmt.Errorf("NumericDate out of range")
