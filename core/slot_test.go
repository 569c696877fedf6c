package core

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// event is one Observe call's input.
type event struct {
	id   string
	hash uint64
}

func ev(id string) event { return event{id: id, hash: xxhash.Sum64String(id)} }

// model is the exact specification of a Slot: an ID is a duplicate iff its
// key is among the keys of the last window accepted events, and Seq counts
// accepted events on top of the adopted base. K is the ID itself for real
// hashes, or the hash for tests that craft hashes (a Slot only sees hashes).
type model[K comparable] struct {
	window  int
	key     func(event) K
	queue   []K // keys of the last ≤ window accepted events, oldest first
	member  map[K]bool
	history []event // every accepted event, oldest first
	seq     uint64
	lastID  string
}

func newModel[K comparable](window int, key func(event) K) *model[K] {
	return &model[K]{window: window, key: key, member: make(map[K]bool)}
}

func byID(e event) string             { return e.id }
func byHash(e event) uint64           { return e.hash }
func newIDModel(w int) *model[string] { return newModel(w, byID) }

func (m *model[K]) accept(e event, seq uint64) {
	k := m.key(e)
	m.queue = append(m.queue, k)
	m.member[k] = true
	if len(m.queue) > m.window {
		delete(m.member, m.queue[0])
		m.queue = m.queue[1:]
	}
	m.history = append(m.history, e)
	m.seq = seq
	m.lastID = e.id
}

func (m *model[K]) observe(e event) (bool, uint64) {
	if m.member[m.key(e)] {
		return false, m.seq
	}
	m.accept(e, m.seq+1)
	return true, m.seq
}

// back returns the event accepted d acceptances ago (1 = the newest).
func (m *model[K]) back(d int) event { return m.history[len(m.history)-d] }

// step observes e on both s and m and fails on any difference in the answer,
// Last, Seq or Len.
func step[K comparable](t *testing.T, s *Slot, m *model[K], e event, what string) {
	t.Helper()
	gotOK, gotSeq := s.Observe(e.id, e.hash)
	wantOK, wantSeq := m.observe(e)
	if gotOK != wantOK || gotSeq != wantSeq {
		t.Fatalf("%s: Observe(%q, %#x): got (%t, %d), want (%t, %d)",
			what, e.id, e.hash, gotOK, gotSeq, wantOK, wantSeq)
	}
	checkState(t, s, m, what)
}

func checkState[K comparable](t *testing.T, s *Slot, m *model[K], what string) {
	t.Helper()
	if id, seq := s.Last(); id != m.lastID || seq != m.seq {
		t.Fatalf("%s: Last: got (%q, %d), want (%q, %d)", what, id, seq, m.lastID, m.seq)
	}
	if got := s.Seq(); got != m.seq {
		t.Fatalf("%s: Seq: got %d, want %d", what, got, m.seq)
	}
	if got, want := s.Len(), len(m.queue); got != want {
		t.Fatalf("%s: Len: got %d, want %d", what, got, want)
	}
}

func mustSlot(t testing.TB, window int, eventID string, seq uint64) *Slot {
	t.Helper()
	s, err := NewSlot(window, Checkpoint{EventID: eventID, Seq: seq})
	if err != nil {
		t.Fatalf("NewSlot(%d, %q, %d): %v", window, eventID, seq, err)
	}
	return s
}

// cp is a stored checkpoint without a persisted window.
func cp(eventID string, seq uint64) Checkpoint { return Checkpoint{EventID: eventID, Seq: seq} }

func ids(prefix string, n int) []event {
	es := make([]event, n)
	for i := range es {
		es[i] = ev(fmt.Sprintf("%s-%d", prefix, i))
	}
	return es
}

func TestSlotEmpty(t *testing.T) {
	s := mustSlot(t, DefaultWindow, "ignored", 0)
	if id, seq := s.Last(); id != "" || seq != 0 {
		t.Fatalf("Last of new slot: got (%q, %d), want (\"\", 0)", id, seq)
	}
	if s.Seq() != 0 || s.Len() != 0 || s.Adopted() {
		t.Fatalf("new slot: got Seq %d Len %d Adopted %t, want 0 0 false", s.Seq(), s.Len(), s.Adopted())
	}
	if got := s.Window(); got != DefaultWindow {
		t.Fatalf("Window: got %d, want %d", got, DefaultWindow)
	}
}

// TestSlotWindowEdge pins the window boundary: with W distinct IDs accepted
// the first is still a duplicate; one more accepted ID evicts it.
func TestSlotWindowEdge(t *testing.T) {
	for _, w := range []int{1, 2, 4, 8, 128, 4096, MaxWindow} {
		t.Run(fmt.Sprintf("window=%d", w), func(t *testing.T) {
			s := mustSlot(t, w, "", 0)
			es := ids("e", w+1)
			for i, e := range es[:w] {
				if ok, seq := s.Observe(e.id, e.hash); !ok || seq != uint64(i+1) {
					t.Fatalf("Observe(%q): got (%t, %d), want (true, %d)", e.id, ok, seq, i+1)
				}
			}
			if got := s.Len(); got != w {
				t.Fatalf("Len after %d accepted: got %d, want %d", w, got, w)
			}
			for _, e := range es[:w] {
				if ok, seq := s.Observe(e.id, e.hash); ok || seq != uint64(w) {
					t.Fatalf("replay of %q within window: got (%t, %d), want (false, %d)", e.id, ok, seq, w)
				}
			}
			if ok, _ := s.Observe(es[w].id, es[w].hash); !ok {
				t.Fatalf("Observe(%q): got duplicate, want accepted", es[w].id)
			}
			// es[0] is now W+1 accepted IDs back: out of the window.
			if ok, seq := s.Observe(es[0].id, es[0].hash); !ok || seq != uint64(w+2) {
				t.Fatalf("replay of %q after %d newer: got (%t, %d), want (true, %d)", es[0].id, w, ok, seq, w+2)
			}
			// es[1] has just been evicted; es[2] is now exactly W back.
			if w > 1 {
				if ok, _ := s.Observe(es[2].id, es[2].hash); ok {
					t.Fatalf("replay of %q exactly %d back: got accepted, want duplicate", es[2].id, w)
				}
			}
			if got := s.Len(); got != w {
				t.Fatalf("Len of full window: got %d, want %d", got, w)
			}
		})
	}
}

// TestSlotGrowth crosses every ring size the default window goes through
// (4, 8, ..., 128) and the eviction that follows, then replays every ID.
func TestSlotGrowth(t *testing.T) {
	const w = 128
	for _, n := range []int{3, 4, 5, 8, 9, 64, 127, 128, 129, 1000} {
		t.Run(fmt.Sprintf("events=%d", n), func(t *testing.T) {
			s := mustSlot(t, w, "", 0)
			m := newIDModel(w)
			es := ids("g", n)
			for i, e := range es {
				step(t, s, m, e, fmt.Sprintf("insert %d", i))
			}
			// The newest min(n, W) IDs are duplicates, independently of the model.
			for i := n - 1; i >= max(0, n-w); i-- {
				if ok, _ := s.Observe(es[i].id, es[i].hash); ok {
					t.Fatalf("replay of %q (%d back): got accepted, want duplicate", es[i].id, n-i)
				}
			}
			// Replay everything oldest first: evicted IDs are accepted again
			// and in turn evict others.
			for i, e := range es {
				step(t, s, m, e, fmt.Sprintf("replay %d", i))
			}
		})
	}
}

// TestSlotRandomAgainstModel compares a long random sequence step by step
// with the model, concentrating on the window edge.
func TestSlotRandomAgainstModel(t *testing.T) {
	for _, tc := range []struct{ window, steps int }{
		{1, 3000}, {2, 3000}, {4, 5000}, {8, 5000}, {16, 8000},
		{128, 20000}, {1024, 20000}, {4096, 30000},
	} {
		t.Run(fmt.Sprintf("window=%d", tc.window), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.window), 42))
			s := mustSlot(t, tc.window, "", 0)
			m := newIDModel(tc.window)
			w, fresh := tc.window, 0
			for i := range tc.steps {
				n := len(m.history)
				var e event
				switch r := rng.IntN(100); {
				case n == 0 || r < 35:
					e = ev(fmt.Sprintf("r-%d", fresh))
					fresh++
				case r < 55: // recent: within the window
					e = m.back(1 + rng.IntN(min(n, w)))
				case r < 70 && n >= w: // exactly W back: the oldest in the window
					e = m.back(w)
				case r < 85 && n > w: // W+1 back: just evicted
					e = m.back(w + 1)
				default: // anywhere in history
					e = m.history[rng.IntN(n)]
				}
				step(t, s, m, e, fmt.Sprintf("step %d", i))
			}
		})
	}
}

// TestSlotCraftedHashes feeds hashes whose low bits collide, so bucket
// chains are long, cross the ring's wrap-around and keep links into
// positions the ring has overwritten.
func TestSlotCraftedHashes(t *testing.T) {
	// Low bits chosen below and above every bucket mask (≤ MaxWindow-1 =
	// 0x7fff): the same few buckets for every ring size the ring grows through.
	homes := []uint64{0, 0xfffff, 0xffffe, 1, 2, 0x7fff}
	for _, tc := range []struct{ window, steps int }{
		{1, 2000}, {2, 2000}, {4, 4000}, {8, 4000}, {16, 6000}, {128, 10000}, {512, 6000},
	} {
		t.Run(fmt.Sprintf("window=%d", tc.window), func(t *testing.T) {
			w := tc.window
			s := mustSlot(t, w, "", 0)
			m := newModel(w, byHash)
			next := uint64(1)
			fresh := func(low uint64) event {
				e := event{id: fmt.Sprintf("c-%d", next), hash: next<<20 | low}
				next++
				return e
			}
			// Phase 1: a single chain; every hash is in bucket 0.
			for i := range 3 * w {
				step(t, s, m, fresh(0), fmt.Sprintf("chain %d", i))
				checkChains(t, s)
			}
			// Phase 2: random mix of homes, recent replays and window-edge IDs.
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range tc.steps {
				n := len(m.history)
				var e event
				switch r := rng.IntN(100); {
				case r < 40:
					e = fresh(homes[rng.IntN(len(homes))])
				case r < 55:
					e = m.back(1 + rng.IntN(min(n, w)))
				case r < 65:
					e = m.back(w)
				case r < 80:
					e = m.back(w + 1)
				case r < 85: // another ID with a hash in the window: a duplicate
					old := m.back(1 + rng.IntN(min(n, w)))
					e = event{id: "other-" + old.id, hash: old.hash}
				default:
					e = m.history[rng.IntN(n)]
				}
				step(t, s, m, e, fmt.Sprintf("mix %d", i))
				checkChains(t, s)
			}
		})
	}
}

// checkChains verifies that every hash in the window is reachable from its
// bucket's head, the invariant that rules out a missed duplicate (step's
// comparison with the model rules out false ones).
func checkChains(t *testing.T, s *Slot) {
	t.Helper()
	s.Lock()
	defer s.Unlock()
	for p := 0; p < int(s.count); p++ {
		if !s.contains(s.win[p]) {
			t.Fatalf("ring[%d] = %#x is in the window but not reachable from its bucket (count %d, oldest %d)", p, s.win[p], s.count, s.oldest)
		}
	}
}

func TestNewSlotResumed(t *testing.T) {
	const w = 8
	s := mustSlot(t, w, "evt-9", 9)
	if !s.Adopted() {
		t.Fatalf("Adopted after resumed NewSlot: got false, want true")
	}
	if id, seq := s.Last(); id != "evt-9" || seq != 9 {
		t.Fatalf("Last after resume: got (%q, %d), want (%q, 9)", id, seq, "evt-9")
	}
	if ok, seq := s.Observe("evt-9", xxhash.Sum64String("evt-9")); ok || seq != 9 {
		t.Fatalf("replay of resumed ID: got (%t, %d), want (false, 9)", ok, seq)
	}
	// The resumed ID is the first entry of the window, like an accepted one.
	m := newIDModel(w)
	m.accept(ev("evt-9"), 9)
	checkState(t, s, m, "after resume")
	for i, e := range ids("next", w) {
		step(t, s, m, e, fmt.Sprintf("after resume %d", i))
	}
	if got, want := s.Seq(), uint64(9+w); got != want {
		t.Fatalf("seq after resume: got %d, want %d", got, want)
	}
	if ok, seq := s.Observe("evt-9", xxhash.Sum64String("evt-9")); !ok || seq != 9+w+1 {
		t.Fatalf("resumed ID after %d newer: got (%t, %d), want (true, %d)", w, ok, seq, 9+w+1)
	}
}

func TestSlotAdoptEmpty(t *testing.T) {
	s := mustSlot(t, DefaultWindow, "", 0)
	if s.Adopted() {
		t.Fatalf("Adopted before Adopt: got true, want false")
	}
	if got := s.Adopt(cp("stored", 5)); got != 5 {
		t.Fatalf("Adopt on empty slot: got %d, want 5", got)
	}
	if id, seq := s.Last(); id != "stored" || seq != 5 {
		t.Fatalf("Last after Adopt: got (%q, %d), want (%q, 5)", id, seq, "stored")
	}
	if ok, seq := s.Observe("stored", xxhash.Sum64String("stored")); ok || seq != 5 {
		t.Fatalf("replay of adopted ID: got (%t, %d), want (false, 5)", ok, seq)
	}
	if ok, seq := s.Observe("new", xxhash.Sum64String("new")); !ok || seq != 6 {
		t.Fatalf("first event after Adopt: got (%t, %d), want (true, 6)", ok, seq)
	}
	// Only the first call has an effect.
	if got := s.Adopt(cp("later", 100)); got != 6 {
		t.Fatalf("second Adopt: got %d, want 6 (unchanged)", got)
	}
	if id, seq := s.Last(); id != "new" || seq != 6 {
		t.Fatalf("Last after second Adopt: got (%q, %d), want (%q, 6)", id, seq, "new")
	}
	if ok, _ := s.Observe("later", xxhash.Sum64String("later")); !ok {
		t.Fatalf("ID of ignored Adopt: got duplicate, want accepted")
	}
}

func TestSlotAdoptAfterEvents(t *testing.T) {
	for _, k := range []int{1, 3, 4, 5, 200} {
		t.Run(fmt.Sprintf("events=%d", k), func(t *testing.T) {
			const w = 128
			s := mustSlot(t, w, "", 0)
			es := ids("pre", k)
			for _, e := range es {
				s.Observe(e.id, e.hash)
			}
			lenBefore := s.Len()
			want := uint64(1000 + k)
			if got := s.Adopt(cp("stored", 1000)); got != want {
				t.Fatalf("Adopt after %d events: got %d, want %d", k, got, want)
			}
			if id, seq := s.Last(); id != es[k-1].id || seq != want {
				t.Fatalf("Last after Adopt: got (%q, %d), want (%q, %d)", id, seq, es[k-1].id, want)
			}
			// The stored ID goes below the slot's own, if the window has
			// room for it.
			if got, want := s.Len(), min(lenBefore+1, w); got != want {
				t.Fatalf("Len after Adopt: got %d, want %d", got, want)
			}
			for i := k - 1; i >= max(0, k-w); i-- {
				if ok, seq := s.Observe(es[i].id, es[i].hash); ok || seq != want {
					t.Fatalf("replay of %q after Adopt: got (%t, %d), want (false, %d)", es[i].id, ok, seq, want)
				}
			}
			if ok, _ := s.Observe("stored", xxhash.Sum64String("stored")); ok != (k >= w) {
				t.Fatalf("replay of the stored ID after %d own events in a window of %d: got accepted=%t, want %t", k, w, ok, k >= w)
			}
			if k >= w {
				want++ // the replay was accepted: it had left the window
			}
			if ok, seq := s.Observe("next", xxhash.Sum64String("next")); !ok || seq != want+1 {
				t.Fatalf("next event after Adopt: got (%t, %d), want (true, %d)", ok, seq, want+1)
			}
			if got := s.Adopt(cp("again", 5000)); got != want+1 {
				t.Fatalf("second Adopt: got %d, want %d (unchanged)", got, want+1)
			}
		})
	}
}

func TestSlotAdoptNothingStored(t *testing.T) {
	s := mustSlot(t, 4, "", 0)
	if got := s.Adopt(cp("", 0)); got != 0 {
		t.Fatalf("Adopt(\"\", 0) on empty slot: got %d, want 0", got)
	}
	if !s.Adopted() {
		t.Fatalf("Adopted after Adopt(\"\", 0): got false, want true")
	}
	if id, seq := s.Last(); id != "" || seq != 0 || s.Len() != 0 {
		t.Fatalf("after Adopt(\"\", 0): got Last (%q, %d) Len %d, want (\"\", 0) Len 0", id, seq, s.Len())
	}
	// It counts as the first call: a later stored checkpoint is ignored.
	if got := s.Adopt(cp("late", 7)); got != 0 {
		t.Fatalf("Adopt after Adopt(\"\", 0): got %d, want 0", got)
	}
	if ok, seq := s.Observe("a", xxhash.Sum64String("a")); !ok || seq != 1 {
		t.Fatalf("first event: got (%t, %d), want (true, 1)", ok, seq)
	}

	s = mustSlot(t, 4, "", 0)
	s.Observe("a", xxhash.Sum64String("a"))
	s.Observe("b", xxhash.Sum64String("b"))
	if got := s.Adopt(cp("", 0)); got != 2 {
		t.Fatalf("Adopt(\"\", 0) after 2 events: got %d, want 2", got)
	}
	if id, seq := s.Last(); id != "b" || seq != 2 {
		t.Fatalf("Last after Adopt(\"\", 0): got (%q, %d), want (\"b\", 2)", id, seq)
	}
}

func TestValidateWindow(t *testing.T) {
	for _, w := range []int{0, -1, 3, 6, 100, MaxWindow + 1, MaxWindow * 2} {
		if err := ValidateWindow(w); err == nil {
			t.Errorf("ValidateWindow(%d): got nil, want error", w)
		}
		if s, err := NewSlot(w, Checkpoint{}); err == nil || s != nil {
			t.Errorf("NewSlot(%d): got (%v, %v), want (nil, error)", w, s, err)
		}
		var s Slot
		if err := s.Init(w); err == nil {
			t.Errorf("Init(%d): got nil, want error", w)
		}
	}
	for w := 1; w <= MaxWindow; w *= 2 {
		if err := ValidateWindow(w); err != nil {
			t.Errorf("ValidateWindow(%d): got %v, want nil", w, err)
		}
	}
}

// TestSlotInit uses a zero Slot embedded in another struct, as the tracker does.
func TestSlotInit(t *testing.T) {
	var holder struct {
		name string
		slot Slot
	}
	if err := holder.slot.Init(2); err != nil {
		t.Fatalf("Init(2): %v", err)
	}
	m := newIDModel(2)
	for i, id := range []string{"a", "b", "a", "c", "a", "a", "b"} {
		step(t, &holder.slot, m, ev(id), fmt.Sprintf("step %d", i))
	}
}

// TestSlotConcurrentObserve: writers race on the same IDs; each ID must be
// accepted exactly once and the accepted Seqs must be exactly 1..n.
func TestSlotConcurrentObserve(t *testing.T) {
	const (
		writers = 8
		n       = 1000
		window  = 1024 // ≥ n: no ID leaves the window
	)
	s := mustSlot(t, window, "", 0)
	es := ids("c", n)
	type acc struct {
		idx int
		seq uint64
	}
	got := make([][]acc, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			// Each writer starts at a different offset so they collide on
			// every ID at different times.
			for k := range n {
				i := (k + g*n/writers) % n
				var ok bool
				var seq uint64
				if g%2 == 0 {
					ok, seq = s.Observe(es[i].id, es[i].hash)
				} else { // the tracker's path
					s.Lock()
					ok, seq = s.ObserveLocked(es[i].id, es[i].hash)
					s.Unlock()
				}
				if ok {
					got[g] = append(got[g], acc{i, seq})
				}
			}
		})
	}
	wg.Wait()

	timesAccepted := make([]int, n)
	seqOwner := make(map[uint64]int, n)
	for _, as := range got {
		for _, a := range as {
			timesAccepted[a.idx]++
			if prev, dup := seqOwner[a.seq]; dup {
				t.Fatalf("seq %d returned for both %q and %q", a.seq, es[prev].id, es[a.idx].id)
			}
			seqOwner[a.seq] = a.idx
		}
	}
	for i, c := range timesAccepted {
		if c != 1 {
			t.Fatalf("%q accepted %d times, want 1", es[i].id, c)
		}
	}
	for seq := uint64(1); seq <= n; seq++ {
		if _, ok := seqOwner[seq]; !ok {
			t.Fatalf("seq %d never returned; accepted seqs must be exactly 1..%d", seq, n)
		}
	}
	if got := s.Seq(); got != n {
		t.Fatalf("final Seq: got %d, want %d", got, n)
	}
	if id, _ := s.Last(); id != es[seqOwner[n]].id {
		t.Fatalf("final Last ID: got %q, want %q (the event given seq %d)", id, es[seqOwner[n]].id, n)
	}
}

// TestSlotLockExcludesWriters: while a caller holds Lock, no other writer
// changes the slot, so what it observes is still the newest when it unlocks.
func TestSlotLockExcludesWriters(t *testing.T) {
	const writers = 3
	s := mustSlot(t, DefaultWindow, "", 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", g, i)
				s.Observe(id, xxhash.Sum64String(id))
			}
		})
	}
	defer func() { close(done); wg.Wait() }()
	for i := range 500 {
		e := ev(fmt.Sprintf("locked-%d", i))
		s.Lock()
		before := s.Seq()
		ok, seq := s.ObserveLocked(e.id, e.hash)
		id, last := s.Last()
		s.Unlock()
		if !ok || seq != before+1 {
			t.Fatalf("ObserveLocked(%q) under Lock: got (%t, %d), want (true, %d)", e.id, ok, seq, before+1)
		}
		if id != e.id || last != seq {
			t.Fatalf("Last under Lock: got (%q, %d), want (%q, %d)", id, last, e.id, seq)
		}
	}
}

// TestSlotConcurrentLast: readers of Last and Seq never see Seq go backwards,
// and every (ID, Seq) pair they see is one an Observe returned.
func TestSlotConcurrentLast(t *testing.T) {
	const (
		writers = 4
		readers = 2
		n       = 2000
	)
	s := mustSlot(t, DefaultWindow, "", 0) // n > window: evictions run too
	es := ids("l", n)
	accepted := make([]map[uint64]string, writers)
	var wwg, rwg sync.WaitGroup
	done := make(chan struct{})
	type seen struct {
		id  string
		seq uint64
	}
	observed := make([][]seen, readers)
	errs := make(chan error, readers)
	for r := range readers {
		rwg.Go(func() {
			var last uint64
			for {
				select {
				case <-done:
					return
				default:
				}
				id, seq := s.Last()
				if seq < last {
					errs <- fmt.Errorf("Last: seq went backwards: got %d after %d", seq, last)
					return
				}
				if seq != last {
					observed[r] = append(observed[r], seen{id, seq})
				}
				last = seq
				if got := s.Seq(); got < last {
					errs <- fmt.Errorf("Seq: went backwards: got %d after Last %d", got, last)
					return
				}
			}
		})
	}
	for g := range writers {
		accepted[g] = make(map[uint64]string)
		wwg.Go(func() {
			for k := range n {
				e := es[(k+g*n/writers)%n]
				if ok, seq := s.Observe(e.id, e.hash); ok {
					accepted[g][seq] = e.id
				}
			}
		})
	}
	wwg.Wait()
	close(done)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	bySeq := make(map[uint64]string)
	for _, a := range accepted {
		for seq, id := range a {
			bySeq[seq] = id
		}
	}
	for r, obs := range observed {
		for _, o := range obs {
			if want, ok := bySeq[o.seq]; !ok || want != o.id {
				t.Fatalf("reader %d saw (%q, %d); Observe returned seq %d for %q", r, o.id, o.seq, o.seq, want)
			}
		}
	}
	if id, seq := s.Last(); seq != uint64(len(bySeq)) || id != bySeq[seq] {
		t.Fatalf("final Last: got (%q, %d), want (%q, %d)", id, seq, bySeq[uint64(len(bySeq))], len(bySeq))
	}
}

// TestSlotConcurrentAdopt: Adopt racing with writers numbers every accepted
// event on top of the stored Seq, whichever runs first.
func TestSlotConcurrentAdopt(t *testing.T) {
	const (
		writers = 4
		n       = 500
		stored  = 1000
	)
	for round := range 20 {
		s := mustSlot(t, 1024, "", 0)
		es := ids(fmt.Sprintf("a%d", round), n)
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				for k := range n {
					e := es[(k+g*n/writers)%n]
					s.Observe(e.id, e.hash)
				}
			})
		}
		var adopted uint64
		wg.Go(func() {
			if round%2 == 0 {
				adopted = s.Adopt(cp("stored", stored))
				return
			}
			s.Lock()
			adopted = s.AdoptLocked(cp("stored", stored))
			s.Unlock()
		})
		wg.Wait()
		if adopted < stored || adopted > stored+n {
			t.Fatalf("round %d: Adopt returned %d, want in [%d, %d]", round, adopted, stored, stored+n)
		}
		if got := s.Seq(); got != stored+n {
			t.Fatalf("round %d: final Seq: got %d, want %d", round, got, stored+n)
		}
	}
}

func TestSlotAllocs(t *testing.T) {
	const w = 64
	s := mustSlot(t, w, "", 0)
	es := ids("x", 4*w)
	for _, e := range es[:w] { // ring at full size
		s.Observe(e.id, e.hash)
	}
	dup := es[w-1]
	if got := testing.AllocsPerRun(100, func() { s.Observe(dup.id, dup.hash) }); got != 0 {
		t.Fatalf("allocs per duplicate Observe: got %v, want 0", got)
	}
	next := w
	if got := testing.AllocsPerRun(100, func() {
		e := es[next]
		next++
		s.Observe(e.id, e.hash)
	}); got != 1 {
		t.Fatalf("allocs per accepted Observe on a full ring: got %v, want 1 (the record)", got)
	}
	if got := testing.AllocsPerRun(100, func() { s.Last(); s.Seq() }); got != 0 {
		t.Fatalf("allocs per Last+Seq: got %v, want 0", got)
	}
}

// TestSlotSize pins the per-session fixed cost (docs/design.md memory table).
func TestSlotSize(t *testing.T) {
	if got := unsafe.Sizeof(record{}); got != 24 {
		t.Errorf("unsafe.Sizeof(record{}): got %d, want 24", got)
	}
	got := unsafe.Sizeof(Slot{})
	t.Logf("unsafe.Sizeof(Slot{}) = %d bytes", got)
	if got > 48 {
		t.Errorf("unsafe.Sizeof(Slot{}): got %d, want <= 48", got)
	}
}

// TestSlotRingSize pins the memory contract: the ring starts at 4 hashes (or
// the window, if smaller) and doubles only when full, up to the window.
func TestSlotRingSize(t *testing.T) {
	for _, w := range []int{1, 2, 4, 8, 128} {
		s := mustSlot(t, w, "", 0)
		es := ids("r", 2*w+5)
		for i, e := range es {
			want := min(w, 4)
			for want < i && want < w { // i hashes already held
				want *= 2
			}
			if got := 1 << s.ringLog; got != want {
				t.Fatalf("window %d: ring size with %d events: got %d, want %d", w, i, got, want)
			}
			// want hashes plus 2*want uint16 links, four to a word.
			if got, wantWords := len(s.win), want+(2*want+3)/4; got != wantWords {
				t.Fatalf("window %d: win words with %d events: got %d, want %d", w, i, got, wantWords)
			}
			s.Observe(e.id, e.hash)
		}
	}
}
