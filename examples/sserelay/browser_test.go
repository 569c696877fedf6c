package sserelay_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromium is Debian's package: `make browser` installs it (apt-get install
// chromium) when missing; the test never downloads a browser.
const chromium = "/usr/bin/chromium"

// browserDriver returns the command line of tools/browser/eventsource_page.js
// (puppeteer-core, pinned by tools/browser/package-lock.json), installing
// it with npm ci if needed. Without chromium, node or the package it skips
// the test, except under CI, where it fails.
func browserDriver(t *testing.T) (node, script string) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		skipOrFail(t, chromium+" is missing: `make browser` installs it (apt-get update && apt-get install -y chromium, as root)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	dir, err := filepath.Abs("../../tools/browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			skipOrFail(t, fmt.Sprintf("npm ci in tools/browser: %v\n%s", err, out))
		}
	}
	return node, filepath.Join(dir, "eventsource_page.js")
}

// pageState is what the driver prints for a page in each phase.
type pageState struct {
	Phase      string   `json:"phase"`
	URL        string   `json:"url"`   // the EventSource's URL at the page's load
	Saved      *string  `json:"saved"` // the ID the page resumed from, null for none
	StartLen   int      `json:"startLen"`
	Count      int      `json:"count"` // events since the page's load
	First      *string  `json:"first"`
	Opened     int      `json:"opened"`
	Errors     int      `json:"errors"`
	ReadyState int      `json:"readyState"`
	Log        []string `json:"log"` // data of every event the origin's pages got
	Console    []string `json:"console"`
}

// eventNumber returns n for the data "event n" (its first line).
func eventNumber(data string) int {
	first, _, _ := strings.Cut(data, "\n")
	n, err := strconv.Atoi(strings.TrimPrefix(first, "event "))
	if err != nil {
		return -1
	}
	return n
}

// checkLog fails unless log is events 1..len(log), each once, in order.
func checkLog(t *testing.T, phase string, log []string) {
	t.Helper()
	for i, d := range log {
		if eventNumber(d) != i+1 {
			t.Fatalf("%s: the page's event #%d is %q, want event %d (every event once, in order, across reloads)", phase, i+1, d, i+1)
		}
	}
}

// A real browser (Debian's chromium, headless, driven by puppeteer-core)
// reads the relay from a page on another origin (another port), as a web
// app does: CORS lets the allowed origin read the stream and refuses
// another one; events arrive; after a page reload the page resumes with
// ?lastEventId=<saved> from where it was, without the whole stream again;
// and after a relay restart the browser's own EventSource reconnects,
// sending Last-Event-ID across origins (a CORS preflight), and goes on
// without a repeat or a gap.
func testBrowser(t *testing.T, bin string) {
	node, script := browserDriver(t)
	page, err := os.ReadFile("../../tools/browser/page.html")
	if err != nil {
		t.Fatal(err)
	}
	servePage := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	allowed := httptest.NewServer(servePage)
	defer allowed.Close()
	denied := httptest.NewServer(servePage) // another origin: another port
	defer denied.Close()

	deadline := time.Now().Add(50 * time.Second)
	up := start(t, "upstream", filepath.Join(bin, "upstream"), "-interval", "20ms", "-overlap", "3", "-seed", "5", "-retry", "20ms")
	upURL := up.url(t)
	relayArgs := []string{"-upstream", upURL, "-backend", "memory", "-max-overlap", "3", "-heartbeat", "200ms",
		"-client-retry", "200ms", "-backoff-min", "20ms", "-allow-origin", allowed.URL}
	relay := start(t, "relay-1", filepath.Join(bin, "relay"), append(relayArgs, "-listen", "127.0.0.1:0")...)
	relayURL := relay.url(t)
	addr := regexp.MustCompile(`//([^/]+)/`).FindStringSubmatch(relayURL)[1]

	driver := start(t, "chromium", node, script, allowed.URL+"/", denied.URL+"/", relayURL)
	next := func(phase string) pageState {
		t.Helper()
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		select {
		case line, ok := <-driver.lines:
			if !ok {
				t.Fatalf("the browser driver exited before phase %s:\n%s", phase, driver.stderrText(t))
			}
			var st pageState
			if err := json.Unmarshal([]byte(line), &st); err != nil || st.Phase != phase {
				t.Fatalf("the browser driver printed %q (%v), want phase %s", line, err, phase)
			}
			return st
		case <-timer.C:
			t.Fatalf("no phase %s from the browser before the deadline:\n%s", phase, driver.stderrText(t))
		}
		return pageState{}
	}

	loaded := next("loaded")
	if loaded.Saved != nil || loaded.URL != relayURL {
		t.Fatalf("first load: EventSource on %q with saved ID %v, want %q and none", loaded.URL, loaded.Saved, relayURL)
	}
	checkLog(t, "loaded", loaded.Log)

	reloaded := next("reloaded")
	checkLog(t, "reloaded", reloaded.Log)
	if reloaded.Saved == nil || reloaded.URL != relayURL+"?lastEventId="+*reloaded.Saved {
		t.Fatalf("after the reload: EventSource on %q, want %s?lastEventId=<the saved ID>", reloaded.URL, relayURL)
	}
	if reloaded.StartLen < 10 || reloaded.First == nil || eventNumber(*reloaded.First) != reloaded.StartLen+1 {
		t.Fatalf("after the reload, with %d events before it: the first event was %v, want event %d (resumed, not the whole stream)",
			reloaded.StartLen, reloaded.First, reloaded.StartLen+1)
	}
	if !strings.Contains(relay.stderrText(t), `msg="relay: client connected" remote=`) ||
		countLines(relay.stderrText(t), "relay: client connected", "last_event_id="+*reloaded.Saved, "from=query") != 1 {
		t.Fatalf("the relay did not log the reloaded page resuming from the query parameter at %s", *reloaded.Saved)
	}

	next("restart")
	relay.signal(syscall.SIGTERM)
	if err := relay.wait(t, 10*time.Second); err != nil {
		t.Fatalf("relay-1 after SIGTERM: %v, want a clean exit", err)
	}
	relay = start(t, "relay-2", filepath.Join(bin, "relay"), append(relayArgs, "-listen", addr)...)
	relay.url(t)
	driver.signal(syscall.SIGUSR1)
	reconnected := next("reconnected")
	checkLog(t, "reconnected", reconnected.Log)
	if countLines(relay.stderrText(t), "relay: client connected", "from=header") < 1 {
		t.Fatalf("relay-2 saw no client with a Last-Event-ID header: the browser did not reconnect by itself\n%s", relay.stderrText(t))
	}

	refused := next("denied")
	if refused.ReadyState != 2 || refused.Count != 0 || refused.Opened != 0 {
		t.Fatalf("page of a refused origin: readyState %d, %d events, opened %d times; want CLOSED (2), none, never",
			refused.ReadyState, refused.Count, refused.Opened)
	}
	t.Logf("browser: %d events before the reload, resumed at event %d; %d after the relay restart; refused origin's console: %q",
		reloaded.StartLen, reloaded.StartLen+1, len(reconnected.Log)-len(reloaded.Log), refused.Console)
	if err := driver.wait(t, 30*time.Second); err != nil {
		t.Fatalf("browser driver: %v\n%s", err, driver.stderrText(t))
	}
}
