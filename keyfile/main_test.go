package keyfile_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No refresh goroutine, emulator handler or HTTP connection may outlive
// the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
