package dynamodb_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

// atLimit returns a valid string of exactly n bytes made of rune r,
// padded with ASCII when r's width does not divide n.
func atLimit(r rune, n int) string {
	w := utf8.RuneLen(r)
	s := strings.Repeat(string(r), n/w)
	return s + strings.Repeat("x", n-len(s))
}

// randomValidUTF8 returns a string of random runes from every plane DynamoDB
// accepts (no NUL, CR or LF, which core refuses for event IDs, and no
// surrogates, which are not valid UTF-8) of at most maxBytes bytes.
func randomValidUTF8(rng *rand.Rand, maxBytes int) string {
	var b strings.Builder
	for {
		var r rune
		switch rng.IntN(4) {
		case 0:
			r = rune(0x20 + rng.IntN(0x5f)) // printable ASCII
		case 1:
			r = rune(0x80 + rng.IntN(0x780)) // 2-byte
		case 2:
			r = rune(0x800 + rng.IntN(0xf800)) // 3-byte
		default:
			r = rune(0x10000 + rng.IntN(0x100000)) // 4-byte, astral planes
		}
		if !utf8.ValidRune(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxBytes {
			return b.String()
		}
		b.WriteRune(r)
	}
}

func TestSizeLimitsAndUTF8RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var batch []core.Checkpoint
	add := func(session, id string) {
		if err := core.ValidateSession(session); err != nil {
			t.Fatalf("test session %q invalid: %v", session, err)
		}
		if err := core.ValidateEventID(id, core.DefaultMaxEventIDBytes); err != nil {
			t.Fatalf("test event ID %q invalid: %v", id, err)
		}
		batch = append(batch, cp(session, id, uint64(len(batch)+1)))
	}
	// Both at their limits, in 1-, 2-, 3- and 4-byte runes.
	for _, r := range []rune{'s', 'é', '漢', '😀'} {
		add(atLimit(r, core.MaxSessionBytes), atLimit(r, core.DefaultMaxEventIDBytes))
	}
	// Characters a naive encoder mangles: quotes, backslashes, JSON and
	// expression syntax, combining marks, zero-width joiners, BOM, RTL.
	add(`"quoted" \back\slash {json:[1]} #q :q`, `id with "quotes" and \ and tab	end`)
	add("e\u0301 combining, 👩\u200d💻 zwj, \ufeff bom", "\u202eright-to-left\u202c, \u00a0nbsp, \U0010fffd")
	add(" ", " ") // a single space is a valid, non-empty name
	for range 16 {
		add(randomValidUTF8(rng, 1+rng.IntN(core.MaxSessionBytes)), randomValidUTF8(rng, 1+rng.IntN(core.DefaultMaxEventIDBytes)))
	}
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client, b, cfg := setup(t, lastdynamo.Config{Mode: mode})
			ctx := ctxT(t)
			mustStored(t, batch, store(ctx, b, batch...))
			names := make([]string, len(batch))
			for i, c := range batch {
				names[i] = c.Session
			}
			got, err := b.Load(ctx, names)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			raw := scanTable(t, client, cfg.Table)
			for _, c := range batch {
				if got[c.Session] != c {
					t.Errorf("Load of a %d-byte session: got %q, want %q", len(c.Session), got[c.Session].EventID, c.EventID)
				}
				if raw[c.Session] != c {
					t.Errorf("table item of a %d-byte session: got %+v, want exactly what was stored", len(c.Session), raw[c.Session])
				}
				one, err := b.Load(ctx, []string{c.Session}) // the GetItem path
				if err != nil || one[c.Session] != c {
					t.Errorf("Load of one %d-byte session: got (%v, %v), want it exactly", len(c.Session), one[c.Session], err)
				}
			}
		})
	}
}
