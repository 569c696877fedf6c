package main

import (
	"context"
	"fmt"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/core"
)

// openRedis connects to the Redis server cfg names (-redis-addr, default
// $LASTEVENT_REDIS_ADDR) and deletes the sessions' keys left by an earlier
// run under the same -redis-prefix, so monotonic writes start from nothing.
func openRedis(ctx context.Context, cfg config, sessions []string) (*store, error) {
	b := cfg.Backend
	addr := b.RedisAddr
	if addr == "" {
		addr = os.Getenv("LASTEVENT_REDIS_ADDR")
	}
	if addr == "" {
		return nil, fmt.Errorf("-backend redis: -redis-addr is unset and so is LASTEVENT_REDIS_ADDR")
	}
	prefix := b.RedisPrefix
	if cfg.Impl != "" && cfg.Impl != implLastevent {
		prefix += cfg.Impl + ":" // -compare: one key space per implementation
	}
	client := goredis.NewClient(&goredis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true, // the flusher's StoreTimeout bounds each pipeline
		MaxRetries:            1,    // the tracker retries with its own backoff
		PoolSize:              64,   // a connection per shard's flusher, with room
	})
	rb, err := lastredis.New(client, lastredis.Config{Prefix: prefix})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	if err := deleteRedisSessions(ctx, client, rb, sessions); err != nil {
		_ = client.Close()
		return nil, err
	}
	return &store{Backend: rb, redis: rb, redisClient: client,
		rep: backendReport{Backend: backendRedis, RedisAddr: addr, RedisPrefix: prefix}}, nil
}

// deleteRedisSessions removes the sessions' keys with DEL, 1000 a pipeline.
func deleteRedisSessions(ctx context.Context, client *goredis.Client, rb *lastredis.Backend, sessions []string) error {
	for lo := 0; lo < len(sessions); lo += 1000 {
		pipe := client.Pipeline()
		for _, s := range sessions[lo:min(lo+1000, len(sessions))] {
			pipe.Del(ctx, rb.Key(s))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("clearing the run's keys on %s: %w", client.Options().Addr, err)
		}
	}
	return nil
}

// redisReport fills the store's report from the backend's counters: the
// commands by name, and the two ratios the Redis backend is judged by.
// Round trips per flush counts the Store pipelines (a NOSCRIPT reload adds
// two) per Store call; each Load and Delete is one round trip of its own.
func (s *store) redisReport(r *backendReport) {
	st := s.redis.Stats()
	r.CallsByOp = map[string]uint64{"EVALSHA": st.EvalSha, "SCRIPT LOAD": st.ScriptLoads, "HMGET": st.HMGet, "DEL": st.Del}
	r.BackendCalls = st.Commands()
	r.RoundTrips = st.RoundTrips
	r.CallErrors = st.RetryableErrors + st.PermanentErrors
	checkpoints := st.Written + st.Stale + st.Failed
	if checkpoints > 0 {
		r.RequestsPerCheckpoint = float64(st.EvalSha+st.ScriptLoads) / float64(checkpoints)
	}
	if st.StoreCalls > 0 {
		r.RoundTripsPerFlush = float64(st.RoundTrips-st.LoadCalls-st.Del) / float64(st.StoreCalls)
	}
}

// storedRedis reads every session back with one Load after the tracker
// closed.
func (s *store) storedRedis(sessions []string) (map[string]core.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // runs after a Ctrl-C too
	defer cancel()
	got, err := s.redis.Load(ctx, sessions)
	if err != nil {
		return nil, fmt.Errorf("reading back the checkpoints: %w", err)
	}
	return got, nil
}
