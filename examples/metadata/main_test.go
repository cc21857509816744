package main

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulated(t *testing.T) {
	for _, format := range []string{"full", "standard"} {
		if err := run(context.Background(), "https://svc.example", "default", format, false, true); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
	}
}
