package dynamodb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// The UpdateItem of a checkpoint with a window SETs it, and of one without
// REMOVEs it, in the one expression the condition guards; every name
// placeholder appears in both (DynamoDB refuses an unused one), and :w is
// a value only when it is used.
func TestUpdateExpressionsCarryTheWindow(t *testing.T) {
	for _, tc := range []struct {
		ttl            time.Duration
		set, drop      string
		valsSet, valsD int
	}{
		{0, "SET #e = :e, #q = :q, #u = :u, #w = :w", "SET #e = :e, #q = :q, #u = :u REMOVE #w", 4, 3},
		{time.Hour, "SET #e = :e, #q = :q, #u = :u, #w = :w, #x = :x", "SET #e = :e, #q = :q, #u = :u, #x = :x REMOVE #w", 5, 4},
	} {
		s := newSchema(Config{Table: "tbl", TTL: tc.ttl}.withDefaults())
		with := core.Checkpoint{Session: "s", EventID: "e", Seq: 1, Window: fuzzWindow("e", 1)}
		without := core.Checkpoint{Session: "s", EventID: "e", Seq: 1}
		if got := *s.updateExpr(with); got != tc.set {
			t.Errorf("TTL %v, with a window: got %q, want %q", tc.ttl, got, tc.set)
		}
		if got := *s.updateExpr(without); got != tc.drop {
			t.Errorf("TTL %v, without a window: got %q, want %q", tc.ttl, got, tc.drop)
		}
		for ph := range s.names {
			if !strings.Contains(tc.set, ph) || !strings.Contains(tc.drop, ph) {
				t.Errorf("TTL %v: name placeholder %s unused in one of the expressions", tc.ttl, ph)
			}
		}
		now := time.Unix(0, 0)
		if got := len(s.updateValues(with, now)); got != tc.valsSet {
			t.Errorf("TTL %v, with a window: %d values, want %d", tc.ttl, got, tc.valsSet)
		}
		if _, ok := s.updateValues(without, now)[":w"]; ok || len(s.updateValues(without, now)) != tc.valsD {
			t.Errorf("TTL %v, without a window: values %v, want %d and no :w", tc.ttl, s.updateValues(without, now), tc.valsD)
		}
	}
}

// A stored window that is not B, is not whole distinct hashes, or is not
// the checkpoint's is an error wrapping core.ErrInvalidWindow that names
// the session and the attribute; an absent or empty one is no window.
func TestCheckpointDecodesWindow(t *testing.T) {
	s := newSchema(Config{Table: "tbl", WindowAttribute: "recent"}.withDefaults())
	w := []byte(fuzzWindow("e", 3)) // for event "e"
	item := func(seq string, v types.AttributeValue) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{
			"session":  &types.AttributeValueMemberS{Value: "sess-1"},
			"event_id": &types.AttributeValueMemberS{Value: "e"},
			"seq":      &types.AttributeValueMemberN{Value: seq},
		}
		if v != nil {
			it["recent"] = v
		}
		return it
	}
	for _, tc := range []struct {
		name string
		it   map[string]types.AttributeValue
	}{
		{"S", item("5", &types.AttributeValueMemberS{Value: string(w)})},
		{"NULL", item("5", &types.AttributeValueMemberNULL{Value: true})},
		{"torn", item("5", &types.AttributeValueMemberB{Value: w[:20]})},
		{"repeated", item("5", &types.AttributeValueMemberB{Value: append(append([]byte(nil), w[16:]...), w[16:]...)})},
		{"not EventID's", item("5", &types.AttributeValueMemberB{Value: w[:16]})},
		{"more than Seq", item("2", &types.AttributeValueMemberB{Value: w})},
	} {
		cp, err := s.checkpoint(tc.it)
		if !errors.Is(err, core.ErrInvalidWindow) || !strings.Contains(err.Error(), `"sess-1"`) || !strings.Contains(err.Error(), `"recent"`) {
			t.Errorf("%s window: got (%+v, %v), want an error wrapping ErrInvalidWindow naming session and attribute", tc.name, cp, err)
		}
	}
	for _, tc := range []struct {
		name string
		it   map[string]types.AttributeValue
		want core.Window
	}{
		{"absent", item("5", nil), ""},
		{"empty", item("5", &types.AttributeValueMemberB{Value: []byte{}}), ""},
		{"valid", item("5", &types.AttributeValueMemberB{Value: w}), core.Window(w)},
	} {
		cp, err := s.checkpoint(tc.it)
		if err != nil || cp.Window != tc.want || cp.Seq != 5 {
			t.Errorf("%s window: got (%+v, %v), want seq 5 with window %v", tc.name, cp, err, tc.want)
		}
	}
}
