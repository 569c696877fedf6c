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
	table, session, eventID, seq, updatedAt, ttlAttr string
	ttl                                              time.Duration

	// names maps the placeholders of updateExpr and condition to the
	// configured attribute names; reserved words such as "session" cannot
	// appear in an expression by themselves.
	names      map[string]string
	updateExpr string // SET #e = :e, #q = :q, #u = :u[, #x = :x]
	condition  string // attribute_not_exists(#q) OR #q < :q

	// projection and projNames make reads fetch only the three attributes a
	// checkpoint needs.
	projection string
	projNames  map[string]string
}

func newSchema(c Config) *schema {
	s := &schema{
		table: c.Table, session: c.SessionAttribute, eventID: c.EventIDAttribute,
		seq: c.SeqAttribute, updatedAt: c.UpdatedAtAttribute, ttlAttr: c.TTLAttribute, ttl: c.TTL,
		names: map[string]string{
			"#e": c.EventIDAttribute,
			"#q": c.SeqAttribute,
			"#u": c.UpdatedAtAttribute,
		},
		updateExpr: "SET #e = :e, #q = :q, #u = :u",
		condition:  "attribute_not_exists(#q) OR #q < :q",
		projection: "#k, #e, #q",
		projNames: map[string]string{
			"#k": c.SessionAttribute,
			"#e": c.EventIDAttribute,
			"#q": c.SeqAttribute,
		},
	}
	if s.ttlAttr != "" {
		s.names["#x"] = s.ttlAttr
		s.updateExpr += ", #x = :x"
	}
	return s
}

// key returns the primary key of session.
func (s *schema) key(session string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{s.session: &types.AttributeValueMemberS{Value: session}}
}

// updateValues returns the expression values of an UpdateItem writing cp
// at time now.
func (s *schema) updateValues(cp core.Checkpoint, now time.Time) map[string]types.AttributeValue {
	v := make(map[string]types.AttributeValue, 4)
	v[":e"] = &types.AttributeValueMemberS{Value: cp.EventID}
	v[":q"] = &types.AttributeValueMemberN{Value: strconv.FormatUint(cp.Seq, 10)}
	v[":u"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)}
	if s.ttlAttr != "" {
		v[":x"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(s.ttl).Unix(), 10)}
	}
	return v
}

// item returns the whole item of cp written at time now, as a batch write
// puts it.
func (s *schema) item(cp core.Checkpoint, now time.Time) map[string]types.AttributeValue {
	it := make(map[string]types.AttributeValue, 5)
	it[s.session] = &types.AttributeValueMemberS{Value: cp.Session}
	it[s.eventID] = &types.AttributeValueMemberS{Value: cp.EventID}
	it[s.seq] = &types.AttributeValueMemberN{Value: strconv.FormatUint(cp.Seq, 10)}
	it[s.updatedAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)}
	if s.ttlAttr != "" {
		it[s.ttlAttr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(s.ttl).Unix(), 10)}
	}
	return it
}

// checkpoint decodes a stored item. An item without the session, event ID
// or seq attribute, or with one of the wrong type or a seq that is not a
// positive integer below 2^64, is an error: only another writer could have
// stored it.
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
	return core.Checkpoint{Session: session.Value, EventID: id.Value, Seq: seq}, nil
}
