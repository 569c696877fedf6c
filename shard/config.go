package shard

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/lastevent/lastevent/core"
)

const (
	// DefaultFlushInterval is how often each shard writes its dirty sessions.
	DefaultFlushInterval = 100 * time.Millisecond
	// DefaultMaxBatch is the most checkpoints in one Backend.Store call; a
	// shard with this many newly dirty sessions flushes before its next tick.
	DefaultMaxBatch = 256
	// MaxShards bounds Config.Shards; each shard owns one goroutine.
	MaxShards = 1024
	// DefaultRetryBaseDelay is the first retry delay's cap after a failed
	// write; each further failure doubles it, up to RetryMaxDelay.
	DefaultRetryBaseDelay = 100 * time.Millisecond
	// DefaultRetryMaxDelay caps the retry delay, and is the delay of every
	// retry after a permanent failure.
	DefaultRetryMaxDelay = 30 * time.Second
	// DefaultBreakerThreshold is how many backend calls of one shard must
	// fail in a row to open its circuit breaker.
	DefaultBreakerThreshold = 5
	// PersistWindowOff is the Config.PersistWindow that turns persisting the
	// recent window off (0 means the default, like every zero field).
	PersistWindowOff = -1
	// DefaultBreakerResetTimeout is how long an open breaker waits before it
	// lets one probe call through.
	DefaultBreakerResetTimeout = 5 * time.Second
)

// Config tunes a Tracker. The zero value means defaults for every field.
type Config struct {
	// Shards is the number of shards, a power of two up to MaxShards. Each
	// shard owns its sessions and one flusher goroutine. Default: the
	// smallest power of two >= 4*GOMAXPROCS, at most 256.
	Shards int
	// Window is the dedup window per session: the number of most recent
	// accepted event IDs a replay is detected against. A power of two from 1
	// to core.MaxWindow (32768). Default core.DefaultWindow (128).
	Window int
	// PersistWindow is how many of a session's most recent accepted IDs
	// every written checkpoint carries (core.Checkpoint.Window, 8 bytes
	// each). A session resumed from the backend — after a restart, a crash,
	// an eviction, or on another process — drops a replay of any of them, so
	// an upstream's overlap after a reconnect reaches no client twice and
	// Last-Event-ID never moves back. It costs 8·PersistWindow bytes per
	// written checkpoint and nothing per event. At most Window. Default
	// core.DefaultPersistWindow (32), or Window if smaller; a negative value
	// (PersistWindowOff) turns it off: checkpoints are written without
	// one, and a session resumed from such a checkpoint knows only the
	// stored ID. A window stored earlier (by a tracker with it on) is still
	// restored until a write without one replaces it.
	PersistWindow int
	// FlushInterval is how often a shard writes the newest checkpoint of each
	// dirty session. It is the recovery point: a crash loses at most the
	// checkpoints accepted in the last FlushInterval plus the backend's write
	// latency. Default 100ms; at least 1ms.
	FlushInterval time.Duration
	// MaxBatch is the most checkpoints per Backend.Store call. A shard whose
	// count of newly dirty sessions reaches it flushes before its next tick,
	// writing only sessions not yet written since the last tick (the others
	// wait for the tick), so each session is still written at most once per
	// FlushInterval apart from Flush and Close. Default 256.
	MaxBatch int
	// MaxEventIDBytes is the longest event ID accepted, in bytes.
	// Default core.DefaultMaxEventIDBytes (1024).
	MaxEventIDBytes int
	// StoreTimeout bounds each Backend.Store call made by a flusher.
	// Default 10s.
	StoreTimeout time.Duration
	// OnError, if set, is called from a flusher goroutine for every
	// checkpoint a backend failed to store. It must not block for long: the
	// shard's flushing waits for it. Default: none (failures still go to
	// Logger).
	OnError func(WriteFailure)
	// Logger receives lifecycle and failure logs. Failure lines are
	// rate-limited per shard. Default slog.Default().
	Logger *slog.Logger

	// RetryBaseDelay and RetryMaxDelay shape the retries of a session whose
	// write failed: attempt n waits a random time in (0, min(RetryMaxDelay,
	// RetryBaseDelay*2^(n-1))] (exponential backoff with full jitter), and
	// every retry after a permanent failure waits RetryMaxDelay. A retry
	// writes the session's newest checkpoint, never the one that failed.
	// Defaults 100ms and 30s.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// BreakerThreshold is the number of consecutive failed backend calls
	// (a Store in which nothing was stored, or a failed Load) after which a
	// shard's circuit breaker opens. While open, the shard makes no backend
	// call until BreakerResetTimeout has passed; then one probe call goes
	// through, and its success closes the breaker. Observe is unaffected.
	// Defaults 5 and 5s; a negative BreakerThreshold disables the breaker.
	BreakerThreshold    int
	BreakerResetTimeout time.Duration
	// OnBreakerChange, if set, is called when a shard's breaker changes
	// state (closed, open, half-open). It must not block.
	OnBreakerChange func(BreakerChange)

	// MaxSessions bounds the sessions held in memory (0: no bound). Flushers
	// keep an eighth of it free by evicting the least recently active clean
	// sessions (CLOCK); a session with an unstored checkpoint is never
	// evicted. Observe or Resume of a new session when MaxSessions are in
	// memory returns ErrTooManySessions and wakes the flushers to evict.
	MaxSessions int
	// IdleTTL evicts a clean session that has seen no event (accepted or
	// duplicate) for this long; 0 disables idle eviction. An evicted session
	// comes back on its next Resume with the stored checkpoint and its
	// stored window (a replay of its last PersistWindow IDs is a
	// duplicate), or on its next Observe with an empty window and a Seq
	// counting from 1 in memory until its first write, before which the
	// flusher loads the stored checkpoint, renumbers on top of it and puts
	// the stored window below its own: the stored Seq always continues.
	// Call Resume when a session reconnects to keep dedup across eviction.
	IdleTTL time.Duration
	// Now is the clock used for IdleTTL, retry delays and the persistence
	// lag gauge. Default time.Now; tests inject a fake clock.
	Now func() time.Time

	// MetricsPrefix starts the name of every metric in Tracker.Metrics.
	// Default DefaultMetricsPrefix ("lastevent_").
	MetricsPrefix string
	// MetricsLabels are constant labels added to every metric, e.g.
	// {"tracker": "proxy-a"}, so two trackers in one process stay distinct
	// when their sets are registered together. Default none.
	MetricsLabels map[string]string
}

// BreakerChange reports a circuit breaker's state change.
type BreakerChange struct {
	Shard    int
	From, To string // "closed", "open" or "half-open"
}

// WriteFailure describes one checkpoint a backend failed to store.
type WriteFailure struct {
	Session string
	Seq     uint64
	// Attempt counts consecutive failed writes of this session, from 1.
	Attempt int
	Err     error
	// Retry reports whether the tracker will write the session again. It is
	// always true: a failed checkpoint is never dropped; permanent failures
	// are retried too, every RetryMaxDelay, so a fixed backend recovers.
	Retry bool
	// RetryIn is the delay before the next attempt.
	RetryIn time.Duration
}

func (c Config) withDefaults() Config {
	if c.Shards == 0 {
		c.Shards = min(nextPow2(4*runtime.GOMAXPROCS(0)), 256)
	}
	if c.Window == 0 {
		c.Window = core.DefaultWindow
	}
	switch {
	case c.PersistWindow == 0:
		c.PersistWindow = min(core.DefaultPersistWindow, c.Window)
	case c.PersistWindow < 0:
		c.PersistWindow = 0
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxEventIDBytes == 0 {
		c.MaxEventIDBytes = core.DefaultMaxEventIDBytes
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxDelay == 0 {
		c.RetryMaxDelay = max(DefaultRetryMaxDelay, c.RetryBaseDelay)
	}
	if c.BreakerThreshold == 0 {
		c.BreakerThreshold = DefaultBreakerThreshold
	}
	if c.BreakerResetTimeout == 0 {
		c.BreakerResetTimeout = DefaultBreakerResetTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MetricsPrefix == "" {
		c.MetricsPrefix = DefaultMetricsPrefix
	}
	return c
}

// validate checks a Config after defaults; the error names the field.
func (c Config) validate() error {
	switch {
	case c.Shards < 1 || c.Shards > MaxShards || c.Shards&(c.Shards-1) != 0:
		return fmt.Errorf("lastevent: Config.Shards %d: must be a power of two between 1 and %d", c.Shards, MaxShards)
	case core.ValidateWindow(c.Window) != nil:
		return fmt.Errorf("lastevent: Config.Window %d: must be a power of two between 1 and %d", c.Window, core.MaxWindow)
	case c.PersistWindow > c.Window:
		return fmt.Errorf("lastevent: Config.PersistWindow %d: must be at most Config.Window (%d)", c.PersistWindow, c.Window)
	case c.FlushInterval < time.Millisecond:
		return fmt.Errorf("lastevent: Config.FlushInterval %v: must be at least 1ms", c.FlushInterval)
	case c.MaxBatch < 1:
		return fmt.Errorf("lastevent: Config.MaxBatch %d: must be positive", c.MaxBatch)
	case c.MaxEventIDBytes < 1:
		return fmt.Errorf("lastevent: Config.MaxEventIDBytes %d: must be positive", c.MaxEventIDBytes)
	case c.StoreTimeout < 0:
		return fmt.Errorf("lastevent: Config.StoreTimeout %v: must not be negative", c.StoreTimeout)
	case c.RetryBaseDelay < 0:
		return fmt.Errorf("lastevent: Config.RetryBaseDelay %v: must be positive", c.RetryBaseDelay)
	case c.RetryMaxDelay < c.RetryBaseDelay:
		return fmt.Errorf("lastevent: Config.RetryMaxDelay %v: must be at least RetryBaseDelay (%v)", c.RetryMaxDelay, c.RetryBaseDelay)
	case c.BreakerResetTimeout < 0:
		return fmt.Errorf("lastevent: Config.BreakerResetTimeout %v: must be positive", c.BreakerResetTimeout)
	case c.MaxSessions < 0:
		return fmt.Errorf("lastevent: Config.MaxSessions %d: must not be negative", c.MaxSessions)
	case c.IdleTTL < 0:
		return fmt.Errorf("lastevent: Config.IdleTTL %v: must not be negative", c.IdleTTL)
	}
	return validateMetrics(&c)
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}
