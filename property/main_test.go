package property

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// defaultSeed makes `make test` deterministic: every run checks the same
// command sequences unless a seed is given.
const defaultSeed int64 = 20261127

var (
	seedFlag  = flag.Int64("property.seed", seedFromEnv(), "gopter seed; also LASTEVENT_PROPERTY_SEED")
	casesFlag = flag.Int("property.cases", 100, "command sequences per backend (DynamoDB runs half)")
	// evictFlag generates the Evict command (IdleTTL eviction of every
	// session); -property.evict=false leaves it out, to tell an eviction
	// failure from another.
	evictFlag = flag.Bool("property.evict", true, "generate Evict (IdleTTL) commands; =false leaves them out")
)

// seedFromEnv lets CI vary the seed without changing the command line.
func seedFromEnv() int64 {
	if v := os.Getenv("LASTEVENT_PROPERTY_SEED"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return s
		}
		fmt.Fprintf(os.Stderr, "property: ignoring LASTEVENT_PROPERTY_SEED=%q: not an int64\n", v)
	}
	return defaultSeed
}

// TestMain fails the package if a test leaves a goroutine behind: every
// Tracker (and DynamoDB backend) a property starts must be closed, whatever
// the outcome. Idle HTTP keep-alive connections of the DynamoDB client are
// closed first: they are the transport's, not a leak.
func TestMain(m *testing.M) {
	code := m.Run()
	httpTransport.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
