package fault_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// A chaos test in miniature: a tracker writes through random faults, then
// through a full outage; once the faults are lifted and Flush returns nil,
// every session's stored checkpoint is its last accepted one and none ever
// moved backwards.
func Example() {
	ctx := context.Background()
	store := memory.New()
	chk := fault.NewChecker(store)
	fb := fault.New(chk, fault.Config{Seed: 1, ErrorRate: 0.2, PartialRate: 0.2, LostReplyRate: 0.1})
	t, err := shard.New(fb, shard.Config{
		// Short timings keep a chaos test fast: recovery is seen within
		// milliseconds rather than the production defaults' seconds.
		FlushInterval:       2 * time.Millisecond,
		RetryBaseDelay:      time.Millisecond,
		RetryMaxDelay:       10 * time.Millisecond,
		BreakerResetTimeout: 10 * time.Millisecond,
		Logger:              slog.New(slog.DiscardHandler), // failures are expected here
	})
	if err != nil {
		panic(err)
	}
	defer t.Close(ctx)

	want := make(map[string]core.Checkpoint) // each session's last accepted checkpoint
	observe := func(events int) {
		for s := range 50 {
			session := "session-" + strconv.Itoa(s)
			cp, _ := t.Checkpoint(session)
			for id := cp.Seq + 1; id <= cp.Seq+uint64(events); id++ {
				if _, err := t.Observe(session, strconv.FormatUint(id, 10)); err != nil {
					panic(err)
				}
			}
			want[session], _ = t.Checkpoint(session)
		}
	}

	observe(10)
	fmt.Println("flush through random faults:", t.Flush(ctx)) // failed writes are retried
	fb.StartOutage(0)                                         // until ended: every call fails
	observe(10)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = t.Flush(short)
	cancel()
	fmt.Println("flush during the outage fails:", errors.Is(err, shard.ErrUnflushed))

	if err := fb.Set(fault.Config{}); err != nil { // recover: no faults, outage ended
		panic(err)
	}
	if err := t.Flush(ctx); err != nil {
		panic(err)
	}
	fmt.Println("verify:", chk.Verify(ctx, want))
	st := fb.Stats()
	fmt.Println("calls refused by the outage:", st.OutageCalls > 0)
	fmt.Println("items failed by random faults:", st.Retryable+st.Unprocessed+st.LostReplies > 0)
	// Output:
	// flush through random faults: <nil>
	// flush during the outage fails: true
	// verify: <nil>
	// calls refused by the outage: true
	// items failed by random faults: true
}
