package dynamodb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// Backend is a core.Backend storing one item per session in a DynamoDB
// table. See the package documentation for the table layout and the modes.
//
// A Backend is safe for concurrent use. It must be created with New and
// released with Close, which stops the worker goroutines New started; it
// must not be copied. The API client is the caller's: Close does not touch
// it.
type Backend struct {
	api      API
	cfg      Config
	sch      *schema
	m        *meter
	capacity types.ReturnConsumedCapacity // TOTAL with Config.Metrics, else omitted

	jobs      chan job      // unbuffered: a job sent is a job a worker runs
	stop      chan struct{} // closed by Close
	workers   sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
}

// New returns a Backend writing to cfg.Table through api (normally a
// *dynamodb.Client) and starts its Config.MaxInFlight worker goroutines. It
// makes no request: use CreateTable to create the table. An invalid Config
// yields an error naming the field.
func New(api API, cfg Config) (*Backend, error) {
	if api == nil {
		return nil, errors.New("lastevent/dynamodb: New: nil API client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Backend{
		api:  api,
		cfg:  cfg,
		sch:  newSchema(cfg),
		m:    newMeter(cfg.Metrics, cfg.Table),
		jobs: make(chan job),
		stop: make(chan struct{}),
	}
	if cfg.Metrics != nil {
		b.capacity = types.ReturnConsumedCapacityTotal
	}
	b.workers.Add(cfg.MaxInFlight)
	for range cfg.MaxInFlight {
		go b.work()
	}
	return b, nil
}

// Config returns the Backend's configuration with defaults applied.
func (b *Backend) Config() Config { return b.cfg }

// Close stops the worker goroutines after each finishes the request it is
// making (requests are bounded by their Store or Load context; backoff
// waits end at once). Store calls still running report the items they had
// not handed to a worker as failed with ErrClosed. Afterwards Store, Load
// and Delete fail with ErrClosed. Close is idempotent and always returns
// nil; it does not close the API client.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.workers.Wait()
	})
	return nil
}

// Delete removes session's checkpoint with DeleteItem. Deleting a missing
// session is not an error. It runs on the caller's goroutine.
func (b *Backend) Delete(ctx context.Context, session string) error {
	if b.closed.Load() {
		return closedError("DeleteItem", session, 0)
	}
	out, err := b.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:              &b.sch.table,
		Key:                    b.sch.key(session),
		ReturnConsumedCapacity: b.capacity,
	})
	b.m.call(opDeleteItem, err, false)
	if err != nil {
		return newError("DeleteItem", session, 0, withContext(ctx, err))
	}
	if out.ConsumedCapacity != nil {
		b.m.consumed(opDeleteItem, *out.ConsumedCapacity)
	}
	return nil
}

// closedError is the failure of a call made after Close.
func closedError(op, session string, seq uint64) *Error {
	return &Error{Backend: backendName, Op: op, Session: session, Seq: seq, Code: CodeClosed, Err: ErrClosed}
}

// withContext makes err wrap ctx's error when ctx has ended, so callers can
// test errors.Is(err, context.DeadlineExceeded) whatever the SDK wrapped.
func withContext(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return errors.Join(err, ctxErr)
	}
	return err
}

var _ core.Backend = (*Backend)(nil)
