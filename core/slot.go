package core

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

const (
	// DefaultWindow is the default dedup window: the number of most recent
	// accepted event IDs per session that a replay is checked against.
	DefaultWindow = 128
	// MaxWindow is the largest window. Ring positions are stored as uint16
	// (position+1, 0 meaning empty), which caps the window at 1<<15.
	MaxWindow = 1 << 15
	// initialRingLog is log2 of the ring's starting size: a session that saw a
	// handful of events keeps 4 hashes and 8 links (48 bytes), not a full
	// window.
	initialRingLog = 2
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
// Observe on one slot is serialized by a per-slot sync.Mutex (the "writer
// flag"): it is NOT lock-free, and a writer descheduled while holding it
// delays other writers of the same session (never readers, never other
// sessions). See docs/design.md for why this, and not a helping scheme, was
// chosen, and why a mutex rather than a spin lock.
//
// Memory layout: one allocation, win, holds the window. Its first n words
// are the ring: the xxhash64 of the last accepted IDs, n starting at 4 and
// doubling up to the window size, so a short session stays small. The rest
// are 2n uint16 links packed four to a word, which turn the ring into a hash
// table without a separate index: link b (b < n) is position+1 of the newest
// hash whose low bits are b (the bucket's head), and link n+p is position+1
// of the previous hash of the same bucket, older than the one at p.
// Membership walks one bucket's chain, about one entry with one bucket per
// ring slot, so a lookup is O(1) and never scans the window.
//
// Eviction costs nothing: when the ring overwrites its oldest position, the
// chains are not touched. A walk stops at the first link that does not lead
// to a strictly older entry of the same bucket; such a link can only point
// at an overwritten position, and everything older in that bucket has left
// the window too (see docs/design.md), so stopping there is exact.
//
// A Slot must not be copied after first use.
type Slot struct {
	last atomic.Pointer[record]
	// mu is the writer flag: held while an Observe changes the window. A
	// sync.Mutex rather than a CAS spin lock: on one hot session its waiters
	// park instead of pulling the slot's cache lines back and forth, which
	// measured 58% faster for two writers of one session (docs/benchmarks.md),
	// at the same cost uncontended.
	mu sync.Mutex
	// adopted is set once the slot knows its stored history (see Adopt).
	// Guarded by mu.
	adopted bool

	// Guarded by mu. Sizes are powers of two stored as log2 and counts as
	// uint16 (the window is at most 1<<15), so the slot is 48 bytes.
	count     uint16   // hashes in the ring (== ring size once full)
	oldest    uint16   // position overwritten next, once the ring is full
	ringLog   uint8    // log2 of the ring size
	windowLog uint8    // log2 of the window: the ring's final size
	win       []uint64 // ring, then packed links; see the layout above
}

// NewSlot returns a slot with a window of the given size (a power of two, 1
// to MaxWindow). A zero stored checkpoint starts an empty session whose
// stored history is not yet known; one with Seq > 0 starts a resumed session
// (see Adopt), which fails if stored.CheckWindow does.
func NewSlot(window int, stored Checkpoint) (*Slot, error) {
	s := new(Slot)
	if err := s.Init(window); err != nil {
		return nil, err
	}
	if stored.Seq > 0 {
		if err := stored.CheckWindow(); err != nil {
			return nil, err
		}
		s.Adopt(stored)
	}
	return s, nil
}

// Init prepares a zero Slot (for example one embedded in a larger struct)
// with the given window. It must be called once, before any other method.
func (s *Slot) Init(window int) error {
	if err := ValidateWindow(window); err != nil {
		return err
	}
	s.windowLog = uint8(bits.TrailingZeros(uint(window)))
	s.reset()
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
	if s.HasLocked(hash) {
		return false, s.Seq()
	}
	return true, s.AcceptLocked(eventID, hash)
}

// HasLocked reports whether hash is in the window. The caller holds the
// writer flag.
func (s *Slot) HasLocked(hash uint64) bool { return s.contains(hash) }

// AcceptLocked makes eventID, whose hash is not in the window (HasLocked
// reported false under the same hold of the writer flag), the newest
// checkpoint and returns its Seq.
func (s *Slot) AcceptLocked(eventID string, hash uint64) uint64 {
	rec := &record{eventID: eventID, seq: s.last.Load().seqOrZero() + 1}
	s.insert(hash)
	s.last.Store(rec)
	return rec.seq
}

// Lock takes the slot's writer flag. It serializes writers of one session
// only; readers (Last, Seq) never take it. Hold it only for a few
// non-blocking steps: no I/O, no channel operations.
func (s *Slot) Lock() { s.mu.Lock() }

// Unlock releases the writer flag taken by Lock.
func (s *Slot) Unlock() { s.mu.Unlock() }

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

// Adopt joins the slot to the session's stored history, the checkpoint a
// backend holds; a stored Seq of 0 means it holds none. Only the first call
// has an effect; it returns the slot's Seq afterwards. stored must pass
// Checkpoint.CheckWindow (the tracker checks every loaded checkpoint); its
// Session is ignored.
//
// On an empty slot the stored checkpoint becomes the newest one and the
// stored window (or, if it carries none, the stored ID alone) fills the
// window, so a replay of any of those IDs is a duplicate and the next
// accepted event gets Seq+1. On a slot that already accepted events (Observe
// before Resume), those events are newer than the stored checkpoint: their
// numbering moves on top of it, the newest Seq becoming stored.Seq plus the
// slot's own count, and the stored hashes go below the slot's own in the
// window, each ID once, the oldest leaving first if the window overflows.
func (s *Slot) Adopt(stored Checkpoint) uint64 {
	s.Lock()
	defer s.Unlock()
	return s.AdoptLocked(stored)
}

// AdoptLocked is Adopt for a caller that holds the writer flag.
func (s *Slot) AdoptLocked(stored Checkpoint) uint64 {
	prev := s.last.Load()
	if s.adopted || stored.Seq == 0 {
		s.adopted = true
		return prev.seqOrZero()
	}
	s.adopted = true
	s.seed(stored)
	rec := &record{eventID: stored.EventID, seq: stored.Seq}
	if prev != nil {
		rec = &record{eventID: prev.eventID, seq: prev.seq + stored.Seq}
	}
	s.last.Store(rec)
	return rec.seq
}

// seed puts the stored checkpoint's window below the slot's own hashes: the
// stored hashes oldest first, then the slot's, the newest Window of them
// kept and none twice. The caller holds the writer flag. An adoption runs
// once per session entry, so rebuilding the ring here costs nothing per
// event.
func (s *Slot) seed(stored Checkpoint) {
	var older []uint64
	if stored.Window != "" {
		older = stored.Window.AppendHashes(make([]uint64, 0, stored.Window.Len()))
	} else {
		older = []uint64{xxhash.Sum64String(stored.EventID)}
	}
	merged := older[:0]
	for _, h := range older {
		if !s.contains(h) { // the slot's own copy is the newer one
			merged = append(merged, h)
		}
	}
	merged = s.appendHashes(merged, int(s.count))
	merged = merged[max(len(merged)-s.Window(), 0):]
	s.reset()
	for _, h := range merged {
		s.insert(h)
	}
}

// WindowLocked returns the hashes of the last k accepted IDs (fewer if the
// window holds fewer), oldest first, ending with that of the ID Last
// returns: the Window a checkpoint of this slot persists. The caller holds
// the writer flag, so the window and Last agree. It allocates the 8·k
// encoded bytes once, nothing when k is 0.
func (s *Slot) WindowLocked(k int) Window {
	k = min(k, int(s.count))
	if k <= 0 {
		return ""
	}
	b := make([]byte, 0, hashBytes*k)
	for i := int(s.count) - k; i < int(s.count); i++ {
		b = binary.LittleEndian.AppendUint64(b, s.hashAt(i))
	}
	return windowOfBytes(b)
}

// appendHashes appends the newest k hashes of the ring to dst, oldest
// first.
func (s *Slot) appendHashes(dst []uint64, k int) []uint64 {
	for i := int(s.count) - k; i < int(s.count); i++ {
		dst = append(dst, s.hashAt(i))
	}
	return dst
}

// hashAt returns the i-th hash of the ring, oldest first. While the ring
// fills, positions 0..count-1 are in insertion order; once it is full, the
// oldest is at s.oldest and the order wraps.
func (s *Slot) hashAt(i int) uint64 {
	n := uint32(1) << s.ringLog
	start := uint32(0)
	if uint32(s.count) == n {
		start = uint32(s.oldest)
	}
	return s.win[(start+uint32(i))&(n-1)]
}

// Adopted reports whether Adopt has run. It takes the writer flag.
func (s *Slot) Adopted() bool {
	s.Lock()
	defer s.Unlock()
	return s.adopted
}

// AdoptedLocked is Adopted for a caller that holds the writer flag.
func (s *Slot) AdoptedLocked() bool { return s.adopted }

// Window returns the slot's window size.
func (s *Slot) Window() int { return 1 << s.windowLog }

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

// reset sizes an empty ring: initialRingCap hashes, or the window if smaller.
func (s *Slot) reset() {
	s.ringLog = min(s.windowLog, initialRingLog)
	s.win = make([]uint64, winWords(1<<s.ringLog))
	s.count, s.oldest = 0, 0
}

// winWords is the length of win for a ring of n hashes: n words of hashes
// and 2n uint16 links, four per word (rounded up).
func winWords(n uint32) int { return int(n + (2*n+3)/4) }

// links returns the 2n links of a ring of n hashes: the uint16 view of the
// words after the ring in win. One allocation and one slice header hold
// both, which keeps the slot at 48 bytes; the view is bounds-checked like
// any slice and lies inside win's allocation (winWords).
func (s *Slot) links(n uint32) []uint16 {
	return unsafe.Slice((*uint16)(unsafe.Pointer(&s.win[n])), 2*n)
}

// next returns the ring position the next insert writes: the end while the
// ring is filling, the oldest position once it is full.
func (s *Slot) next() uint32 {
	if s.count < 1<<s.ringLog {
		return uint32(s.count)
	}
	return uint32(s.oldest)
}

// contains reports whether h is in the window by walking h's bucket chain
// from its newest entry. Ages are counted back from the newest position
// (age 0); a chain entry is genuine only while ages strictly grow and the
// bucket matches, so the walk stops at the first link into an overwritten
// position.
func (s *Slot) contains(h uint64) bool {
	n := uint32(1) << s.ringLog
	ring, links := s.win[:n], s.links(n)
	mask := n - 1
	newest := s.next() - 1
	b := uint32(h) & mask
	prevAge := int64(-1)
	for l := uint32(links[b]); l != 0; l = uint32(links[n+l-1]) {
		p := (l - 1) & mask
		age := int64((newest - p) & mask)
		if age <= prevAge {
			return false
		}
		v := ring[p]
		if v == h {
			return true
		}
		if uint32(v)&mask != b {
			return false
		}
		prevAge = age
	}
	return false
}

// insert adds h, which must not be in the window, overwriting the oldest
// hash when the window is full. Overwriting unlinks nothing: see contains.
func (s *Slot) insert(h uint64) {
	if s.count == 1<<s.ringLog && s.ringLog < s.windowLog {
		s.grow()
	}
	n := uint32(1) << s.ringLog
	var p uint32
	if uint32(s.count) < n {
		p = uint32(s.count)
		s.count++
	} else {
		p = uint32(s.oldest)
		s.oldest = uint16((p + 1) & (n - 1))
	}
	s.win[p] = h
	s.linkHead(h, p, n)
}

// linkHead makes position p, holding h, the head of h's bucket.
func (s *Slot) linkHead(h uint64, p, n uint32) {
	links := s.links(n)
	b := uint32(h) & (n - 1)
	links[n+p] = links[b]
	links[b] = uint16(p + 1)
}

// grow doubles the ring. Until the ring reaches the window size it never
// wraps, so positions 0..count-1 are oldest-first; relinking them in that
// order rebuilds every chain for the new bucket count.
func (s *Slot) grow() {
	old := s.win[:1<<s.ringLog]
	s.ringLog++
	n := uint32(1) << s.ringLog
	s.win = make([]uint64, winWords(n))
	copy(s.win, old)
	for p := uint32(0); p < uint32(s.count); p++ {
		s.linkHead(s.win[p], p, n)
	}
}
