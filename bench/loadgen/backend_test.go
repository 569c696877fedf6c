package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestBackendFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-backend", "dynamodb", "-endpoint", "http://127.0.0.1:9", "-table", "t1", "-dynamodb-mode", "batch"}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if want := (backendConfig{Kind: "dynamodb", Endpoint: "http://127.0.0.1:9", Table: "t1", Mode: "batch", RedisPrefix: "lastevent-loadgen:"}); cfg.Backend != want {
		t.Fatalf("backend flags: got %+v, want %+v", cfg.Backend, want)
	}
	if cfg, err := parseFlags(nil, io.Discard); err != nil || cfg.Backend.Kind != backendMemory {
		t.Fatalf("default backend: got (%+v, %v), want memory", cfg.Backend, err)
	}
	cfg, err = parseFlags([]string{"-backend", "redis", "-redis-addr", "127.0.0.1:9", "-redis-prefix", "p:"}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if cfg.Backend.Kind != backendRedis || cfg.Backend.RedisAddr != "127.0.0.1:9" || cfg.Backend.RedisPrefix != "p:" {
		t.Fatalf("redis flags: got %+v, want redis at 127.0.0.1:9 with prefix p:", cfg.Backend)
	}
	for _, args := range [][]string{
		{"-backend", "cassandra"},
		{"-backend", "redis", "-redis-prefix", ""},
		{"-backend", "redis", "-redis-prefix", "a{b}"},
		{"-backend", "dynamodb", "-dynamodb-mode", "eventual"},
		{"-backend", "dynamodb", "-table", ""},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): got nil error", args)
		}
	}
}

func TestMemoryBackendReport(t *testing.T) {
	cfg := smallConfig()
	cfg.Sessions, cfg.Duration = 4, 200*time.Millisecond
	r, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.Backend != backendMemory || r.BackendCalls != r.StoreCalls || r.BackendCalls == 0 || r.WriteP99NS < r.WriteP50NS {
		t.Fatalf("memory backend report: got %+v (Store calls %d)", r.backendReport, r.StoreCalls)
	}
}

// TestRunOnDynamoDB runs the small scenario on a DynamoDB table in both
// modes, twice on the same table (the second run must clear the first
// one's checkpoints), and checks the store's report.
func TestRunOnDynamoDB(t *testing.T) {
	ep := os.Getenv("LASTEVENT_DYNAMODB_ENDPOINT")
	if ep == "" {
		msg := "LASTEVENT_DYNAMODB_ENDPOINT is unset: run `make test`, which starts dynalite, or tools/dynalite/run.sh go test ./bench/loadgen"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, mode := range []string{"conditional", "batch"} {
		t.Run(mode, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Sessions, cfg.Duration = 10, 500*time.Millisecond
			cfg.Backend = backendConfig{Kind: backendDynamoDB, Endpoint: ep, Mode: mode,
				Table: fmt.Sprintf("loadgen-%s-%d-%d", mode, os.Getpid(), time.Now().UnixNano())}
			write := map[string]string{"conditional": "UpdateItem", "batch": "BatchWriteItem"}[mode]
			for run1 := range 2 {
				r, err := run(context.Background(), cfg, io.Discard)
				if err != nil {
					t.Fatalf("run %d: %v", run1, err)
				}
				if !r.CorrectnessOK || r.SessionsLost != 0 || r.CheckpointRegressions != 0 {
					t.Fatalf("run %d: correctness failed: %s (%+v)", run1, r.FirstFailure, r.Checks)
				}
				br := r.backendReport
				if br.Backend != backendDynamoDB || br.DynamoDBMode != mode || br.CallsByOp[write] == 0 ||
					br.Throttles != 0 || br.CallErrors != 0 || br.WriteP50NS <= 0 || br.WriteP99NS < br.WriteP50NS {
					t.Fatalf("run %d: store report %+v, want %s calls, no throttles or errors, p50 > 0, p99 >= p50", run1, br, write)
				}
				var sum uint64
				for _, n := range br.CallsByOp {
					sum += n
				}
				if sum != br.BackendCalls {
					t.Fatalf("run %d: backend calls %d, by operation %v", run1, br.BackendCalls, br.CallsByOp)
				}
				if mode == "conditional" && br.CallsByOp[write] != r.BackendWrites+r.BackendStale {
					t.Fatalf("run %d: %d UpdateItem calls, want one per checkpoint: %d written + %d stale",
						run1, br.CallsByOp[write], r.BackendWrites, r.BackendStale)
				}

				var table, js bytes.Buffer
				r.writeTable(&table)
				if want := "store: dynamodb (" + mode + " mode, table " + cfg.Backend.Table + ")"; !strings.Contains(table.String(), want) {
					t.Fatalf("table output lacks %q:\n%s", want, table.String())
				}
				if err := r.writeJSON(&js); err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(js.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				for _, key := range []string{"backend", "dynamodb_mode", "table", "backend_calls", "backend_calls_by_op",
					"backend_throttles", "write_latency_p50_ns", "write_latency_p99_ns"} {
					if _, ok := got[key]; !ok {
						t.Errorf("JSON key %q: missing", key)
					}
				}
			}
		})
	}
}

// TestRunOnRedis runs the small scenario on Redis twice under the same
// prefix (the second run must clear the first one's keys) and checks the
// store's report: one EVALSHA per checkpoint, one round trip per flush.
func TestRunOnRedis(t *testing.T) {
	addr := os.Getenv("LASTEVENT_REDIS_ADDR")
	if addr == "" {
		msg := "LASTEVENT_REDIS_ADDR is unset: run `make test`, which starts redis-server, or tools/redis/run.sh go test ./bench/loadgen"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg := smallConfig()
	cfg.Sessions, cfg.Duration = 10, 500*time.Millisecond
	cfg.Backend = backendConfig{Kind: backendRedis, RedisAddr: addr,
		RedisPrefix: fmt.Sprintf("loadgen-test:%d-%d:", os.Getpid(), time.Now().UnixNano())}
	for run1 := range 2 {
		r, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatalf("run %d: %v", run1, err)
		}
		if !r.CorrectnessOK || r.SessionsLost != 0 || r.CheckpointRegressions != 0 {
			t.Fatalf("run %d: correctness failed: %s (%+v)", run1, r.FirstFailure, r.Checks)
		}
		br := r.backendReport
		// A checkpoint costs one EVALSHA, plus a SCRIPT LOAD per flush that
		// met NOSCRIPT (a fresh server: once per run at most here).
		if br.Backend != backendRedis || br.CallsByOp["EVALSHA"] == 0 || br.CallErrors != 0 ||
			br.RequestsPerCheckpoint < 1 || br.RequestsPerCheckpoint > 1.05 || br.RoundTripsPerFlush < 1 || br.RoundTripsPerFlush > 1.2 ||
			br.WriteP50NS <= 0 || br.WriteP99NS < br.WriteP50NS {
			t.Fatalf("run %d: store report %+v, want EVALSHA calls, no errors, ~1 request per checkpoint, ~1 round trip per flush", run1, br)
		}
		if got, want := br.CallsByOp["EVALSHA"], r.BackendWrites+r.BackendStale; got < want {
			t.Fatalf("run %d: %d EVALSHA, want at least one per checkpoint stored (%d)", run1, got, want)
		}
		var table, js bytes.Buffer
		r.writeTable(&table)
		for _, want := range []string{"store: redis (" + addr + ", prefix " + cfg.Backend.RedisPrefix + ")", "requests/checkpoint", "round trips/flush"} {
			if !strings.Contains(table.String(), want) {
				t.Fatalf("table output lacks %q:\n%s", want, table.String())
			}
		}
		if err := r.writeJSON(&js); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(js.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"backend", "redis_addr", "redis_prefix", "backend_calls", "backend_calls_by_op",
			"backend_round_trips", "requests_per_checkpoint", "round_trips_per_flush", "write_latency_p50_ns"} {
			if _, ok := got[key]; !ok {
				t.Errorf("JSON key %q: missing", key)
			}
		}
	}
}
