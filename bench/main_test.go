package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// Tracker and baseline a test starts must be closed, and taskperevent's Close
// waits for its per-event goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
