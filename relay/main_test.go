package relay

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// reader, every client stream, catch-up and decoder goroutine must end by
// ctx or Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
