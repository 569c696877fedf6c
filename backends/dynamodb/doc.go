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
// "event_id" (S), "seq" (N) and "updated_at" (N, unix milliseconds), and
// "expires_at" (N, unix seconds) when Config.TTL is set. Config renames any
// of them. CreateTable creates the table (on-demand billing) for tests and
// first runs.
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
