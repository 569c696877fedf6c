package core

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

const (
	// DefaultWindow is the default dedup window: the number of most recent
	// accepted event IDs per session that a replay is checked against.
	DefaultWindow = 128
	// MaxWindow is the largest window. Ring positions are stored as uint16
	// (position+1, 0 meaning empty), which caps the window at 1<<15.
	MaxWindow = 1 << 15
	// initialRingCap is the ring's starting size: a session that saw a
	// handful of events keeps 4 hashes and an 8-entry index (48 bytes), not
	// a full window.
	initialRingCap = 4
	// spinsBeforeYield bounds busy-waiting for a session's writer flag. The
	// flag is held for tens of nanoseconds, so a few spins usually win it;
	// past that the holder was likely descheduled and yielding lets it run.
	spinsBeforeYield = 16
)

// record is an immutable checkpoint of a slot: the newest accepted event ID
// and its Seq. 24 bytes; a new one is allocated per accepted event and
// published with one atomic pointer store, so readers never see a torn pair.
type record struct {
	eventID string
	seq     uint64
}

// Slot is one session's dedup window and newest checkpoint.
//
// Concurrency: all methods are safe for concurrent use. Last is wait-free: a
// single atomic load that never blocks and is never blocked by Observe.
// Observe on one slot is serialized by a per-slot writer flag taken with a
// compare-and-swap (a spin lock that yields after a few spins): it is NOT
// lock-free, and a writer descheduled while holding the flag delays other
// writers of the same session (never readers, never other sessions). See
// docs/design.md for why this, and not a helping scheme, was chosen.
//
// Memory layout: the window holds the xxhash64 of each accepted ID in ring,
// a slice that starts at 4 entries and doubles up to the window size, so a
// short session stays small. index is an open-addressing table of twice the
// ring's size mapping a hash (by its low bits, linear probing) to its ring
// position+1; it gives O(1) membership without scanning the window. Hashes
// in the window are unique (a hash already present is a duplicate and is not
// inserted), so each ring position has exactly one index entry, removed with
// backward-shift deletion when the ring overwrites its oldest position.
//
// A Slot must not be copied after first use.
type Slot struct {
	last   atomic.Pointer[record]
	writer atomic.Uint32 // 1 while an Observe holds the window
	// adopted is set once the slot knows its stored history (see Adopt).
	adopted atomic.Bool

	// Guarded by writer.
	window uint32   // maximum ring size, a power of two
	count  uint32   // hashes in ring (== len(ring) once full)
	oldest uint32   // ring position overwritten next, once the ring is at window size
	ring   []uint64 // hashes of the last count accepted IDs
	index  []uint16 // ring position+1 by hash; len == 2*len(ring)
}

// NewSlot returns a slot with a window of the given size (a power of two, 1
// to MaxWindow). seq 0 starts an empty session whose stored history is not
// yet known; seq > 0 starts a resumed session (see Adopt).
func NewSlot(window int, eventID string, seq uint64) (*Slot, error) {
	s := new(Slot)
	if err := s.Init(window); err != nil {
		return nil, err
	}
	if seq > 0 {
		s.Adopt(eventID, seq)
	}
	return s, nil
}

// Init prepares a zero Slot (for example one embedded in a larger struct)
// with the given window. It must be called once, before any other method.
func (s *Slot) Init(window int) error {
	if err := ValidateWindow(window); err != nil {
		return err
	}
	s.window = uint32(window)
	s.reset(window)
	return nil
}

// ValidateWindow returns an error unless w is a power of two in [1, MaxWindow].
func ValidateWindow(w int) error {
	if w < 1 || w > MaxWindow || w&(w-1) != 0 {
		return fmt.Errorf("lastevent: window %d: must be a power of two between 1 and %d", w, MaxWindow)
	}
	return nil
}

// Observe records eventID, whose xxhash64 is hash, as the session's newest
// event unless it is among the last W accepted IDs. It reports whether the ID
// was accepted and the Seq of the slot's newest checkpoint afterwards.
//
// Observe is linearizable: an accepted event's linearization point is the
// store of its record (under the writer flag, in Seq order); a duplicate's is
// its membership check. Observe retains eventID (Go strings are immutable);
// it allocates one 24-byte record per accepted event and nothing for a
// duplicate, except when the ring grows.
//
// hash must be xxhash.Sum64String(eventID); callers that already hashed the
// ID pass it to avoid hashing twice. Two distinct IDs with the same hash are
// indistinguishable: see docs/design.md for the collision probability.
func (s *Slot) Observe(eventID string, hash uint64) (accepted bool, seq uint64) {
	s.Lock()
	accepted, seq = s.ObserveLocked(eventID, hash)
	s.Unlock()
	return accepted, seq
}

// ObserveLocked is Observe for a caller that holds the writer flag (Lock),
// so that it can act atomically with the observation — the tracker queues
// the session for flushing before any other writer of the session runs.
func (s *Slot) ObserveLocked(eventID string, hash uint64) (accepted bool, seq uint64) {
	prev := s.last.Load()
	if s.contains(hash) {
		return false, prev.seqOrZero()
	}
	rec := &record{eventID: eventID, seq: prev.seqOrZero() + 1}
	s.insert(hash)
	s.last.Store(rec)
	return true, rec.seq
}

// Lock takes the slot's writer flag, spinning and then yielding while
// another writer holds it. It serializes writers of one session only;
// readers (Last, Seq) never take it. Hold it only for a few non-blocking
// steps: no I/O, no channel operations.
func (s *Slot) Lock() {
	for spins := 0; ; spins++ {
		// Test before test-and-set: waiting writers read a shared cache line
		// instead of bouncing it with failed CASes.
		if s.writer.Load() == 0 && s.writer.CompareAndSwap(0, 1) {
			return
		}
		if spins >= spinsBeforeYield {
			runtime.Gosched()
		}
	}
}

// Unlock releases the writer flag taken by Lock.
func (s *Slot) Unlock() { s.writer.Store(0) }

// Last returns the newest accepted event ID and its Seq; seq 0 means none.
// It is wait-free and may not yet reflect an Observe that has not returned.
func (s *Slot) Last() (eventID string, seq uint64) {
	r := s.last.Load()
	if r == nil {
		return "", 0
	}
	return r.eventID, r.seq
}

// Seq returns the Seq of the newest accepted event, 0 if none. Wait-free.
func (s *Slot) Seq() uint64 { return s.last.Load().seqOrZero() }

// Adopt joins the slot to the session's stored history, the checkpoint
// (eventID, seq) a backend holds; seq 0 means it holds none. Only the first
// call has an effect; it returns the slot's Seq afterwards.
//
// On an empty slot the stored checkpoint becomes the newest one and its ID
// enters the window, so a replay of it is a duplicate and the next accepted
// event gets seq+1. On a slot that already accepted events (Observe before
// Resume), those events are newer than the stored checkpoint, so their
// numbering is moved on top of it: the newest Seq becomes seq plus the
// slot's own count, and the window is unchanged.
func (s *Slot) Adopt(eventID string, seq uint64) uint64 {
	s.Lock()
	defer s.Unlock()
	return s.AdoptLocked(eventID, seq)
}

// AdoptLocked is Adopt for a caller that holds the writer flag.
func (s *Slot) AdoptLocked(eventID string, seq uint64) uint64 {
	prev := s.last.Load()
	if s.adopted.Load() || seq == 0 {
		s.adopted.Store(true)
		return prev.seqOrZero()
	}
	s.adopted.Store(true)
	if prev == nil {
		s.last.Store(&record{eventID: eventID, seq: seq})
		s.insert(xxhash.Sum64String(eventID))
		return seq
	}
	rec := &record{eventID: prev.eventID, seq: prev.seq + seq}
	s.last.Store(rec)
	return rec.seq
}

// Adopted reports whether Adopt has run. Wait-free.
func (s *Slot) Adopted() bool { return s.adopted.Load() }

// Window returns the slot's window size.
func (s *Slot) Window() int { return int(s.window) }

// Len returns how many IDs the window holds now (at most Window).
func (s *Slot) Len() int {
	s.Lock()
	defer s.Unlock()
	return int(s.count)
}

func (r *record) seqOrZero() uint64 {
	if r == nil {
		return 0
	}
	return r.seq
}

// reset sizes an empty ring for n hashes (n a power of two).
func (s *Slot) reset(n int) {
	c := min(n, initialRingCap)
	s.ring = make([]uint64, c)
	s.index = make([]uint16, 2*c)
	s.count, s.oldest = 0, 0
}

func (s *Slot) contains(h uint64) bool {
	mask := uint64(len(s.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		p := s.index[i]
		if p == 0 {
			return false
		}
		if s.ring[p-1] == h {
			return true
		}
	}
}

// insert adds h, which must not be in the window, evicting the oldest hash
// when the window is full.
func (s *Slot) insert(h uint64) {
	n := uint32(len(s.ring))
	if s.count < n {
		s.ring[s.count] = h
		s.put(h, s.count)
		s.count++
		return
	}
	if n < s.window {
		s.grow()
		s.ring[s.count] = h
		s.put(h, s.count)
		s.count++
		return
	}
	pos := s.oldest
	s.remove(pos)
	s.ring[pos] = h
	s.put(h, pos)
	s.oldest = (pos + 1) & (n - 1)
}

// grow doubles the ring. Until the ring reaches the window size it never
// wraps, so positions 0..count-1 are already oldest-first and copy as is.
func (s *Slot) grow() {
	ring := make([]uint64, 2*len(s.ring))
	copy(ring, s.ring)
	s.ring = ring
	s.index = make([]uint16, 2*len(ring))
	for p := uint32(0); p < s.count; p++ {
		s.put(ring[p], p)
	}
}

func (s *Slot) put(h uint64, pos uint32) {
	mask := uint64(len(s.index) - 1)
	i := h & mask
	for s.index[i] != 0 {
		i = (i + 1) & mask
	}
	s.index[i] = uint16(pos + 1)
}

// remove deletes ring position pos from the index with backward-shift
// deletion, which keeps every probe chain unbroken without tombstones.
func (s *Slot) remove(pos uint32) {
	mask := uint64(len(s.index) - 1)
	want := uint16(pos + 1)
	i := s.ring[pos] & mask
	for s.index[i] != want {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		p := s.index[j]
		if p == 0 {
			s.index[i] = 0
			return
		}
		home := s.ring[p-1] & mask
		// The entry at j may fill the hole at i only if its home is not in
		// the cyclic range (i, j]; otherwise moving it would put it before
		// its home and break its probe chain.
		if (j-home)&mask >= (j-i)&mask {
			s.index[i] = p
			i = j
		}
	}
}
