package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A strict, allocation-light JSON scanner for token headers and payloads.
// It accepts exactly RFC 8259 JSON (no trailing data, no invalid UTF-8)
// and, unlike encoding/json, rejects duplicate member names at every
// depth: two parsers that disagree on which duplicate wins are a classic
// way to smuggle claims past a verifier.

const maxJSONDepth = 32

var (
	errJSONSyntax    = errors.New("invalid JSON")
	errJSONDuplicate = errors.New("duplicate JSON member name")
	errJSONDepth     = errors.New("JSON nested too deeply")
	errNotObject     = errors.New("not a JSON object")
)

type scanner struct {
	b []byte
	i int
}

// forEachMember scans the JSON object b and calls visit for each top-level
// member with its (unescaped) name and its raw value. It fails on any
// syntax error, duplicate name or non-object input.
func forEachMember(b []byte, visit func(name, value []byte) error) error {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return errNotObject
	}
	if err := s.object(1, visit); err != nil {
		return err
	}
	s.ws()
	if s.i != len(b) {
		return errJSONSyntax
	}
	return nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object scans an object starting at '{'. visit, when non-nil, sees each
// member.
func (s *scanner) object(depth int, visit func(name, value []byte) error) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	s.i++ // '{'
	var small [16][]byte
	names := small[:0]
	var many map[string]struct{}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errJSONSyntax
		}
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		name := raw
		if escaped {
			if name, err = unescape(raw); err != nil {
				return err
			}
		}
		if many != nil {
			if _, dup := many[string(name)]; dup {
				return errJSONDuplicate
			}
			many[string(name)] = struct{}{}
		} else {
			for _, n := range names {
				if bytes.Equal(n, name) {
					return errJSONDuplicate
				}
			}
			names = append(names, name)
			if len(names) > 32 {
				many = make(map[string]struct{}, 64)
				for _, n := range names {
					many[string(n)] = struct{}{}
				}
			}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errJSONSyntax
		}
		s.i++
		s.ws()
		start := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if visit != nil {
			if err := visit(name, s.b[start:s.i]); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return errJSONSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (s *scanner) array(depth int, visit func(value []byte) error) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		start := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if visit != nil {
			if err := visit(s.b[start:s.i]); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return errJSONSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errJSONSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth+1, nil)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	}
	return errJSONSyntax
}

func (s *scanner) lit(l string) error {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return errJSONSyntax
	}
	s.i += len(l)
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) num() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return errJSONSyntax
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return errJSONSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return errJSONSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return errJSONSyntax
		}
	}
	return nil
}

// str scans a string starting at '"' and returns its raw content (between
// the quotes) and whether it holds escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // opening quote
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return nil, false, errJSONSyntax
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 {
					return nil, false, errJSONSyntax
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, false, errJSONSyntax
					}
				}
				s.i += 5
			default:
				return nil, false, errJSONSyntax
			}
		case c < 0x20:
			return nil, false, errJSONSyntax
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, false, errJSONSyntax
			}
			s.i += n
		}
	}
	return nil, false, errJSONSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// unescape decodes the raw content of a JSON string that holds escapes
// (a rare path: Google never escapes claim names or the values we read).
func unescape(raw []byte) ([]byte, error) {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var out string
	if err := json.Unmarshal(q, &out); err != nil {
		return nil, errJSONSyntax
	}
	return []byte(out), nil
}

// stringValue returns the content of a JSON string value v (raw, as
// scanned), failing when v is not a string.
func stringValue(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' {
		return nil, errWrongType
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return unescape(raw)
	}
	return raw, nil
}

var errWrongType = errors.New("claim has the wrong JSON type")
