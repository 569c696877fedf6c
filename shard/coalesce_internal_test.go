package shard

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/lastevent/lastevent/backends/memory"
)

// TestEarlyCycleKeepsCoalescing pins the rule that an early flush (a full
// batch before the tick) writes only sessions not yet written in the current
// period: a busy shard whose dirty count keeps reaching MaxBatch must still
// write each session at most once per FlushInterval, not once per event.
func TestEarlyCycleKeepsCoalescing(t *testing.T) {
	const maxBatch = 8
	b := memory.New()
	tr, err := New(b, Config{Shards: 1, MaxBatch: maxBatch, FlushInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	sh := &tr.shards[0]
	waitEmpty := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for sh.dirty.pushed() != 0 || sh.dirty.head.Load() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for the early cycle after %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	observeAll := func(round int) {
		t.Helper()
		for i := 0; i < maxBatch; i++ {
			if ok, err := tr.Observe("s"+strconv.Itoa(i), strconv.Itoa(round)); !ok || err != nil {
				t.Fatalf("Observe round %d session %d: accepted=%v err=%v", round, i, ok, err)
			}
		}
	}

	observeAll(1) // first batch of the period: written early
	waitEmpty("round 1")
	deadline := time.Now().Add(30 * time.Second)
	for b.Stats().Writes != maxBatch {
		if time.Now().After(deadline) {
			t.Fatalf("writes after the first full batch: got %d, want %d", b.Stats().Writes, maxBatch)
		}
		time.Sleep(time.Millisecond)
	}
	for round := 2; round <= 5; round++ {
		observeAll(round) // each round refills the batch and wakes the flusher
		waitEmpty("round " + strconv.Itoa(round))
	}
	if got := b.Stats().Writes; got != maxBatch {
		t.Fatalf("writes after 4 more full batches in the same period: got %d, want %d (early cycles must hold sessions already written this period)", got, maxBatch)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := b.Stats().Writes; got != 2*maxBatch {
		t.Fatalf("writes after Flush: got %d, want %d (held sessions written once each)", got, 2*maxBatch)
	}
	for i := 0; i < maxBatch; i++ {
		cp, _ := b.Get("s" + strconv.Itoa(i))
		if cp.Seq != 5 || cp.EventID != "5" {
			t.Fatalf("stored s%d: got %+v, want seq 5 id 5", i, cp)
		}
	}
}

// TestEntryLayout pins the per-session struct: 128 bytes, it is most of a
// short session's memory (docs/benchmarks.md: <= 320 B after 4 events), and
// a field added carelessly moves it past the 128-byte allocation size class;
// and everything Observe touches lies in its first cache line.
func TestEntryLayout(t *testing.T) {
	var e entry
	if got, want := unsafe.Sizeof(e), uintptr(128); got != want {
		t.Fatalf("unsafe.Sizeof(entry{}): got %d, want %d", got, want)
	}
	for name, end := range map[string]uintptr{
		"Slot":  unsafe.Offsetof(e.Slot) + unsafe.Sizeof(e.Slot),
		"state": unsafe.Offsetof(e.state) + unsafe.Sizeof(e.state),
		"dups":  unsafe.Offsetof(e.dups) + unsafe.Sizeof(e.dups),
		"shard": unsafe.Offsetof(e.shard) + unsafe.Sizeof(e.shard),
		"next":  unsafe.Offsetof(e.next) + unsafe.Sizeof(e.next),
	} {
		if end > cacheLineSize {
			t.Errorf("entry.%s ends at byte %d: want it in the first %d-byte line, with the rest of Observe's fields", name, end, cacheLineSize)
		}
	}
}
