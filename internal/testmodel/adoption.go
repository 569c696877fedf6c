package testmodel

// Adoption is what a model knows of whether a tracker has joined a
// session's in-memory entry to the session's stored history: by Resume, or
// by the Load before the entry's first write (shard's adoption). Until then
// an entry created by Observe numbers its events from 1 (provisional Seq);
// afterwards on top of the stored checkpoint.
type Adoption uint8

const (
	// AdoptNo: the entry has not adopted the stored history.
	AdoptNo Adoption = iota
	// AdoptMaybe: a flusher may have adopted it in the background (a retry
	// or a tick), or not yet.
	AdoptMaybe
	// AdoptYes: the entry numbers on top of the stored history.
	AdoptYes
)

// MemorySeqs is the Seq a tracker may report for an in-memory session
// whose full history has Seq seq, of which base were stored before its
// entry was created (0 if none): seq once adopted, the provisional seq-base
// before, either while adoption may be under way.
func MemorySeqs(seq, base uint64, a Adoption) []uint64 {
	switch {
	case base == 0 || a == AdoptYes:
		return []uint64{seq}
	case a == AdoptNo:
		return []uint64{seq - base}
	default:
		return []uint64{seq, seq - base}
	}
}
