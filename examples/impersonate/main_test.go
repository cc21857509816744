package main

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulated(t *testing.T) {
	if err := run(context.Background(), "https://svc.example", "", []string{"a", "b"}, true, true); err != nil {
		t.Fatal(err)
	}
}
