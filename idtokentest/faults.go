package idtokentest

import (
	"net/http"
	"strconv"
	"time"
)

// Fault describes how the emulator misbehaves for one request. Fields
// combine: Delay first, then Drop, Garbage or Status.
type Fault struct {
	// Status, when non-zero, answers with this status and Body (default:
	// a Google-style error JSON for the status).
	Status int
	Body   string
	// RetryAfter, when non-zero, is sent as a Retry-After header (seconds).
	RetryAfter time.Duration
	// Delay waits before answering (or before handling normally when
	// nothing else is set). A cancelled request stops the wait.
	Delay time.Duration
	// Drop closes the connection without any reply.
	Drop bool
	// Garbage answers 200 with a body that is not JSON.
	Garbage bool
}

type faultEntry struct {
	f         Fault
	remaining int // < 0: forever
}

// InjectFault makes the next n requests to ep misbehave as f; n < 0 means
// every request until ClearFaults. Faults queue: a second call applies
// after the first one's n requests.
func (e *Emulator) InjectFault(ep Endpoint, n int, f Fault) {
	if n == 0 {
		return
	}
	e.mu.Lock()
	e.faults[ep] = append(e.faults[ep], &faultEntry{f: f, remaining: n})
	e.mu.Unlock()
}

// ClearFaults removes every queued fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	clear(e.faults)
	e.mu.Unlock()
}

// takeFault pops the fault for this request, if any. Called with e.mu held.
func (e *Emulator) takeFault(ep Endpoint) *Fault {
	q := e.faults[ep]
	if len(q) == 0 {
		return nil
	}
	fe := q[0]
	f := fe.f
	if fe.remaining > 0 {
		fe.remaining--
		if fe.remaining == 0 {
			e.faults[ep] = q[1:]
		}
	}
	return &f
}

// apply carries out the fault and reports whether it answered the request.
func (f *Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if f.Delay > 0 && !sleep(r, f.Delay) {
		return true
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without a reply
	case f.Garbage:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html>not json{"))
		return true
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter/time.Second)))
		}
		if f.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return true
		}
		oauthError(w, f.Status, "emulator_fault", http.StatusText(f.Status))
		return true
	}
	return false
}
