// Package redis is a core.Backend that stores checkpoints in Redis, the
// store most SSE gateways already run: one hash per session, written by a
// Lua script that applies a checkpoint only if its Seq is higher than the
// stored one, a flush batch in one pipelined round trip.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	b, err := lastredis.New(client, lastredis.Config{TTL: 7 * 24 * time.Hour})
//	if err != nil { ... }
//	t, err := shard.New(b, shard.Config{}) // t.Resume, t.Observe, ...
//	defer client.Close()                   // after the tracker's Close
//
// (redis is github.com/redis/go-redis/v9.) The client is the caller's: any
// redis.UniversalClient, so standalone, Sentinel (redis.NewFailoverClient)
// and Cluster (redis.NewClusterClient) all work. docs/redis.md covers the
// client options, memory per session, durability and Cluster.
//
// # Keys
//
// One hash per session at Config.Prefix + session (default prefix
// "lastevent:"), or Prefix + "{" + HashTag + "}" + session with a hash tag.
// Its fields: e, the event ID; q, the Seq in decimal; w, the checkpoint's
// core.Window bytes, absent when it carries none; u, the write time in unix
// milliseconds. Config.TTL sets an expiry with every write.
//
// # Store
//
// Store sends one EVALSHA of the Store script per checkpoint, all in one
// pipeline. The script compares the stored q with the new Seq (as decimal
// strings: exact over the whole uint64 range) and, only if the new one is
// higher, sets e, q, w (or deletes it) and u and the expiry together, and
// answers written; otherwise it changes nothing and answers stale. Redis
// runs a script alone, so the comparison and the write are atomic whoever
// else writes the key, and a checkpoint never moves backwards. A server
// that lost its script cache (restart, failover, SCRIPT FLUSH) answers
// NOSCRIPT without running it; Store then loads the script once and sends
// those checkpoints again, so the batch still succeeds. Load reads e, q and
// w with one HMGET per session, also in one pipeline; Delete is one DEL.
//
// # Cluster
//
// Each command names one key, so no command is ever cross-slot. Without a
// hash tag, sessions spread over the cluster and a ClusterClient splits a
// batch's pipeline by master and sends the parts concurrently: one round
// trip per master touched, in parallel. With Config.HashTag, every key
// hashes to one slot: a batch is one round trip to one master, which then
// holds every checkpoint.
//
// # Errors
//
// Failures are *Error values naming the command, session and Seq, wrapping
// core.ErrRetryable or core.ErrPermanent and go-redis's error. Network
// errors, timeouts, LOADING, BUSY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN,
// READONLY (after a failover), MOVED and ASK are retryable; WRONGTYPE,
// NOAUTH, WRONGPASS, NOPERM and script errors are permanent (see Classify).
//
// # Concurrency
//
// A Backend is safe for concurrent use: the tracker's flushers call Store
// concurrently, each one pipeline on a connection of the client's pool. It
// starts no goroutines and has no Close. Counters (Stats, Config.Metrics)
// are atomic.
package redis
