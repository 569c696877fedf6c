package shard

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// flusher a Tracker starts must be stopped by its Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
