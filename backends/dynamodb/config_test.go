package dynamodb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
)

func TestNewValidatesConfig(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1"}) // makes no request
	for _, tc := range []struct {
		cfg  lastdynamo.Config
		want string
	}{
		{lastdynamo.Config{}, "Config.Table: required"},
		{lastdynamo.Config{Table: "ab"}, "Config.Table"},
		{lastdynamo.Config{Table: "bad name"}, "Config.Table"},
		{lastdynamo.Config{Table: strings.Repeat("t", 256)}, "Config.Table"},
		{lastdynamo.Config{Table: "tbl", TTL: -time.Second}, "Config.TTL"},
		{lastdynamo.Config{Table: "tbl", TTL: time.Millisecond}, "Config.TTL"},
		{lastdynamo.Config{Table: "tbl", MaxInFlight: -1}, "Config.MaxInFlight"},
		{lastdynamo.Config{Table: "tbl", MaxInFlight: lastdynamo.MaxMaxInFlight + 1}, "Config.MaxInFlight"},
		{lastdynamo.Config{Table: "tbl", Mode: 7}, "Config.Mode"},
		{lastdynamo.Config{Table: "tbl", RetryBaseDelay: -1}, "Config.RetryBaseDelay"},
		{lastdynamo.Config{Table: "tbl", RetryBaseDelay: time.Second, RetryMaxDelay: time.Millisecond}, "Config.RetryMaxDelay"},
		{lastdynamo.Config{Table: "tbl", SeqAttribute: "session"}, "Config.SeqAttribute"},
		{lastdynamo.Config{Table: "tbl", TTL: time.Hour, TTLAttribute: "updated_at"}, "Config.TTLAttribute"},
		{lastdynamo.Config{Table: "tbl", EventIDAttribute: strings.Repeat("a", 256)}, "Config.EventIDAttribute"},
		{lastdynamo.Config{Table: "tbl", WindowAttribute: "seq"}, "Config.WindowAttribute"},
		{lastdynamo.Config{Table: "tbl", EventIDAttribute: "w"}, "Config.WindowAttribute"},
		{lastdynamo.Config{Table: "tbl", WindowAttribute: strings.Repeat("w", 256)}, "Config.WindowAttribute"},
		{lastdynamo.Config{Table: "tbl", TTL: time.Hour, TTLAttribute: "w"}, "Config.TTLAttribute"},
	} {
		b, err := lastdynamo.New(client, tc.cfg)
		if err == nil {
			_ = b.Close()
			t.Errorf("New(%+v): got nil error, want one naming %s", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): got %q, want it to name %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := lastdynamo.New(nil, lastdynamo.Config{Table: "tbl"}); err == nil {
		t.Error("New(nil client): got nil error")
	}
}

func TestConfigDefaults(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1"})
	b, err := lastdynamo.New(client, lastdynamo.Config{Table: "tbl", TTLAttribute: "ignored-without-ttl"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := b.Config()
	if c.SessionAttribute != "session" || c.EventIDAttribute != "event_id" || c.SeqAttribute != "seq" ||
		c.UpdatedAtAttribute != "updated_at" || c.WindowAttribute != "w" || c.TTLAttribute != "" || c.MaxInFlight != lastdynamo.DefaultMaxInFlight ||
		c.Mode != lastdynamo.Conditional || c.RetryBaseDelay != lastdynamo.DefaultRetryBaseDelay ||
		c.RetryMaxDelay != lastdynamo.DefaultRetryMaxDelay || c.Now == nil {
		t.Fatalf("defaults: got %+v", c)
	}
	b2, err := lastdynamo.New(client, lastdynamo.Config{Table: "tbl", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if got := b2.Config().TTLAttribute; got != "expires_at" {
		t.Fatalf("TTLAttribute with TTL set: got %q, want expires_at", got)
	}
	if lastdynamo.Conditional.String() != "conditional" || lastdynamo.Batch.String() != "batch" || lastdynamo.Mode(9).String() != "Mode(9)" {
		t.Fatal("Mode.String")
	}
}
