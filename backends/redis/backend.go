package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lastevent/lastevent/core"
)

// Backend is a core.Backend storing one Redis hash per session. See the
// package documentation for the key layout, the Store script and Cluster.
//
// A Backend is safe for concurrent use. It starts no goroutines and holds
// nothing to release, so it has no Close; the client is the caller's, to
// close after the tracker's Close. It must not be copied after New.
type Backend struct {
	client goredis.UniversalClient
	cfg    Config
	prefix string // every key: Prefix, then "{HashTag}" if set
	ttlMS  int64  // Config.TTL in ms, 0 for none
	m      *meter
}

// New returns a Backend reading and writing through client, which may be a
// *redis.Client (standalone, or Sentinel with redis.NewFailoverClient), a
// *redis.ClusterClient or a *redis.Ring. It makes no request: the script is
// loaded by the first Store that needs it. An invalid Config yields an
// error naming the field.
//
// The client's options matter (see docs/redis.md): ContextTimeoutEnabled
// makes a Store give up when the flusher's StoreTimeout ends rather than
// after ReadTimeout, and go-redis's own retries (MaxRetries, default 3)
// come before the tracker's backoff, so keep them few.
func New(client goredis.UniversalClient, cfg Config) (*Backend, error) {
	if client == nil {
		return nil, errors.New("lastevent/redis: New: nil client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Backend{
		client: client,
		cfg:    cfg,
		prefix: cfg.keyPrefix(),
		ttlMS:  cfg.TTL.Milliseconds(),
		m:      newMeter(cfg.Metrics, cfg.Prefix),
	}, nil
}

// Config returns the Backend's configuration with defaults applied.
func (b *Backend) Config() Config { return b.cfg }

// Key returns the Redis key of session's hash: Prefix, "{HashTag}" when a
// hash tag is set, then the session name as it is (Redis keys are binary
// safe). It allocates the key.
func (b *Backend) Key(session string) string { return b.prefix + session }

// Delete removes session's hash with DEL, one round trip. Deleting a
// missing session is not an error. A failure is an *Error wrapping
// core.ErrRetryable or core.ErrPermanent.
func (b *Backend) Delete(ctx context.Context, session string) error {
	if ctx.Err() != nil {
		e := ctxFailure("DEL", session, 0, ctx)
		b.m.failure(e)
		return e
	}
	b.m.sent(cmdDel, 1)
	if err := b.client.Del(ctx, b.Key(session)).Err(); err != nil {
		e := newError("DEL", session, 0, withContext(ctx, err))
		b.m.failure(e)
		return e
	}
	return nil
}

var _ core.Backend = (*Backend)(nil)
