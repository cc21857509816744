package httpx_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every retry, timer and connection Do starts must be gone when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
