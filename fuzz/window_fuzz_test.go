package fuzz

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// FuzzWindow feeds arbitrary stored bytes, an event ID and a Seq to
// core.ParseWindow and Checkpoint.CheckWindow, the decoding every backend
// runs on a loaded checkpoint. Neither may panic; each accepts exactly what
// an independent oracle says is well-formed and belongs to the checkpoint,
// and refuses the rest with core.ErrInvalidWindow; an accepted window
// round-trips through EncodeWindow unchanged.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{}, "e", uint64(1))
	f.Add(binary.LittleEndian.AppendUint64(nil, xxhash.Sum64String("e")), "e", uint64(1))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 7), xxhash.Sum64String("x")), "x", uint64(1))
	f.Add([]byte("not a window"), "e", uint64(9))
	f.Fuzz(func(t *testing.T, b []byte, id string, seq uint64) {
		w, err := core.ParseWindow(b)
		hashes, wellFormed := oracleWindow(b)
		if (err == nil) != wellFormed {
			t.Fatalf("ParseWindow(% x): got %v, want well-formed=%t", b, err, wellFormed)
		}
		if err != nil {
			if !errors.Is(err, core.ErrInvalidWindow) || w != "" {
				t.Fatalf("ParseWindow(% x): got (%q, %v), want (\"\", ErrInvalidWindow)", b, w, err)
			}
			w = core.Window(b) // as a careless backend would pass it on
		} else if got := core.EncodeWindow(hashes); got != w || w.Len() != len(hashes) {
			t.Fatalf("ParseWindow(% x) = %v, want the encoding of %x", b, w, hashes)
		}
		cp := core.Checkpoint{Session: "s", EventID: id, Seq: seq, Window: w}
		belongs := len(b) == 0 || (wellFormed && uint64(len(hashes)) <= seq && hashes[len(hashes)-1] == xxhash.Sum64String(id))
		if err := cp.CheckWindow(); (err == nil) != belongs || (err != nil && !errors.Is(err, core.ErrInvalidWindow)) {
			t.Fatalf("CheckWindow(%q seq %d, % x): got %v, want belongs=%t", id, seq, b, err, belongs)
		}
	})
}

// oracleWindow decodes b as whole little-endian hashes and reports whether
// they form a window: at most core.MaxWindow, none twice.
func oracleWindow(b []byte) ([]uint64, bool) {
	if len(b)%8 != 0 || len(b)/8 > core.MaxWindow {
		return nil, false
	}
	seen := make(map[uint64]bool)
	var hs []uint64
	for i := 0; i < len(b); i += 8 {
		h := binary.LittleEndian.Uint64(b[i:])
		if seen[h] {
			return nil, false
		}
		seen[h] = true
		hs = append(hs, h)
	}
	return hs, true
}
