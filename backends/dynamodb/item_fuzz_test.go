package dynamodb

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// fuzzWindow returns a valid window of n hashes (n <= seq) for eventID:
// n-1 distinct hashes that are never eventID's (eventID's hash XOR an odd
// multiple of a nonzero index, a bijection), then eventID's.
func fuzzWindow(eventID string, n int) core.Window {
	if n == 0 {
		return ""
	}
	newest := xxhash.Sum64String(eventID)
	hs := make([]uint64, 0, n)
	for i := range n - 1 {
		hs = append(hs, newest^uint64(i+1)*0x9e3779b97f4a7c15)
	}
	return core.EncodeWindow(append(hs, newest))
}

// applyUpdate returns the item an UpdateItem with expr, names and vals
// leaves when it starts from stored: it carries out the SET assignments
// ("#a = :a") and REMOVE names this package writes, as the server would,
// so the test sees exactly what each placeholder reaches.
func applyUpdate(t *testing.T, stored map[string]types.AttributeValue, expr string, names map[string]string, vals map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out := make(map[string]types.AttributeValue, len(stored)+len(vals))
	for k, v := range stored {
		out[k] = v
	}
	set, remove, _ := strings.Cut(expr, " REMOVE ")
	set, ok := strings.CutPrefix(set, "SET ")
	if !ok {
		t.Fatalf("update expression %q: want SET first", expr)
	}
	for _, a := range strings.Split(set, ", ") {
		ph, val, ok := strings.Cut(a, " = ")
		if !ok || names[ph] == "" || vals[val] == nil {
			t.Fatalf("update expression %q: assignment %q names no attribute or value", expr, a)
		}
		out[names[ph]] = vals[val]
	}
	if remove != "" {
		for _, ph := range strings.Split(remove, ", ") {
			if names[ph] == "" {
				t.Fatalf("update expression %q: REMOVE %q names no attribute", expr, ph)
			}
			delete(out, names[ph])
		}
	}
	return out
}

// FuzzItemRoundTrip checks that every checkpoint a tracker can produce,
// with a window of windowLen hashes (at most Seq and core.MaxWindow),
// encodes to an item (as a batch put and as an UpdateItem applied to an
// item that already holds another window) that decodes to exactly the same
// checkpoint, with the configured attribute names and the expiry derived
// from the clock: the window attribute present exactly when the window is
// not empty.
func FuzzItemRoundTrip(f *testing.F) {
	f.Add("session-1", "42", uint64(1), int64(1_700_000_000_000), "", int64(0), uint16(1))
	f.Add("s", "e", uint64(1<<64-1), int64(0), "sid", int64(3600), uint16(32))
	f.Add("漢字 session", "😀 id \"quoted\" \\", uint64(7), int64(-1), "pk", int64(86400*365), uint16(0))
	f.Add("big", "id", uint64(1<<40), int64(0), "", int64(0), uint16(1<<16-1)) // capped at core.MaxWindow
	f.Fuzz(func(t *testing.T, session, eventID string, seq uint64, nowMs int64, sessionAttr string, ttlSeconds int64, windowLen uint16) {
		if core.ValidateSession(session) != nil || core.ValidateEventID(eventID, 1<<20) != nil || seq == 0 {
			return // not a checkpoint any tracker stores
		}
		n := int(min(uint64(windowLen), seq, core.MaxWindow))
		cp := core.Checkpoint{Session: session, EventID: eventID, Seq: seq, Window: fuzzWindow(eventID, n)}
		if err := cp.CheckWindow(); err != nil {
			t.Fatalf("test window: %v", err)
		}
		cfg := Config{Table: "fuzz", SessionAttribute: sessionAttr}
		if ttlSeconds > 0 && ttlSeconds < 1<<32 {
			cfg.TTL = time.Duration(ttlSeconds) * time.Second
		}
		cfg = cfg.withDefaults()
		if cfg.validate() != nil || !utf8.ValidString(sessionAttr) {
			return
		}
		s := newSchema(cfg)
		now := time.UnixMilli(nowMs)

		it := s.item(cp, now)
		got, err := s.checkpoint(it)
		if err != nil || got != cp {
			t.Fatalf("item round trip of %+v: got (%+v, %v)", cp, got, err)
		}
		wantAttrs := 4
		if cfg.TTL > 0 {
			wantAttrs++
			exp := it[cfg.TTLAttribute].(*types.AttributeValueMemberN).Value
			if want := now.Add(cfg.TTL).Unix(); exp != strconv.FormatInt(want, 10) {
				t.Fatalf("expiry: got %s, want %d", exp, want)
			}
		}
		if n > 0 {
			wantAttrs++
			if w, ok := it[cfg.WindowAttribute].(*types.AttributeValueMemberB); !ok || len(w.Value) != 8*n {
				t.Fatalf("window attribute: got %#v, want B of %d bytes", it[cfg.WindowAttribute], 8*n)
			}
		}
		if len(it) != wantAttrs {
			t.Fatalf("item has %d attributes, want %d: %v", len(it), wantAttrs, it)
		}

		// UpdateItem sets the same attributes through placeholders, over an
		// item that holds an older checkpoint with another window: apply it
		// as the server would and decode the result.
		older := s.item(core.Checkpoint{Session: session, EventID: "older", Seq: 1, Window: fuzzWindow("older", 1)}, now)
		applied := applyUpdate(t, older, *s.updateExpr(cp), s.names, s.updateValues(cp, now))
		got, err = s.checkpoint(applied)
		if err != nil || got != cp {
			t.Fatalf("update round trip of %+v: got (%+v, %v)", cp, got, err)
		}
		if len(applied) != len(it) {
			t.Fatalf("UpdateItem leaves %d attributes (%v), batch put %d (%v)", len(applied), applied, len(it), it)
		}
		for name, v := range it {
			if a, ok := applied[name]; !ok || !sameValue(a, v) {
				t.Fatalf("attribute %q: UpdateItem sets %#v, batch put %#v", name, applied[name], v)
			}
		}
	})
}

// FuzzItemDecode feeds checkpoint arbitrary items, as a foreign writer or a
// corrupted table could store them, each attribute of any type or absent:
// it never panics; an item refused only for its window attribute is an
// error wrapping core.ErrInvalidWindow; and an accepted item is a
// checkpoint the backend could have written (its window, the stored bytes,
// passes CheckWindow) that encodes back to the same value.
func FuzzItemDecode(f *testing.F) {
	good := []byte(fuzzWindow("e", 3))
	f.Add("s", uint8(0), "e", uint8(0), "5", uint8(1), []byte(good), uint8(2))
	f.Add("s", uint8(0), "e", uint8(0), "5", uint8(1), good[1:], uint8(2))
	f.Add("s", uint8(0), "e", uint8(0), "2", uint8(1), good, uint8(2))
	f.Add("s", uint8(0), "e", uint8(0), "5", uint8(1), good, uint8(0))
	f.Add("s", uint8(0), "e", uint8(0), "5", uint8(1), []byte(nil), uint8(5))
	f.Add("s", uint8(1), "e", uint8(2), "1.5", uint8(1), []byte{}, uint8(4))
	f.Fuzz(func(t *testing.T, session string, sessionType uint8, eventID string, eventIDType uint8, seq string, seqType uint8, window []byte, windowType uint8) {
		s := newSchema(Config{Table: "fuzz"}.withDefaults())
		// as returns v as an attribute of the type kind picks, or nil for
		// an absent attribute.
		as := func(kind uint8, v string, b []byte) types.AttributeValue {
			switch kind % 6 {
			case 0:
				return &types.AttributeValueMemberS{Value: v}
			case 1:
				return &types.AttributeValueMemberN{Value: v}
			case 2:
				return &types.AttributeValueMemberB{Value: b}
			case 3:
				return &types.AttributeValueMemberBS{Value: [][]byte{b}}
			case 4:
				return &types.AttributeValueMemberNULL{Value: true}
			default:
				return nil
			}
		}
		it := map[string]types.AttributeValue{}
		for name, v := range map[string]types.AttributeValue{
			s.session: as(sessionType, session, []byte(session)),
			s.eventID: as(eventIDType, eventID, []byte(eventID)),
			s.seq:     as(seqType, seq, []byte(seq)),
		} {
			if v != nil {
				it[name] = v
			}
		}
		base, baseErr := s.checkpoint(it) // the same item without a window
		if w := as(windowType, string(window), window); w != nil {
			it[s.window] = w
		}
		cp, err := s.checkpoint(it)
		switch {
		case baseErr != nil && err == nil:
			t.Fatalf("accepted %+v from an item refused without its window (%v)", cp, baseErr)
		case baseErr != nil:
			return
		case err != nil && !errors.Is(err, core.ErrInvalidWindow):
			t.Fatalf("item refused for its window attribute (%s): got %v, want an error wrapping ErrInvalidWindow", typeName(it[s.window]), err)
		case err != nil:
			return
		}
		if cp.Seq == 0 || cp.CheckWindow() != nil {
			t.Fatalf("accepted %+v: seq 0 or a window failing CheckWindow (%v)", cp, cp.CheckWindow())
		}
		base.Window = cp.Window
		if cp != base {
			t.Fatalf("the window attribute changed the rest of the checkpoint: got %+v, want %+v", cp, base)
		}
		if w, ok := it[s.window].(*types.AttributeValueMemberB); (ok && string(cp.Window) != string(w.Value)) || (!ok && cp.Window != "") {
			t.Fatalf("accepted window %v from attribute %#v", cp.Window, it[s.window])
		}
		again, err := s.checkpoint(s.item(cp, time.Unix(0, 0)))
		if err != nil || again != cp {
			t.Fatalf("re-encoding %+v: got (%+v, %v)", cp, again, err)
		}
	})
}

func sameValue(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && string(x.Value) == string(y.Value)
	}
	return false
}
