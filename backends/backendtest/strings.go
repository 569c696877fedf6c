package backendtest

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// atLimit returns a valid string of exactly n bytes made of rune r, padded
// with ASCII when r's width does not divide n.
func atLimit(r rune, n int) string {
	s := strings.Repeat(string(r), n/utf8.RuneLen(r))
	return s + strings.Repeat("x", n-len(s))
}

// randomValidUTF8 returns a non-empty string of at most maxBytes bytes of
// random runes from every plane: ASCII and 2-, 3- and 4-byte runes, never
// NUL, CR or LF (which core refuses in event IDs) nor a surrogate (which is
// not valid UTF-8).
func randomValidUTF8(rng *rand.Rand, maxBytes int) string {
	var b strings.Builder
	for {
		var r rune
		switch rng.IntN(4) {
		case 0:
			r = rune(0x20 + rng.IntN(0x5f)) // printable ASCII
		case 1:
			r = rune(0x80 + rng.IntN(0x780)) // 2 bytes
		case 2:
			r = rune(0x800 + rng.IntN(0xf800)) // 3 bytes
		default:
			r = rune(0x10000 + rng.IntN(0x100000)) // 4 bytes, astral planes
		}
		if !utf8.ValidRune(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxBytes {
			if b.Len() == 0 {
				continue // a wide rune did not fit; try another
			}
			return b.String()
		}
		b.WriteRune(r)
	}
}
