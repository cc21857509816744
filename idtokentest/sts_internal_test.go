package idtokentest

import (
	"runtime"
	"testing"
	"time"
)

func stsStateCount() int {
	n := 0
	stsStates.Range(func(any, any) bool { n++; return true })
	return n
}

// The weakly keyed provider registry does not keep emulators alive.
func TestSTSRegistryReleasesEmulators(t *testing.T) {
	// Not parallel: it counts a package-wide map.
	before := stsStateCount()
	func() {
		e := New(Options{})
		e.RegisterProvider(ProviderOptions{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for stsStateCount() > before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := stsStateCount(); n > before {
		t.Fatalf("registry still holds %d emulators, want %d", n, before)
	}
}
