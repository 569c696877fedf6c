// Package dynamodb is a core.Backend that stores checkpoints in Amazon
// DynamoDB, for deployments where several tracker processes share the
// checkpoints: sessions move between processes, and nothing may move a
// checkpoint backwards.
//
//	client := dynamodb.NewFromConfig(awsCfg) // github.com/aws/aws-sdk-go-v2/service/dynamodb
//	b, err := lastdynamo.New(client, lastdynamo.Config{Table: "lastevent"})
//	if err != nil { ... }
//	defer b.Close()                               // after the tracker's Close
//	t, err := shard.New(b, shard.Config{})         // t.Resume, t.Observe, ...
//
// # Table
//
// One item per session, keyed by the partition key "session" (S), with
// "event_id" (S), "seq" (N), "updated_at" (N, unix milliseconds), "w" (B,
// the checkpoint's core.Window: 8 bytes per hash, present only when the
// window is not empty), and "expires_at" (N, unix seconds) when Config.TTL
// is set. Config renames any of them. CreateTable creates the table
// (on-demand billing) for tests and first runs.
//
//	attribute   type  holds
//	session     S     partition key: Checkpoint.Session
//	event_id    S     Checkpoint.EventID
//	seq         N     Checkpoint.Seq, 1 to 2^64-1
//	updated_at  N     write time, unix ms (for operators; never read)
//	w           B     Checkpoint.Window, 8·K bytes; absent when empty
//	expires_at  N     write time + Config.TTL, unix s; only with TTL
//
// The event ID, seq and window are written together by one request under
// one condition, so they always agree: Conditional mode sets "w" or, for a
// checkpoint without a window, removes it in the same UpdateItem; Batch
// mode puts the whole item, "w" included only when there is a window. A
// Load decodes "w" with core.ParseWindow and core.Checkpoint.CheckWindow;
// a value of another type or one that fails them (only another writer
// stores one) fails the Load with an *Error of Code CodeBadItem wrapping
// core.ErrPermanent and core.ErrInvalidWindow, naming the session.
//
// # Item size and cost
//
// DynamoDB counts an item's size as the bytes of its attribute names plus
// values: a string or binary value its length, a number about one byte per
// two digits plus one. A write costs one write capacity unit per started
// KB (1024 bytes) of the larger of the item before and after it; a refused
// conditional write costs the same. A strongly consistent read costs one
// read unit per started 4 KB. With a 36-byte session (a UUID), a 20-byte
// event ID, a 6-digit seq and TTL set, the item without a window is
// 43 + 28 + 7 + 18 + 16 = 112 bytes, and a window of K hashes adds
// 1 + 8·K ("w" and its bytes):
//
//	PersistWindow K   window bytes   item bytes   write units   read units
//	0 (off)                       0          112             1            1
//	32 (default)                256          369             1            1
//	100                         800          913             1            1
//	128                        1024         1137             2            1
//	1024                       8192         8305             9            3
//	4096                      32768        32881            33            9
//	32768 (max)              262144       262257           257           65
//
// So the default window still fits the one write unit a checkpoint costs
// without it, up to 113 hashes for IDs like these; beyond that, each
// further 128 hashes (1 KB) cost one more write unit on every write of the
// session. The largest item, a 1 KB session and event ID with a window of
// core.MaxWindow, is about 264 KB, under DynamoDB's 400 KB item limit. A
// BatchGetItem returns at most 16 MB, so with large windows DynamoDB
// answers a Load of 100 sessions in several calls (UnprocessedKeys, which
// Load retries).
//
// # Modes
//
// Conditional (the default) writes each checkpoint with one UpdateItem
// conditioned on "attribute_not_exists(seq) OR seq < :seq": a writer holding
// an older checkpoint is refused, and the refusal is reported as
// core.OutcomeStale, which the tracker counts as stored. This is the mode for
// several writers. Batch writes 25 checkpoints per BatchWriteItem, which
// takes no conditions and so cannot stop another writer's older checkpoint
// from replacing a newer one: use it only when each session has exactly one
// writer.
//
// # Retries
//
// The SDK client retries inside each call (DynamoDB's defaults: 4 attempts,
// 25ms base backoff, and a per-client retry token bucket whose exhaustion
// fails calls at once with ratelimit.QuotaExceededError). This package adds
// no retry of its own on top of a failed call: it classifies the failure
// (see Classify) and the tracker writes the session again after its own
// backoff (shard.Config.RetryBaseDelay, RetryMaxDelay), so each tracker
// attempt costs at most the client's MaxAttempts requests and the two
// layers do not multiply. The only retries here are of the items and keys DynamoDB
// accepted but left unprocessed in a batch call, which the SDK does not
// retry. The README gives the recommended client configuration.
//
// # Concurrency
//
// A Backend is safe for concurrent use. New starts Config.MaxInFlight worker
// goroutines that make every UpdateItem, BatchWriteItem and BatchGetItem,
// so requests in flight never exceed that number however many Store calls
// run at once; Store starts no goroutine. Close stops the workers.
package dynamodb
