package verify

import "sync"

// seenCache is a bounded LRU of tokens that passed verification, keyed by
// the full token string: two different tokens can never share an entry
// (no truncated hash), and a hit costs one map lookup.
type seenCache struct {
	mu         sync.Mutex
	max        int
	m          map[string]*seenEntry
	head, tail *seenEntry // head: most recently used
}

type seenEntry struct {
	key        string
	c          *Claims
	prev, next *seenEntry
}

func newSeenCache(max int) *seenCache {
	return &seenCache{max: max, m: make(map[string]*seenEntry, min(max, 1024))}
}

func (s *seenCache) get(raw string) *Claims {
	s.mu.Lock()
	e := s.m[raw]
	if e == nil {
		s.mu.Unlock()
		return nil
	}
	if e != s.head {
		s.unlink(e)
		s.pushFront(e)
	}
	c := e.c
	s.mu.Unlock()
	return c
}

func (s *seenCache) add(raw string, c *Claims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[raw]; e != nil {
		e.c = c
		return
	}
	e := &seenEntry{key: raw, c: c}
	s.m[raw] = e
	s.pushFront(e)
	for len(s.m) > s.max {
		old := s.tail
		s.unlink(old)
		delete(s.m, old.key)
	}
}

func (s *seenCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *seenCache) unlink(e *seenEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *seenCache) pushFront(e *seenEntry) {
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}
