package fuzz

import (
	"slices"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// slotModel is the exact specification of a core.Slot: a hash is a
// duplicate iff it is among the hashes of the last W accepted events (a Slot
// sees only hashes), and Seq counts accepted events on top of the adopted
// base.
type slotModel struct {
	window  int
	recent  []uint64 // hashes of the last ≤ window accepted events, oldest first
	history []slotEvent
	seq     uint64
	lastID  string
}

type slotEvent struct {
	id   string
	hash uint64
}

func (m *slotModel) observe(e slotEvent) (bool, uint64) {
	if slices.Contains(m.recent, e.hash) {
		return false, m.seq
	}
	m.accept(e, m.seq+1)
	return true, m.seq
}

func (m *slotModel) accept(e slotEvent, seq uint64) {
	m.recent = append(m.recent, e.hash)
	if len(m.recent) > m.window {
		m.recent = m.recent[1:]
	}
	m.history = append(m.history, e)
	m.seq, m.lastID = seq, e.id
}

// adopt is Slot.Adopt of a stored checkpoint whose window holds the hashes
// of stored (oldest first): on an empty slot the stored checkpoint becomes
// the newest; otherwise the slot's events are renumbered on top of it. The
// stored hashes go below the slot's own, each once, the newest W kept.
func (m *slotModel) adopt(stored []slotEvent, cp core.Checkpoint) {
	var merged []uint64
	for _, e := range stored {
		if !slices.Contains(m.recent, e.hash) {
			merged = append(merged, e.hash)
		}
	}
	m.recent = append(merged, m.recent...)
	m.recent = m.recent[max(len(m.recent)-m.window, 0):]
	if m.seq == 0 {
		m.seq, m.lastID = cp.Seq, cp.EventID
		return
	}
	m.seq += cp.Seq
}

// storedCheckpoint builds, from arg, a stored checkpoint to adopt: Seq arg
// (0 is none) and a window of up to 7 IDs of its own, with, when arg&8 is
// set, one of the slot's recent IDs among them (the upstream replayed it
// before Resume), or no window at all when arg&16 is set. It returns the
// checkpoint and the events its window names, oldest first.
func storedCheckpoint(m *slotModel, arg int) (core.Checkpoint, []slotEvent) {
	if arg == 0 {
		return core.Checkpoint{}, nil
	}
	var es []slotEvent
	for j := range arg%7 + 1 {
		id := "stored" + strconv.Itoa(arg) + "-" + strconv.Itoa(j)
		es = append(es, slotEvent{id: id, hash: xxhash.Sum64String(id)})
	}
	if arg&8 != 0 && len(m.history) > 0 {
		es[0] = m.back(1 + arg%len(m.history)) // may have left the window
		if slices.ContainsFunc(es[1:], func(e slotEvent) bool { return e.hash == es[0].hash }) {
			es = es[1:]
		}
	}
	last := es[len(es)-1]
	cp := core.Checkpoint{EventID: last.id, Seq: uint64(arg) + uint64(len(es))}
	if arg&16 != 0 {
		return cp, es[len(es)-1:]
	}
	hs := make([]uint64, len(es))
	for i, e := range es {
		hs[i] = e.hash
	}
	cp.Window = core.EncodeWindow(hs)
	return cp, es
}

// checkPersisted compares the window a checkpoint of s persists with the
// model's recent hashes, for every K up to the window.
func checkPersisted(t *testing.T, s *core.Slot, m *slotModel, op int) {
	t.Helper()
	s.Lock()
	defer s.Unlock()
	for k := 1; k <= m.window; k *= 2 {
		want := core.EncodeWindow(m.recent[max(len(m.recent)-k, 0):])
		if got := s.WindowLocked(k); got != want {
			t.Fatalf("op %d: WindowLocked(%d): got %v, want %v", op, k, got, want)
		}
	}
}

// back returns the event accepted d acceptances ago (1 = the newest).
func (m *slotModel) back(d int) slotEvent { return m.history[len(m.history)-d] }

// FuzzSlot decodes a window size, an optional resumed checkpoint and a
// sequence of two-byte operations, runs them on a Slot and on the model,
// and fails on the first difference in an answer, Last, Seq or Len.
//
// Operation (kind, arg), kind modulo 8:
//
//	0, 1  a fresh ID (real xxhash)
//	2     a fresh ID whose hash lands in bucket arg of every ring size
//	      (low bits fixed, high bits fresh): long chains across growth
//	3     replay of the ID accepted 1+arg%n acceptances ago
//	4     replay of the ID exactly W back (the oldest still in the window)
//	5     replay of the ID W+1 back (just evicted)
//	6     another ID with the hash of a recent one (a collision: duplicate)
//	7     Adopt (a Resume) of a stored checkpoint with a window of its own
//	      (see storedCheckpoint): only the first Adopt, on an unadopted
//	      slot, counts
func FuzzSlot(f *testing.F) {
	f.Add(uint8(0), uint16(0), []byte{0, 0, 4, 0, 5, 0, 4, 0})
	f.Add(uint8(7), uint16(9), []byte{2, 1, 2, 1, 2, 3, 3, 200, 4, 0, 5, 0, 6, 1})
	f.Fuzz(func(t *testing.T, windowLog uint8, resumeSeq uint16, ops []byte) {
		// Windows 1 to 1024; the ring starts at 4 and grows through each
		// power of two up to the window.
		w := 1 << (windowLog % 11)
		m := &slotModel{window: w}
		s, err := core.NewSlot(w, core.Checkpoint{EventID: "resumed", Seq: uint64(resumeSeq)})
		if err != nil {
			t.Fatalf("NewSlot(%d, resumed, %d): %v", w, resumeSeq, err)
		}
		if resumeSeq > 0 {
			m.accept(slotEvent{id: "resumed", hash: xxhash.Sum64String("resumed")}, uint64(resumeSeq))
		}
		adopted := resumeSeq > 0
		fresh := 0
		newID := func() string { fresh++; return "f" + strconv.Itoa(fresh) }
		for i := 0; i+1 < len(ops); i += 2 {
			kind, arg := ops[i]%8, int(ops[i+1])
			n := len(m.history)
			var e slotEvent
			switch {
			case kind == 7:
				stored, storedEvents := storedCheckpoint(m, arg)
				want := m.seq
				if !adopted && stored.Seq > 0 {
					m.adopt(storedEvents, stored)
					want = m.seq
				}
				adopted = true
				if got := s.Adopt(stored); got != want {
					t.Fatalf("op %d: Adopt(%+v): got seq %d, want %d", i/2, stored, got, want)
				}
				checkSlot(t, s, m, i/2)
				checkPersisted(t, s, m, i/2)
				continue
			case kind == 2:
				fresh++
				// Low 16 bits fixed: the same bucket for every ring size up
				// to the largest window.
				e = slotEvent{id: "c" + strconv.Itoa(fresh), hash: uint64(fresh)<<20 | uint64(arg)}
			case kind == 3 && n > 0:
				e = m.back(1 + arg%n)
			case kind == 4 && n >= w:
				e = m.back(w)
			case kind == 5 && n > w:
				e = m.back(w + 1)
			case kind == 6 && n > 0:
				old := m.back(1 + arg%min(n, w))
				e = slotEvent{id: "alias-" + old.id, hash: old.hash}
			default:
				id := newID()
				e = slotEvent{id: id, hash: xxhash.Sum64String(id)}
			}
			gotOK, gotSeq := s.Observe(e.id, e.hash)
			wantOK, wantSeq := m.observe(e)
			if gotOK != wantOK || gotSeq != wantSeq {
				t.Fatalf("op %d (kind %d, window %d): Observe(%q, %#x): got (%t, %d), want (%t, %d)",
					i/2, kind, w, e.id, e.hash, gotOK, gotSeq, wantOK, wantSeq)
			}
			checkSlot(t, s, m, i/2)
			if kind == 3 || kind == 4 {
				checkPersisted(t, s, m, i/2)
			}
		}
	})
}

func checkSlot(t *testing.T, s *core.Slot, m *slotModel, op int) {
	t.Helper()
	if id, seq := s.Last(); id != m.lastID || seq != m.seq {
		t.Fatalf("op %d: Last: got (%q, %d), want (%q, %d)", op, id, seq, m.lastID, m.seq)
	}
	if got, want := s.Len(), len(m.recent); got != want {
		t.Fatalf("op %d: Len: got %d, want %d", op, got, want)
	}
	if got := s.Window(); got != m.window {
		t.Fatalf("op %d: Window: got %d, want %d", op, got, m.window)
	}
}
