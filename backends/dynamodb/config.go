package dynamodb

import (
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Mode selects how Store writes checkpoints.
type Mode uint8

const (
	// Conditional (the default) writes each checkpoint with one UpdateItem
	// whose condition refuses a Seq not higher than the stored one, so no
	// writer, however many share the table, can move a checkpoint
	// backwards. A refused write is reported core.OutcomeStale.
	Conditional Mode = iota
	// Batch writes up to 25 checkpoints per BatchWriteItem. BatchWriteItem
	// takes no conditions: a batch write overwrites whatever is stored, so
	// this mode is safe only when each session has exactly one writer (one
	// tracker process owns it at a time). Another writer's newer checkpoint
	// can be overwritten by an older one. Every item is reported
	// core.OutcomeWritten; Batch never reports OutcomeStale.
	Batch
)

// String returns "conditional" or "batch", the names bench/loadgen takes.
func (m Mode) String() string {
	switch m {
	case Conditional:
		return "conditional"
	case Batch:
		return "batch"
	default:
		return fmt.Sprintf("Mode(%d)", uint8(m))
	}
}

// Defaults of Config.
const (
	// DefaultSessionAttribute is the partition key attribute (type S).
	DefaultSessionAttribute = "session"
	// DefaultEventIDAttribute holds the newest event ID (type S).
	DefaultEventIDAttribute = "event_id"
	// DefaultSeqAttribute holds the checkpoint's Seq (type N).
	DefaultSeqAttribute = "seq"
	// DefaultUpdatedAtAttribute holds the write time in unix milliseconds
	// (type N), for operators; the backend never reads it.
	DefaultUpdatedAtAttribute = "updated_at"
	// DefaultTTLAttribute holds the expiry in unix seconds (type N) when
	// Config.TTL is set; it is the attribute to enable DynamoDB TTL on.
	DefaultTTLAttribute = "expires_at"
	// DefaultWindowAttribute holds the checkpoint's core.Window (type B),
	// present only when the window is not empty. One letter: an attribute
	// name counts toward the item size, which every write pays for.
	DefaultWindowAttribute = "w"
	// DefaultMaxInFlight is the default number of requests in flight, which
	// is also the number of worker goroutines New starts. 32 keeps a
	// flusher's batch of 256 checkpoints to 8 round trips while staying far
	// below the SDK's default HTTP connection pool.
	DefaultMaxInFlight = 32
	// MaxMaxInFlight bounds Config.MaxInFlight.
	MaxMaxInFlight = 1024
	// DefaultRetryBaseDelay and DefaultRetryMaxDelay bound the exponential
	// backoff (full jitter) between retries of UnprocessedItems and
	// UnprocessedKeys. The base matches the SDK's DynamoDB base delay.
	DefaultRetryBaseDelay = 25 * time.Millisecond
	DefaultRetryMaxDelay  = time.Second
)

// Config configures a Backend. The zero value of every field except Table
// means its default.
type Config struct {
	// Table is the DynamoDB table name. Required.
	Table string

	// SessionAttribute names the partition key, a string (S). The table
	// must have it as its only key. Default "session".
	SessionAttribute string
	// EventIDAttribute names the event ID attribute (S). Default "event_id".
	EventIDAttribute string
	// SeqAttribute names the sequence number attribute (N). Default "seq".
	SeqAttribute string
	// UpdatedAtAttribute names the write-time attribute (N, unix ms).
	// Default "updated_at".
	UpdatedAtAttribute string
	// WindowAttribute names the attribute holding the checkpoint's window
	// (B: core.Window's bytes, 8 per hash), absent when the window is
	// empty. Default "w".
	WindowAttribute string

	// TTL, when positive, makes every write set TTLAttribute to the write
	// time plus TTL, in unix seconds, so DynamoDB's TTL deletes sessions
	// that have been idle that long (typically within a few days of
	// expiry). TTL must also be enabled on the table for that attribute;
	// see the README. Zero (the default) writes no expiry. At least 1s.
	TTL time.Duration
	// TTLAttribute names the expiry attribute (N, unix seconds). Used only
	// when TTL is positive. Default "expires_at".
	TTLAttribute string

	// MaxInFlight is the most requests this Backend has in flight at once,
	// over all concurrent Store and Load calls. New starts exactly this many
	// worker goroutines and Close stops them. Default 32, at most 1024.
	MaxInFlight int

	// Mode is Conditional (the default) or Batch; see Mode.
	Mode Mode

	// RetryBaseDelay and RetryMaxDelay bound the backoff between retries of
	// the items a BatchWriteItem left unprocessed and the keys a
	// BatchGetItem left unprocessed: attempt n waits a random duration in
	// [0, min(RetryMaxDelay, RetryBaseDelay*2^n)). Defaults 25ms and 1s.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// Metrics, if set, receives the backend's counters (calls by operation
	// and outcome, throttles, unprocessed items and keys, consumed capacity
	// units), all named lastevent_dynamodb_*. They are created in New, so a
	// Set must not be shared by two Backends with the same Table. Setting
	// it also makes every request ask for its consumed capacity. Default:
	// none.
	Metrics *metrics.Set

	// Now is the clock for UpdatedAtAttribute and TTLAttribute. Default
	// time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.SessionAttribute == "" {
		c.SessionAttribute = DefaultSessionAttribute
	}
	if c.EventIDAttribute == "" {
		c.EventIDAttribute = DefaultEventIDAttribute
	}
	if c.SeqAttribute == "" {
		c.SeqAttribute = DefaultSeqAttribute
	}
	if c.UpdatedAtAttribute == "" {
		c.UpdatedAtAttribute = DefaultUpdatedAtAttribute
	}
	if c.WindowAttribute == "" {
		c.WindowAttribute = DefaultWindowAttribute
	}
	if c.TTL > 0 && c.TTLAttribute == "" {
		c.TTLAttribute = DefaultTTLAttribute
	}
	if c.TTL == 0 {
		c.TTLAttribute = ""
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxDelay == 0 {
		c.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks a Config after defaults; the error names the field.
func (c Config) validate() error {
	switch {
	case c.Table == "":
		return fmt.Errorf("lastevent/dynamodb: Config.Table: required")
	case len(c.Table) < 3 || len(c.Table) > 255:
		return fmt.Errorf("lastevent/dynamodb: Config.Table %q: must be 3 to 255 characters", c.Table)
	case !validTableName(c.Table):
		return fmt.Errorf("lastevent/dynamodb: Config.Table %q: may hold only a-z, A-Z, 0-9, '_', '-' and '.'", c.Table)
	case c.TTL < 0 || (c.TTL > 0 && c.TTL < time.Second):
		return fmt.Errorf("lastevent/dynamodb: Config.TTL %v: must be zero or at least 1s", c.TTL)
	case c.MaxInFlight < 1 || c.MaxInFlight > MaxMaxInFlight:
		return fmt.Errorf("lastevent/dynamodb: Config.MaxInFlight %d: must be between 1 and %d", c.MaxInFlight, MaxMaxInFlight)
	case c.Mode != Conditional && c.Mode != Batch:
		return fmt.Errorf("lastevent/dynamodb: Config.Mode %v: must be Conditional or Batch", c.Mode)
	case c.RetryBaseDelay < 0:
		return fmt.Errorf("lastevent/dynamodb: Config.RetryBaseDelay %v: must not be negative", c.RetryBaseDelay)
	case c.RetryMaxDelay < c.RetryBaseDelay:
		return fmt.Errorf("lastevent/dynamodb: Config.RetryMaxDelay %v: must be at least RetryBaseDelay %v", c.RetryMaxDelay, c.RetryBaseDelay)
	}
	names := []struct{ field, name string }{
		{"SessionAttribute", c.SessionAttribute},
		{"EventIDAttribute", c.EventIDAttribute},
		{"SeqAttribute", c.SeqAttribute},
		{"UpdatedAtAttribute", c.UpdatedAtAttribute},
		{"WindowAttribute", c.WindowAttribute},
		{"TTLAttribute", c.TTLAttribute},
	}
	seen := make(map[string]string, len(names))
	for _, n := range names {
		if n.name == "" {
			continue // TTLAttribute without TTL
		}
		if len(n.name) > 255 {
			return fmt.Errorf("lastevent/dynamodb: Config.%s: %d bytes, limit 255", n.field, len(n.name))
		}
		if other, dup := seen[n.name]; dup {
			return fmt.Errorf("lastevent/dynamodb: Config.%s %q: same name as Config.%s", n.field, n.name, other)
		}
		seen[n.name] = n.field
	}
	return nil
}

// validTableName reports whether name uses only the characters DynamoDB
// allows in a table name.
func validTableName(name string) bool {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
