package sserelay_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const endpointEnv = "LASTEVENT_DYNAMODB_ENDPOINT"

// skipOrFail skips the test for a missing prerequisite, or fails it under
// CI, where a skip would hide the suite.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// eventsourceClient returns the command line of tools/eventsource/client.js
// (the npm eventsource package, an SSE client not written here), installing
// it with npm ci if needed. Without node or the package it returns ok false
// and the test uses our client in its place, except under CI, where it
// fails.
func eventsourceClient(t *testing.T) (node, script string, ok bool) {
	t.Helper()
	unavailable := func(msg string) (string, string, bool) {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Log(msg + "; using our client in place of the npm eventsource client")
		return "", "", false
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return unavailable("node is not installed")
	}
	dir, err := filepath.Abs("../../tools/eventsource")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "eventsource")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return unavailable(fmt.Sprintf("npm ci in tools/eventsource: %v\n%s", err, out))
		}
	}
	return node, filepath.Join(dir, "client.js"), true
}

// startThirdPartyClient starts the npm eventsource client on url for n
// events (0: until the test ends), or our client where that is unavailable
// (see eventsourceClient).
func startThirdPartyClient(t *testing.T, bin, url string, n int) *proc {
	t.Helper()
	if node, script, ok := eventsourceClient(t); ok {
		if n == 0 {
			return start(t, "eventsource", node, script, url)
		}
		return start(t, "eventsource", node, script, url, strconv.Itoa(n))
	}
	return start(t, "eventsource-substitute", filepath.Join(bin, "client"), "-url", url, "-n", strconv.Itoa(n))
}

func TestEndToEnd(t *testing.T) {
	bin := buildCommands(t)
	t.Run("UpstreamDropsAndOverlaps", func(t *testing.T) { testUpstreamDrops(t, bin) })
	t.Run("RelayKilledAndRestartedOnDynamoDB", func(t *testing.T) { testRelayRestart(t, bin) })
	t.Run("CleanRestartsOnDynamoDB", func(t *testing.T) { testCleanRestarts(t, bin) })
	t.Run("Browser", func(t *testing.T) { testBrowser(t, bin) })
}

// A client reads through the relay while the upstream drops the connection
// (also in the middle of an event) and resends overlaps on every reconnect:
// two clients, ours and the npm eventsource package, each see every event
// exactly once, in order. The relay really dropped duplicates, and exits
// cleanly on SIGTERM.
func testUpstreamDrops(t *testing.T, bin string) {
	const n = 500
	deadline := time.Now().Add(40 * time.Second)
	up := start(t, "upstream", filepath.Join(bin, "upstream"),
		"-interval", "2ms", "-drop", "0.02", "-overlap", "8", "-seed", "7", "-retry", "20ms")
	upURL := up.url(t)
	relay := start(t, "relay", filepath.Join(bin, "relay"), "-upstream", upURL, "-backend", "memory",
		"-max-overlap", "8", "-heartbeat", "200ms", "-client-retry", "100ms", "-backoff-min", "20ms")
	relayURL := relay.url(t)

	ours := start(t, "client", filepath.Join(bin, "client"), "-url", relayURL, "-n", strconv.Itoa(n))
	es := startThirdPartyClient(t, bin, relayURL, n)

	checkExactlyOnce(t, "client", ours.collect(t, nil, n, deadline), n)
	checkExactlyOnce(t, es.name, es.collect(t, nil, n, deadline), n)

	relay.signal(syscall.SIGTERM)
	if err := relay.wait(t, 10*time.Second); err != nil {
		t.Fatalf("relay after SIGTERM: %v, want a clean exit", err)
	}
	upLog, relayLog := up.stderrText(t), relay.stderrText(t)
	drops, overlaps := countLines(upLog, "upstream: drop"), len(regexp.MustCompile(`overlap=[1-9]`).FindAllString(upLog, -1))
	dups := 0
	if m := regexp.MustCompile(`duplicates_dropped=(\d+)`).FindStringSubmatch(relayLog); m != nil {
		dups, _ = strconv.Atoi(m[1])
	}
	t.Logf("upstream drops %d (%d mid-event), reconnects with overlap %d; relay dropped %d duplicates",
		drops, countLines(upLog, "upstream: drop", "mid_event=true"), overlaps, dups)
	if drops < 3 || overlaps < 1 || dups < 1 {
		t.Fatalf("the test did not exercise what it claims: %d drops, %d overlapping reconnects, %d duplicates dropped", drops, overlaps, dups)
	}
	if countLines(relayLog, "tracker closed") != 1 {
		t.Fatal("relay did not close its tracker on SIGTERM")
	}
}

// The relay is SIGKILLed mid-stream and restarted on the same DynamoDB
// table. The npm eventsource client, connected throughout, reconnects by
// itself with its Last-Event-ID, which is ahead of the stored checkpoint
// (the flush interval lags). Our client stopped early and comes back after
// the restart with a Last-Event-ID behind the checkpoint. Both see every
// event exactly once, in order, with no gap.
func testRelayRestart(t *testing.T, bin string) {
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		skipOrFail(t, endpointEnv+" is unset: run `make test`, or tools/dynalite/run.sh go test ./examples/sserelay/")
	}
	const n, early, killAt = 600, 40, 250
	deadline := time.Now().Add(45 * time.Second)
	table := fmt.Sprintf("sserelay-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
	up := start(t, "upstream", filepath.Join(bin, "upstream"),
		"-interval", "3ms", "-drop", "0.01", "-overlap", "8", "-seed", "11", "-retry", "20ms")
	upURL := up.url(t)
	relayArgs := []string{"-upstream", upURL, "-backend", "dynamodb", "-endpoint", endpoint, "-table", table,
		"-create-table", "-flush-interval", "150ms", "-max-overlap", "8", "-heartbeat", "200ms",
		"-client-retry", "100ms", "-backoff-min", "20ms"}
	relay1 := start(t, "relay-1", filepath.Join(bin, "relay"), append(relayArgs, "-listen", "127.0.0.1:0")...)
	relayURL := relay1.url(t)
	addr := regexp.MustCompile(`//([^/]+)/`).FindStringSubmatch(relayURL)[1]

	es := startThirdPartyClient(t, bin, relayURL, n)
	behind := start(t, "client-early", filepath.Join(bin, "client"), "-url", relayURL, "-n", strconv.Itoa(early))
	gotBehind := behind.collect(t, nil, early, deadline)
	if err := behind.wait(t, 10*time.Second); err != nil {
		t.Fatalf("client -n %d: %v", early, err)
	}

	gotES := es.collect(t, nil, killAt, deadline)
	relay1.signal(syscall.SIGKILL)
	_ = relay1.wait(t, 10*time.Second)

	relay2 := start(t, "relay-2", filepath.Join(bin, "relay"), append(relayArgs, "-listen", addr)...)
	relay2.url(t)
	m := regexp.MustCompile(`checkpoint_seq=(\d+)`).FindStringSubmatch(relay2.stderrText(t))
	if m == nil {
		t.Fatal("relay-2 logged no resumed checkpoint")
	}
	seq, _ := strconv.Atoi(m[1])
	t.Logf("killed the relay after eventsource had %d events; relay-2 resumed checkpoint seq %d; the early client stopped at %d", len(gotES), seq, early)
	if seq <= early {
		t.Fatalf("checkpoint seq %d is not ahead of the early client's %d events: the test does not cover a checkpoint that leads a client", seq, early)
	}

	back := start(t, "client-back", filepath.Join(bin, "client"), "-url", relayURL,
		"-last-event-id", gotBehind[early-1].ID, "-n", strconv.Itoa(n-early))
	gotES = es.collect(t, gotES, n, deadline)
	checkExactlyOnce(t, es.name, gotES, n)
	checkExactlyOnce(t, "client (stopped, then resumed)", back.collect(t, gotBehind, n, deadline), n)

	// The mechanisms the README describes really ran: the connected client
	// reconnected by itself, and relay-2 served a client its buffer did
	// not hold from a catch-up stream.
	if es.name == "eventsource" && countLines(es.stderrText(t), "client.js: connected") < 2 {
		t.Fatal("the eventsource client never reconnected")
	}
	if countLines(relay2.stderrText(t), "catching up from upstream") < 1 {
		t.Fatal("relay-2 served no client from a catch-up stream")
	}
	relay2.signal(syscall.SIGTERM)
	if err := relay2.wait(t, 10*time.Second); err != nil {
		t.Fatalf("relay-2 after SIGTERM: %v, want a clean exit", err)
	}
}

// The relay is stopped cleanly (SIGTERM: its Tracker writes the newest
// checkpoint) and started again on the same DynamoDB table and port, 8
// times, while an upstream that resends an overlap of up to 8 events on
// every reconnect keeps going. Two clients connected throughout (the npm
// eventsource client and ours) reconnect by themselves after each restart
// and see every event exactly once, in order. This is the scenario "8
// clean restarts, 7 events reached clients twice": after each restart the
// relay asks the upstream for its checkpoint, and the overlap before it is
// dropped only because the checkpoint carries the Tracker's recent window
// (shard.Config.PersistWindow), which Resume restores.
func testCleanRestarts(t *testing.T, bin string) {
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		skipOrFail(t, endpointEnv+" is unset: run `make test`, or tools/dynalite/run.sh go test ./examples/sserelay/")
	}
	const restarts, every, tail = 8, 40, 200
	deadline := time.Now().Add(50 * time.Second)
	table := fmt.Sprintf("sserelay-e2e-clean-%d-%d", os.Getpid(), time.Now().UnixNano())
	up := start(t, "upstream", filepath.Join(bin, "upstream"),
		"-interval", "3ms", "-overlap", "8", "-seed", "13", "-retry", "20ms")
	upURL := up.url(t)
	relayArgs := []string{"-upstream", upURL, "-backend", "dynamodb", "-endpoint", endpoint, "-table", table,
		"-create-table", "-flush-interval", "50ms", "-max-overlap", "8", "-heartbeat", "200ms",
		"-client-retry", "100ms", "-backoff-min", "20ms"}
	relay := start(t, "relay-0", filepath.Join(bin, "relay"), append(relayArgs, "-listen", "127.0.0.1:0")...)
	relayURL := relay.url(t)
	addr := regexp.MustCompile(`//([^/]+)/`).FindStringSubmatch(relayURL)[1]

	// The clients read until the test ends: the upstream runs ahead of
	// them while a relay restarts, so no fixed count would outlast the
	// restarts on every machine.
	es := startThirdPartyClient(t, bin, relayURL, 0)
	ours := start(t, "client", filepath.Join(bin, "client"), "-url", relayURL, "-backoff-max", "200ms")
	var gotES, gotOurs []received
	dropped := 0
	for i := 1; i <= restarts; i++ {
		// Each relay serves both clients, and they get events from it,
		// before it stops.
		relay.awaitLog(t, "relay: client connected", 2, deadline)
		gotES = es.collect(t, gotES, len(gotES)+every, deadline)
		gotOurs = ours.collect(t, gotOurs, len(gotOurs)+every, deadline)
		relay.signal(syscall.SIGTERM)
		if err := relay.wait(t, 10*time.Second); err != nil {
			t.Fatalf("relay-%d after SIGTERM: %v, want a clean exit", i-1, err)
		}
		log := relay.stderrText(t)
		if countLines(log, "tracker closed") != 1 {
			t.Fatalf("relay-%d did not close its tracker on SIGTERM", i-1)
		}
		if m := regexp.MustCompile(`duplicates_dropped=(\d+)`).FindStringSubmatch(log); m != nil {
			d, _ := strconv.Atoi(m[1])
			dropped += d
		}
		relay = start(t, fmt.Sprintf("relay-%d", i), filepath.Join(bin, "relay"), append(relayArgs, "-listen", addr)...)
		relay.url(t)
	}
	relay.awaitLog(t, "relay: client connected", 2, deadline)
	n := max(len(gotES), len(gotOurs)) + tail
	gotES = es.collect(t, gotES, n, deadline)
	gotOurs = ours.collect(t, gotOurs, n, deadline)
	checkExactlyOnce(t, es.name, gotES[:n], n)
	checkExactlyOnce(t, "client", gotOurs[:n], n)

	relay.signal(syscall.SIGTERM)
	if err := relay.wait(t, 10*time.Second); err != nil {
		t.Fatalf("relay-%d after SIGTERM: %v, want a clean exit", restarts, err)
	}
	// The scenario really ran: the upstream resent overlaps on reconnects
	// and the restarted relays dropped them.
	overlaps := len(regexp.MustCompile(`overlap=[2-9]`).FindAllString(up.stderrText(t), -1))
	t.Logf("%d clean restarts; upstream reconnects with an overlap of 2 or more: %d; duplicates the relays dropped: %d", restarts, overlaps, dropped)
	if overlaps < restarts/2 || dropped < restarts {
		t.Fatalf("the test did not exercise what it claims: %d overlapping reconnects, %d duplicates dropped", overlaps, dropped)
	}
	if es.name == "eventsource" && countLines(es.stderrText(t), "client.js: connected") < restarts+1 {
		t.Fatalf("the eventsource client connected %d times, want once per relay (%d)", countLines(es.stderrText(t), "client.js: connected"), restarts+1)
	}
}
