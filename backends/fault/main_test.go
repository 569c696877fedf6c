package fault_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the
// fault backend starts none, and the trackers and workers tests start must
// all be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
