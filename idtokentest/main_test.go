package idtokentest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No handler (a delayed fault, a hung latency) may outlive its server.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
