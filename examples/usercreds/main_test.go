package main

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulated(t *testing.T) {
	for _, keyless := range []bool{false, true} {
		if err := run(context.Background(), "https://svc.example", "", "", keyless, true); err != nil {
			t.Fatalf("keyless=%v: %v", keyless, err)
		}
	}
}
