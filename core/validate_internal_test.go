package core

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceFirstInvalid is the obvious byte-at-a-time definition that the
// word-at-a-time firstInvalid must match exactly.
func referenceFirstInvalid(s string, forbidNewline bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 || (forbidNewline && (c == '\r' || c == '\n')) {
			return i
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// TestFirstInvalidMatchesReference puts every kind of bad or multi-byte
// sequence at every offset of strings of every length around the 8-byte word
// size, including the overlapping last word, and compares offsets.
func TestFirstInvalidMatchesReference(t *testing.T) {
	inserts := []string{"\x00", "\r", "\n", "\x80", "\xff", "\xc3", "é", "€", "😀", "\xe2\x82", "\x7f", "a"}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos <= n; pos++ {
			for _, ins := range inserts {
				s := strings.Repeat("7", pos) + ins + strings.Repeat("x", n-pos)
				for _, nl := range []bool{true, false} {
					if got, want := firstInvalid(s, nl), referenceFirstInvalid(s, nl); got != want {
						t.Fatalf("firstInvalid(%q, %v): got %d, want %d", s, nl, got, want)
					}
				}
			}
		}
	}
}
