// Package fakeclock is the settable clock the tests of this module inject
// through Config.Now / Options.Now (the library has no package-level
// clock to patch). It is safe for concurrent use.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a time that moves only when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock; pass the method value as a Now func.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d (negative moves it back).
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
