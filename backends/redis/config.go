package redis

import (
	"fmt"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Defaults and limits of Config.
const (
	// DefaultPrefix starts every key: "lastevent:" then the session, so the
	// checkpoints are easy to find (SCAN MATCH lastevent:*) and apart from
	// the gateway's own keys.
	DefaultPrefix = "lastevent:"
	// MaxPrefixBytes bounds Config.Prefix. The key is Prefix + session (up
	// to core.MaxSessionBytes), and Redis keeps every key in memory.
	MaxPrefixBytes = 256
	// MaxHashTagBytes bounds Config.HashTag.
	MaxHashTagBytes = 64
)

// Config configures a Backend. The zero value of every field means its
// default.
type Config struct {
	// Prefix starts every key this Backend reads and writes; the session
	// name follows it (see the package documentation for the layout). Two
	// Backends with different prefixes never see each other's sessions.
	// At most 256 bytes, without '{' or '}' (a hash tag is HashTag's job,
	// so that it is always the first one in the key). Default "lastevent:".
	Prefix string

	// HashTag, if set, is put between braces after Prefix in every key:
	// Prefix + "{" + HashTag + "}" + session. Redis Cluster then hashes
	// every key on HashTag alone, so all of this Backend's keys live in one
	// slot, and a flush batch is one pipeline to one node: one round trip.
	// The price is that one master holds and serves every checkpoint. Leave
	// it empty (the default) to spread sessions over the cluster; a batch
	// is then one pipeline per master it touches, sent concurrently by the
	// ClusterClient. It changes every key: set it before the first write.
	// At most 64 bytes, without '{' or '}'. Meaningless without Cluster.
	HashTag string

	// TTL, when positive, makes every write set the key to expire TTL
	// later (PEXPIRE), so Redis deletes the checkpoints of sessions idle
	// that long; a write without it (TTL zero) removes any expiry left by
	// an earlier configuration (PERSIST). A stale write changes nothing,
	// expiry included. Zero (the default) or at least 1s.
	TTL time.Duration

	// Metrics, if set, receives the backend's counters (round trips,
	// commands by name, checkpoints by outcome, script reloads, errors by
	// class), all named lastevent_redis_* with a prefix label. They are
	// created in New, so a Set must not be shared by two Backends with the
	// same Prefix. Default: a private Set, read by Stats.
	Metrics *metrics.Set

	// Now is the clock of the update time written with each checkpoint
	// (field u, unix milliseconds, for operators; the backend never reads
	// it). Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks a Config after defaults; the error names the field.
func (c Config) validate() error {
	switch {
	case len(c.Prefix) > MaxPrefixBytes:
		return fmt.Errorf("lastevent/redis: Config.Prefix: %d bytes, limit %d", len(c.Prefix), MaxPrefixBytes)
	case strings.ContainsAny(c.Prefix, "{}"):
		return fmt.Errorf("lastevent/redis: Config.Prefix %q: must not contain '{' or '}' (use Config.HashTag)", c.Prefix)
	case len(c.HashTag) > MaxHashTagBytes:
		return fmt.Errorf("lastevent/redis: Config.HashTag: %d bytes, limit %d", len(c.HashTag), MaxHashTagBytes)
	case strings.ContainsAny(c.HashTag, "{}"):
		return fmt.Errorf("lastevent/redis: Config.HashTag %q: must not contain '{' or '}'", c.HashTag)
	case c.TTL < 0 || (c.TTL > 0 && c.TTL < time.Second):
		return fmt.Errorf("lastevent/redis: Config.TTL %v: must be zero or at least 1s", c.TTL)
	}
	return nil
}

// keyPrefix is what every key starts with: Prefix, then the hash tag in
// braces if one is set.
func (c Config) keyPrefix() string {
	if c.HashTag == "" {
		return c.Prefix
	}
	return c.Prefix + "{" + c.HashTag + "}"
}
