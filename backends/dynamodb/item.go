package dynamodb

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// schema is a Config's attribute names and the request fragments built from
// them once in New. Its maps are read-only after New and shared by every
// request: the SDK only reads input maps.
type schema struct {
	table, session, eventID, seq, updatedAt, window, ttlAttr string
	ttl                                                      time.Duration

	// names maps the placeholders of the update expressions and condition
	// to the configured attribute names; reserved words such as "session"
	// cannot appear in an expression by themselves. Both update expressions
	// use every name (DynamoDB refuses an unused one), so they share it.
	names map[string]string
	// setWindow writes a checkpoint with a window, dropWindow one without:
	// REMOVE in the same UpdateItem puts the removal under the same
	// condition as the Seq, so a stale checkpoint cannot drop the window of
	// a newer one, and a written one leaves no window that would not end
	// with its EventID.
	setWindow  string // SET #e = :e, #q = :q, #u = :u, #w = :w[, #x = :x]
	dropWindow string // SET #e = :e, #q = :q, #u = :u[, #x = :x] REMOVE #w
	condition  string // attribute_not_exists(#q) OR #q < :q

	// projection and projNames make reads fetch only the four attributes a
	// checkpoint needs.
	projection string
	projNames  map[string]string
}

func newSchema(c Config) *schema {
	s := &schema{
		table: c.Table, session: c.SessionAttribute, eventID: c.EventIDAttribute,
		seq: c.SeqAttribute, updatedAt: c.UpdatedAtAttribute, window: c.WindowAttribute,
		ttlAttr: c.TTLAttribute, ttl: c.TTL,
		names: map[string]string{
			"#e": c.EventIDAttribute,
			"#q": c.SeqAttribute,
			"#u": c.UpdatedAtAttribute,
			"#w": c.WindowAttribute,
		},
		condition:  "attribute_not_exists(#q) OR #q < :q",
		projection: "#k, #e, #q, #w",
		projNames: map[string]string{
			"#k": c.SessionAttribute,
			"#e": c.EventIDAttribute,
			"#q": c.SeqAttribute,
			"#w": c.WindowAttribute,
		},
	}
	const set = "SET #e = :e, #q = :q, #u = :u"
	ttl := ""
	if s.ttlAttr != "" {
		s.names["#x"] = s.ttlAttr
		ttl = ", #x = :x"
	}
	s.setWindow = set + ", #w = :w" + ttl
	s.dropWindow = set + ttl + " REMOVE #w"
	return s
}

// updateExpr returns the UpdateExpression that writes cp.
func (s *schema) updateExpr(cp core.Checkpoint) *string {
	if cp.Window == "" {
		return &s.dropWindow
	}
	return &s.setWindow
}

// key returns the primary key of session.
func (s *schema) key(session string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{s.session: &types.AttributeValueMemberS{Value: session}}
}

// updateValues returns the expression values of an UpdateItem writing cp
// at time now with updateExpr(cp). A window costs one copy of its bytes.
func (s *schema) updateValues(cp core.Checkpoint, now time.Time) map[string]types.AttributeValue {
	v := make(map[string]types.AttributeValue, 5)
	v[":e"] = &types.AttributeValueMemberS{Value: cp.EventID}
	v[":q"] = &types.AttributeValueMemberN{Value: strconv.FormatUint(cp.Seq, 10)}
	v[":u"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)}
	if cp.Window != "" {
		v[":w"] = &types.AttributeValueMemberB{Value: []byte(cp.Window)}
	}
	if s.ttlAttr != "" {
		v[":x"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(s.ttl).Unix(), 10)}
	}
	return v
}

// item returns the whole item of cp written at time now, as a batch write
// puts it. A put replaces the whole stored item, so leaving the window
// attribute out when cp has none removes a stored one. A window costs one
// copy of its bytes.
func (s *schema) item(cp core.Checkpoint, now time.Time) map[string]types.AttributeValue {
	it := make(map[string]types.AttributeValue, 6)
	it[s.session] = &types.AttributeValueMemberS{Value: cp.Session}
	it[s.eventID] = &types.AttributeValueMemberS{Value: cp.EventID}
	it[s.seq] = &types.AttributeValueMemberN{Value: strconv.FormatUint(cp.Seq, 10)}
	it[s.updatedAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)}
	if cp.Window != "" {
		it[s.window] = &types.AttributeValueMemberB{Value: []byte(cp.Window)}
	}
	if s.ttlAttr != "" {
		it[s.ttlAttr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(s.ttl).Unix(), 10)}
	}
	return it
}

// checkpoint decodes a stored item. An item without the session, event ID
// or seq attribute, or with one of the wrong type or a seq that is not a
// positive integer below 2^64, is an error: only another writer could have
// stored it. So is a window attribute that is not binary or whose bytes
// fail core.ParseWindow or core.Checkpoint.CheckWindow; that error wraps
// core.ErrInvalidWindow and names the session. A missing window attribute
// (or an empty one) is the empty window.
func (s *schema) checkpoint(it map[string]types.AttributeValue) (core.Checkpoint, error) {
	session, ok := it[s.session].(*types.AttributeValueMemberS)
	if !ok {
		return core.Checkpoint{}, fmt.Errorf("attribute %q: missing or not a string", s.session)
	}
	id, ok := it[s.eventID].(*types.AttributeValueMemberS)
	if !ok {
		return core.Checkpoint{}, fmt.Errorf("session %q: attribute %q: missing or not a string", session.Value, s.eventID)
	}
	n, ok := it[s.seq].(*types.AttributeValueMemberN)
	if !ok {
		return core.Checkpoint{}, fmt.Errorf("session %q: attribute %q: missing or not a number", session.Value, s.seq)
	}
	seq, err := strconv.ParseUint(n.Value, 10, 64)
	if err != nil || seq == 0 {
		return core.Checkpoint{}, fmt.Errorf("session %q: attribute %q: %q is not a positive 64-bit integer", session.Value, s.seq, n.Value)
	}
	cp := core.Checkpoint{Session: session.Value, EventID: id.Value, Seq: seq}
	switch w := it[s.window].(type) {
	case nil: // absent: written without a window, or before windows existed
	case *types.AttributeValueMemberB:
		if cp.Window, err = core.ParseWindow(w.Value); err != nil {
			return core.Checkpoint{}, fmt.Errorf("session %q: attribute %q: %w", cp.Session, s.window, err)
		}
		if err := cp.CheckWindow(); err != nil { // names the session
			return core.Checkpoint{}, fmt.Errorf("attribute %q: %w", s.window, err)
		}
	default:
		return core.Checkpoint{}, fmt.Errorf("session %q: attribute %q: %w: type %s, want B", cp.Session, s.window, core.ErrInvalidWindow, typeName(w))
	}
	return cp, nil
}

// typeName returns DynamoDB's name of v's type, for errors.
func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	}
	return fmt.Sprintf("%T", v)
}
