package dynamodb

import (
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// FuzzItemRoundTrip checks that every checkpoint a tracker can produce
// encodes to an item (as a batch put and as an UpdateItem's values) that
// decodes to exactly the same checkpoint, with the configured attribute
// names and the expiry derived from the clock.
func FuzzItemRoundTrip(f *testing.F) {
	f.Add("session-1", "42", uint64(1), int64(1_700_000_000_000), "", int64(0))
	f.Add("s", "e", uint64(1<<64-1), int64(0), "sid", int64(3600))
	f.Add("漢字 session", "😀 id \"quoted\" \\", uint64(7), int64(-1), "pk", int64(86400*365))
	f.Fuzz(func(t *testing.T, session, eventID string, seq uint64, nowMs int64, sessionAttr string, ttlSeconds int64) {
		cp := core.Checkpoint{Session: session, EventID: eventID, Seq: seq}
		if core.ValidateSession(session) != nil || core.ValidateEventID(eventID, 1<<20) != nil || seq == 0 {
			return // not a checkpoint any tracker stores
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
			wantAttrs = 5
			exp := it[cfg.TTLAttribute].(*types.AttributeValueMemberN).Value
			if want := now.Add(cfg.TTL).Unix(); exp != strconv.FormatInt(want, 10) {
				t.Fatalf("expiry: got %s, want %d", exp, want)
			}
		}
		if len(it) != wantAttrs {
			t.Fatalf("item has %d attributes, want %d: %v", len(it), wantAttrs, it)
		}

		// UpdateItem sets the same attributes through placeholders: apply
		// them as the server would and decode the result.
		applied := s.key(cp.Session)
		vals := s.updateValues(cp, now)
		for ph, name := range s.names {
			applied[name] = vals[":"+ph[1:]]
		}
		got, err = s.checkpoint(applied)
		if err != nil || got != cp {
			t.Fatalf("update round trip of %+v: got (%+v, %v)", cp, got, err)
		}
		for name, v := range it {
			if a, ok := applied[name]; !ok || !sameValue(a, v) {
				t.Fatalf("attribute %q: UpdateItem sets %#v, batch put %#v", name, applied[name], v)
			}
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
	}
	return false
}
