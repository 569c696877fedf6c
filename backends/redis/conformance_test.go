package redis_test

import (
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/backendtest"
	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
	"github.com/lastevent/lastevent/core"
)

// The whole core.Backend contract, with no exemption, in the default key
// layout and with a hash tag and a TTL. Reopen opens a second client and a
// second Backend on the same prefix, as a second process would, so
// concurrent writers race through two connections pools and only the
// script, running atomically in Redis, keeps each session's highest Seq.
// Corrupt writes hashes with malformed windows with a plain HSET, as a
// foreign writer would.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  lastredis.Config
	}{
		{"default", lastredis.Config{}},
		{"hashtag-ttl", lastredis.Config{HashTag: "lastevent", TTL: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := redistest.Require(t)
			client := redistest.Client(t, addr)
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) core.Backend {
					return newBackend(t, client, tc.cfg)
				},
				Reopen: func(t *testing.T, b core.Backend) core.Backend {
					return newBackend(t, redistest.Client(t, addr), b.(*lastredis.Backend).Config())
				},
				Corrupt: func(t *testing.T, b core.Backend, c core.Checkpoint) {
					putRaw(t, client, b.(*lastredis.Backend).Key(c.Session), c)
				},
			})
		})
	}
}
