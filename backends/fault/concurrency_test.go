package fault_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// Store, Load and Delete from many goroutines while another one keeps
// changing the faults: every result is filled, the counters add up, and
// the next backend holds the highest checkpoint each writer reported
// stored. Run under -race.
func TestConcurrentCallsAndReconfiguration(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	chk := fault.NewChecker(mem)
	fb := fault.New(chk, mixed(21))
	const writers, calls, size = 8, 300, 8

	stop := make(chan struct{})
	var toggler sync.WaitGroup
	toggler.Add(1)
	go func() { // reconfigures as fast as it can until the writers finish
		defer toggler.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch i % 4 {
			case 0:
				fb.StartOutage(0)
			case 1:
				fb.EndOutage()
			case 2:
				_ = fb.Set(fault.Config{ErrorRate: 0.5, PartialRate: 0.5, LostReplyRate: 0.2})
			case 3:
				_ = fb.Set(mixed(uint64(i)))
			}
			_ = fb.Stats()
			_ = fb.Config()
		}
	}()

	stored := make([][size]uint64, writers) // highest seq reported stored, per writer and session
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := "w" + strconv.Itoa(w)
			for c := range calls {
				batch := batchOf(prefix, size, uint64(c+1))
				for i, r := range store(ctx, fb, batch) {
					switch {
					case r.Stored():
						stored[w][i] = batch[i].Seq
					case r.Outcome != core.OutcomeFailed || r.Err == nil:
						t.Errorf("%+v: result %v (%v) neither stored nor a failure", batch[i], r.Outcome, r.Err)
						return
					}
				}
				if c%16 == 0 {
					_, _ = fb.Load(ctx, []string{prefix + "-0"})
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	toggler.Wait()

	st := fb.Stats()
	checkInvariant(t, st)
	if st.StoreItems != writers*calls*size {
		t.Fatalf("Stats.StoreItems %d, want %d", st.StoreItems, writers*calls*size)
	}
	for w := range stored {
		for i, seq := range stored[w] {
			session := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
			got, _ := mem.Get(session)
			if got.Seq < seq {
				t.Errorf("%s: next backend holds seq %d, below seq %d reported stored", session, got.Seq, seq)
			}
		}
	}
	if err := chk.Err(); err != nil {
		t.Fatalf("monotonic memory backend under faults: %v", err)
	}
}

// The tool used as documented: a tracker under concurrent Observe writes
// through every random fault, then through an outage; after recovery and Flush, Verify finds
// each session's last accepted checkpoint and no regression.
func TestTrackerThroughFaults(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	chk := fault.NewChecker(mem)
	fb := fault.New(chk, mixed(5))
	tr, err := shard.New(fb, shard.Config{Shards: 4, FlushInterval: time.Millisecond,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond, BreakerResetTimeout: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(ctx)

	const goroutines, sessions, events = 4, 64, 200
	observe := func(from, to int) { // events from..to of every session, sessions split among goroutines
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := from; e <= to; e++ {
					for s := g; s < sessions; s += goroutines {
						if _, err := tr.Observe("s"+strconv.Itoa(s), strconv.Itoa(e)); err != nil {
							t.Errorf("Observe: %v", err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	}
	observe(1, events/2)
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tr.Flush(fctx); err != nil { // through random faults: retried until stored
		t.Fatalf("Flush through random faults: %v", err)
	}
	fb.StartOutage(0)
	observe(events/2+1, events)
	// The outage lasts until a flusher has met it: the events above can
	// all land between two ticks, or while a breaker opened by the random
	// faults still waits.
	for deadline := time.Now().Add(30 * time.Second); fb.Stats().OutageCalls == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no backend call met the outage in 30s: Stats %+v", fb.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	if err := fb.Set(fault.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(fctx); err != nil {
		t.Fatalf("Flush after recovery: %v", err)
	}
	want := make(map[string]core.Checkpoint, sessions)
	for s := range sessions {
		name := "s" + strconv.Itoa(s)
		want[name] = core.Checkpoint{Session: name, EventID: strconv.Itoa(events), Seq: events}
	}
	if err := chk.Verify(ctx, want); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if st := fb.Stats(); st.OutageCalls == 0 || st.InjectedItems() == st.OutageItems {
		t.Fatalf("Stats %+v: want outage calls and random faults both exercised", st)
	}
}
