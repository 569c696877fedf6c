package redis_test

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	lastredis "github.com/lastevent/lastevent/backends/redis"
)

// offline is a client that is never used: New makes no request.
func offline(t *testing.T) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	client := offline(t)
	for _, tc := range []struct {
		cfg   lastredis.Config
		field string
	}{
		{lastredis.Config{Prefix: strings.Repeat("p", lastredis.MaxPrefixBytes+1)}, "Config.Prefix"},
		{lastredis.Config{Prefix: "app:{x}:"}, "Config.Prefix"},
		{lastredis.Config{Prefix: "app:}"}, "Config.Prefix"},
		{lastredis.Config{HashTag: strings.Repeat("t", lastredis.MaxHashTagBytes+1)}, "Config.HashTag"},
		{lastredis.Config{HashTag: "a{b"}, "Config.HashTag"},
		{lastredis.Config{TTL: -time.Second}, "Config.TTL"},
		{lastredis.Config{TTL: 999 * time.Millisecond}, "Config.TTL"},
	} {
		b, err := lastredis.New(client, tc.cfg)
		if err == nil || b != nil {
			t.Errorf("New(%+v): got (%v, %v), want an error naming %s", tc.cfg, b, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New(%+v): error %q does not name %s", tc.cfg, err, tc.field)
		}
	}
	if b, err := lastredis.New(nil, lastredis.Config{}); err == nil || b != nil {
		t.Errorf("New(nil client): got (%v, %v), want an error", b, err)
	}
}

func TestConfigDefaults(t *testing.T) {
	b, err := lastredis.New(offline(t), lastredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.Config()
	if cfg.Prefix != lastredis.DefaultPrefix || cfg.HashTag != "" || cfg.TTL != 0 || cfg.Now == nil {
		t.Fatalf("defaults: got %+v, want prefix %q, no hash tag, no TTL, a clock", cfg, lastredis.DefaultPrefix)
	}
}

// The key layout documented in the package doc: Prefix, the hash tag in
// braces if set, then the session as it is.
func TestKeyLayout(t *testing.T) {
	client := offline(t)
	for _, tc := range []struct {
		cfg     lastredis.Config
		session string
		want    string
	}{
		{lastredis.Config{}, "session-1", "lastevent:session-1"},
		{lastredis.Config{Prefix: "gw:cp:"}, "s", "gw:cp:s"},
		{lastredis.Config{HashTag: "cp"}, "session-1", "lastevent:{cp}session-1"},
		{lastredis.Config{Prefix: "gw:", HashTag: "ckpt"}, "a{b}c", "gw:{ckpt}a{b}c"},
		{lastredis.Config{}, "漢字 with spaces", "lastevent:漢字 with spaces"},
	} {
		b, err := lastredis.New(client, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Key(tc.session); got != tc.want {
			t.Errorf("Key(%q) with %+v: got %q, want %q", tc.session, tc.cfg, got, tc.want)
		}
	}
}
