package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	goredis "github.com/redis/go-redis/v9"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/backends/memory"
	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/core"
)

// Backends a scenario can write to (-backend).
const (
	backendMemory   = "memory"
	backendDynamoDB = "dynamodb"
	backendRedis    = "redis"
)

// backendConfig selects and configures the store under the tracker.
type backendConfig struct {
	Kind        string // -backend: memory (default), dynamodb or redis
	Endpoint    string // -endpoint: DynamoDB endpoint URL; "" = $LASTEVENT_DYNAMODB_ENDPOINT, then AWS's
	Table       string // -table: DynamoDB table, created if missing
	Mode        string // -dynamodb-mode: conditional (default) or batch
	RedisAddr   string // -redis-addr: host:port; "" = $LASTEVENT_REDIS_ADDR
	RedisPrefix string // -redis-prefix: key prefix of the run's sessions (redis.go)
}

func (b *backendConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&b.Kind, "backend", backendMemory, "checkpoint store: memory, dynamodb or redis")
	fs.StringVar(&b.Endpoint, "endpoint", "", "DynamoDB endpoint URL (e.g. dynalite's http://127.0.0.1:PORT); default $LASTEVENT_DYNAMODB_ENDPOINT, else AWS")
	fs.StringVar(&b.Table, "table", "lastevent-loadgen", "DynamoDB table; created (on-demand) if missing, and the run's sessions are deleted from it first")
	fs.StringVar(&b.Mode, "dynamodb-mode", lastdynamo.Conditional.String(), "DynamoDB write mode: conditional (UpdateItem per checkpoint) or batch (BatchWriteItem)")
	fs.StringVar(&b.RedisAddr, "redis-addr", "", "Redis host:port for -backend redis; default $LASTEVENT_REDIS_ADDR")
	fs.StringVar(&b.RedisPrefix, "redis-prefix", "lastevent-loadgen:", "Redis key prefix; the run's sessions are deleted from it first")
}

func (b backendConfig) validate() error {
	switch b.Kind {
	case "", backendMemory:
		return nil
	case backendRedis:
		switch {
		case b.RedisPrefix == "":
			return errors.New("-redis-prefix: required with -backend redis (the run deletes its sessions' keys)")
		case strings.ContainsAny(b.RedisPrefix, "{}"):
			return fmt.Errorf("-redis-prefix %q: must not contain '{' or '}'", b.RedisPrefix)
		}
		return nil
	case backendDynamoDB:
	default:
		return fmt.Errorf("-backend %q: must be memory, dynamodb or redis", b.Kind)
	}
	if _, err := b.mode(); err != nil {
		return err
	}
	if b.Table == "" {
		return errors.New("-table: required with -backend dynamodb")
	}
	return nil
}

func (b backendConfig) mode() (lastdynamo.Mode, error) {
	switch b.Mode {
	case "", lastdynamo.Conditional.String():
		return lastdynamo.Conditional, nil
	case lastdynamo.Batch.String():
		return lastdynamo.Batch, nil
	}
	return 0, fmt.Errorf("-dynamodb-mode %q: must be conditional or batch", b.Mode)
}

// backendReport is what the report says about the store; its fields are
// part of the JSON object.
type backendReport struct {
	Backend      string            `json:"backend"`
	DynamoDBMode string            `json:"dynamodb_mode,omitempty"`
	Table        string            `json:"table,omitempty"`
	BackendCalls uint64            `json:"backend_calls"` // requests to the store (memory: Store calls)
	CallsByOp    map[string]uint64 `json:"backend_calls_by_op,omitempty"`
	Throttles    uint64            `json:"backend_throttles"`
	CallErrors   uint64            `json:"backend_call_errors"`
	// Write latency: per write request (UpdateItem or BatchWriteItem; for
	// memory and redis, per Store call).
	WriteP50NS int64 `json:"write_latency_p50_ns"`
	WriteP99NS int64 `json:"write_latency_p99_ns"`

	// Redis only (redis.go): BackendCalls counts commands and CallsByOp
	// names them. RoundTrips counts pipelines and single commands;
	// RequestsPerCheckpoint is commands per checkpoint a Store carried
	// (EVALSHA, and SCRIPT LOAD after NOSCRIPT), RoundTripsPerFlush the
	// Store round trips per Store call (one flusher batch).
	RedisAddr             string  `json:"redis_addr,omitempty"`
	RedisPrefix           string  `json:"redis_prefix,omitempty"`
	RoundTrips            uint64  `json:"backend_round_trips,omitempty"`
	RequestsPerCheckpoint float64 `json:"requests_per_checkpoint,omitempty"`
	RoundTripsPerFlush    float64 `json:"round_trips_per_flush,omitempty"`
}

// store is the backend a scenario writes to, instrumented, and what is
// needed to read it back and release it.
type store struct {
	core.Backend
	mem         *memory.Backend     // memory only
	dyn         *lastdynamo.Backend // dynamodb only
	api         *countingAPI        // dynamodb only
	client      *dynamodb.Client
	tp          *http.Transport
	redis       *lastredis.Backend // redis only
	redisClient *goredis.Client
	rep         backendReport

	mu      sync.Mutex // guards writes (the memory and redis paths' Store latency)
	writes  histogram
	nStores atomic.Uint64
}

// openStore opens the store cfg names for sessions; for DynamoDB it
// creates the table if missing and deletes the sessions' items from an
// earlier run, so conditional writes start from nothing.
func openStore(ctx context.Context, cfg config, sessions []string) (*store, error) {
	b := cfg.Backend
	switch b.Kind {
	case "", backendMemory:
		mem := memory.New()
		return &store{Backend: mem, mem: mem, rep: backendReport{Backend: backendMemory}}, nil
	case backendRedis:
		return openRedis(ctx, cfg, sessions)
	}
	mode, err := b.mode()
	if err != nil {
		return nil, err
	}
	table := b.Table
	if cfg.Impl != "" && cfg.Impl != implLastevent {
		table += "-" + cfg.Impl // -compare: one table per implementation
	}
	s := &store{rep: backendReport{Backend: backendDynamoDB, DynamoDBMode: mode.String(), Table: table}}
	// As many idle connections as requests in flight: the default of 2
	// would close and redial (two goroutines each) on every burst.
	s.tp = http.DefaultTransport.(*http.Transport).Clone()
	s.tp.MaxIdleConnsPerHost = lastdynamo.DefaultMaxInFlight
	opts := func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: s.tp, Timeout: 10 * time.Second}
		o.RetryMaxAttempts = 3 // the tracker retries with its own backoff
	}
	endpoint := b.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("LASTEVENT_DYNAMODB_ENDPOINT")
	}
	awsCfg := aws.Config{Region: os.Getenv("AWS_REGION")}
	if endpoint != "" {
		// A local server (dynalite) accepts any signature.
		awsCfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "loadgen", SecretAccessKey: "loadgen"}, nil
		})
		if awsCfg.Region == "" {
			awsCfg.Region = "us-east-1"
		}
	} else {
		// Real AWS: the standard environment variables.
		awsCfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
				SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "environment"}, nil
		})
	}
	s.client = dynamodb.NewFromConfig(awsCfg, opts, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	dcfg := lastdynamo.Config{Table: table, Mode: mode}
	if err := lastdynamo.CreateTable(ctx, s.client, dcfg); err != nil {
		s.tp.CloseIdleConnections()
		return nil, err
	}
	if err := deleteSessions(ctx, s.client, table, sessions); err != nil {
		s.tp.CloseIdleConnections()
		return nil, err
	}
	s.api = &countingAPI{API: s.client}
	if s.dyn, err = lastdynamo.New(s.api, dcfg); err != nil {
		s.tp.CloseIdleConnections()
		return nil, err
	}
	s.Backend = s.dyn
	return s, nil
}

// Store times the memory and redis backends' Store calls (for redis, one
// pipeline round trip each, barring a script reload); DynamoDB's requests
// are timed by countingAPI.
func (s *store) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if s.dyn != nil {
		s.Backend.Store(ctx, batch, results)
		return
	}
	start := time.Now()
	s.Backend.Store(ctx, batch, results)
	d := time.Since(start)
	s.nStores.Add(1)
	s.mu.Lock()
	s.writes.record(d)
	s.mu.Unlock()
}

// stored returns a reader of what the store holds for sessions, read once
// (DynamoDB: consistent BatchGetItem) after the tracker closed.
func (s *store) stored(sessions []string) (func(string) (core.Checkpoint, bool), error) {
	if s.mem != nil {
		return s.mem.Get, nil
	}
	if s.redis != nil {
		got, err := s.storedRedis(sessions)
		if err != nil {
			return nil, err
		}
		return func(name string) (core.Checkpoint, bool) { c, ok := got[name]; return c, ok }, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // runs after a Ctrl-C too
	defer cancel()
	got, err := s.dyn.Load(ctx, sessions)
	if err != nil {
		return nil, fmt.Errorf("reading back the checkpoints: %w", err)
	}
	return func(name string) (core.Checkpoint, bool) { c, ok := got[name]; return c, ok }, nil
}

// writesAndStale returns the checkpoints written and those refused as
// stale. The memory backend counts both; for DynamoDB, written comes from
// the results the checking backend saw and stale from the refused
// conditions (batch mode never refuses).
func (s *store) writesAndStale(chk *checkingBackend) (written, stale uint64) {
	if s.mem != nil {
		st := s.mem.Stats()
		return st.Writes, st.Stale
	}
	if s.redis != nil {
		st := s.redis.Stats()
		return st.Written, st.Stale
	}
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	return chk.written.Load(), s.api.stale
}

// report returns the backend's section of the report.
func (s *store) report() backendReport {
	r := s.rep
	h := &s.writes
	if s.api != nil {
		h = &s.api.writes
		s.api.mu.Lock()
		defer s.api.mu.Unlock()
		r.CallsByOp = map[string]uint64{}
		for op, n := range s.api.calls {
			r.CallsByOp[op] = n
			r.BackendCalls += n
		}
		r.Throttles, r.CallErrors = s.api.throttles, s.api.errors
	} else {
		s.mu.Lock()
		defer s.mu.Unlock()
		r.BackendCalls = s.nStores.Load()
		if s.redis != nil {
			s.redisReport(&r)
		}
	}
	r.WriteP50NS, r.WriteP99NS = int64(h.quantile(0.50)), int64(h.quantile(0.99))
	return r
}

func (s *store) close() {
	if s.dyn != nil {
		_ = s.dyn.Close()
		s.tp.CloseIdleConnections()
	}
	if s.redisClient != nil {
		_ = s.redisClient.Close()
	}
}

// countingAPI counts DynamoDB requests by operation, errors and throttles,
// and times the write requests.
type countingAPI struct {
	lastdynamo.API
	mu        sync.Mutex
	calls     map[string]uint64
	throttles uint64
	errors    uint64
	stale     uint64 // refused conditions: not errors
	writes    histogram
}

func (c *countingAPI) done(op string, start time.Time, write bool, err error) {
	d := time.Since(start)
	code, _ := lastdynamo.Classify(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]uint64{}
	}
	c.calls[op]++
	if write {
		c.writes.record(d)
	}
	if code == "ConditionalCheckFailedException" {
		c.stale++
	} else if err != nil {
		c.errors++
		if strings.Contains(code, "Throughput") || strings.Contains(code, "Throttl") || code == "RequestLimitExceeded" {
			c.throttles++
		}
	}
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	start := time.Now()
	out, err := c.API.UpdateItem(ctx, in, o...)
	c.done("UpdateItem", start, true, err)
	return out, err
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	start := time.Now()
	out, err := c.API.BatchWriteItem(ctx, in, o...)
	c.done("BatchWriteItem", start, true, err)
	return out, err
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	start := time.Now()
	out, err := c.API.GetItem(ctx, in, o...)
	c.done("GetItem", start, false, err)
	return out, err
}

func (c *countingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	start := time.Now()
	out, err := c.API.BatchGetItem(ctx, in, o...)
	c.done("BatchGetItem", start, false, err)
	return out, err
}

// deleteSessions removes the named sessions' items with BatchWriteItem
// deletes, 25 at a time, retrying unprocessed ones.
func deleteSessions(ctx context.Context, client *dynamodb.Client, table string, sessions []string) error {
	for lo := 0; lo < len(sessions); lo += 25 {
		reqs := make([]types.WriteRequest, 0, 25)
		for _, s := range sessions[lo:min(lo+25, len(sessions))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
				Key: map[string]types.AttributeValue{lastdynamo.DefaultSessionAttribute: &types.AttributeValueMemberS{Value: s}}}})
		}
		for len(reqs) > 0 {
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
			if err != nil {
				return fmt.Errorf("clearing table %q: %w", table, err)
			}
			if reqs = out.UnprocessedItems[table]; len(reqs) > 0 {
				select {
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
	return nil
}

// writeLine prints the store's line under the table: what was called, how
// often it was throttled, and the write latency.
func (r *backendReport) writeLine(w io.Writer) {
	what := r.Backend
	switch r.Backend {
	case backendDynamoDB:
		what = fmt.Sprintf("dynamodb (%s mode, table %s)", r.DynamoDBMode, r.Table)
	case backendRedis:
		what = fmt.Sprintf("redis (%s, prefix %s)", r.RedisAddr, r.RedisPrefix)
	}
	ops := make([]string, 0, len(r.CallsByOp))
	for op, n := range r.CallsByOp {
		ops = append(ops, fmt.Sprintf("%s %s", op, group(n)))
	}
	slices.Sort(ops)
	byOp := ""
	if len(ops) > 0 {
		byOp = " (" + strings.Join(ops, ", ") + ")"
	}
	if r.Backend == backendRedis {
		fmt.Fprintf(w, "store: %s: %s commands%s in %s round trips, %.3f requests/checkpoint, %.3f round trips/flush, %s errors; Store latency p50 %v, p99 %v\n",
			what, group(r.BackendCalls), byOp, group(r.RoundTrips), r.RequestsPerCheckpoint, r.RoundTripsPerFlush,
			group(r.CallErrors), time.Duration(r.WriteP50NS), time.Duration(r.WriteP99NS))
		return
	}
	fmt.Fprintf(w, "store: %s: %s calls%s, %s throttled, %s errors; write latency p50 %v, p99 %v\n",
		what, group(r.BackendCalls), byOp, group(r.Throttles), group(r.CallErrors),
		time.Duration(r.WriteP50NS), time.Duration(r.WriteP99NS))
}
