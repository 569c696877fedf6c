package testmodel

import (
	"slices"
	"testing"
)

// TestMemorySeqs pins the Seq a model allows for an in-memory entry: the
// full Seq with nothing stored before it or once adopted, the provisional
// one before adoption, either while adoption may be under way.
func TestMemorySeqs(t *testing.T) {
	for _, tc := range []struct {
		seq, base uint64
		a         Adoption
		want      []uint64
	}{
		{seq: 3, base: 0, a: AdoptNo, want: []uint64{3}},
		{seq: 7, base: 5, a: AdoptYes, want: []uint64{7}},
		{seq: 7, base: 5, a: AdoptNo, want: []uint64{2}},
		{seq: 7, base: 5, a: AdoptMaybe, want: []uint64{7, 2}},
	} {
		if got := MemorySeqs(tc.seq, tc.base, tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("MemorySeqs(%d, %d, %d): got %v, want %v", tc.seq, tc.base, tc.a, got, tc.want)
		}
	}
}
