package relay

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// corsCase is one request to a relay and what its answer must carry.
type corsCase struct {
	name, method, origin string
	preflight            bool // sends Access-Control-Request-Method (and -Headers)
	status               int
	acao                 string // Access-Control-Allow-Origin; "" for none
	vary                 bool   // Vary contains Origin
}

func (tc corsCase) run(t *testing.T, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, tc.method, url, nil)
	if tc.origin != "" {
		req.Header.Set("Origin", tc.origin)
	}
	if tc.preflight {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // a stream ends with it
	if resp.StatusCode != tc.status {
		t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.acao {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tc.name, got, tc.acao)
	}
	if got := slices.Contains(resp.Header.Values("Vary"), "Origin"); got != tc.vary {
		t.Errorf("%s: Vary %q contains Origin: %v, want %v", tc.name, resp.Header.Values("Vary"), got, tc.vary)
	}
	return resp
}

func silentUpstream(t *testing.T) string {
	return serveUpstream(t, &scripted{serve: func(_ int, _ *sse.Writer, r *http.Request) { wait(r) }})
}

// By default the relay is same-origin: it sends no CORS header at all, and
// refuses no request for its Origin (the browser enforces the policy).
func TestCORSOffByDefault(t *testing.T) {
	r, url := startRelay(t, Config{URL: silentUpstream(t)})
	for _, tc := range []corsCase{
		{name: "GET from another origin", method: "GET", origin: "http://other.example", status: 200},
		{name: "preflight", method: "OPTIONS", origin: "http://other.example", preflight: true, status: 403},
		{name: "plain OPTIONS", method: "OPTIONS", status: 204},
	} {
		resp := tc.run(t, url)
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: header %s sent with CORS off", tc.name, k)
			}
		}
	}
	if n := r.Stats().CORSDenied; n != 0 {
		t.Fatalf("CORS denied %d with CORS off, want 0", n)
	}
}

// With AllowedOrigins, an allowed origin is echoed with Vary: Origin and
// its preflight is answered; any other origin is refused with 403 and no
// CORS header; requests without Origin, or from the relay's own origin,
// are served.
func TestCORSAllowedOrigins(t *testing.T) {
	r, url := startRelay(t, Config{URL: silentUpstream(t), AllowedOrigins: []string{"http://app.example", "HTTPS://Other.Example:8443"}})
	own := "http://" + strings.TrimPrefix(url, "http://")
	for _, tc := range []corsCase{
		{name: "GET from an allowed origin", method: "GET", origin: "http://app.example", status: 200, acao: "http://app.example", vary: true},
		{name: "GET from an allowed origin, normalized", method: "GET", origin: "https://other.example:8443", status: 200, acao: "https://other.example:8443", vary: true},
		{name: "GET from a refused origin", method: "GET", origin: "http://evil.example", status: 403, vary: true},
		{name: "GET from another port of an allowed host", method: "GET", origin: "http://app.example:81", status: 403, vary: true},
		{name: "GET without Origin", method: "GET", status: 200, vary: true},
		{name: "GET from the relay's own origin", method: "GET", origin: own, status: 200, vary: true},
		{name: "preflight from a refused origin", method: "OPTIONS", origin: "http://evil.example", preflight: true, status: 403, vary: true},
		{name: "POST", method: "POST", origin: "http://app.example", status: 405, acao: "http://app.example", vary: true},
	} {
		tc.run(t, url)
	}
	if n := r.Stats().CORSDenied; n != 2 {
		t.Fatalf("CORS denied %d, want 2 (the two refused GETs)", n)
	}

	resp := corsCase{name: "preflight from an allowed origin", method: "OPTIONS", origin: "http://app.example", preflight: true,
		status: 204, acao: "http://app.example", vary: true}.run(t, url)
	for k, want := range map[string]string{
		"Access-Control-Allow-Methods": "GET",
		"Access-Control-Allow-Headers": "Last-Event-ID, Cache-Control",
		"Access-Control-Max-Age":       "600",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("preflight: %s %q, want %q", k, got, want)
		}
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("preflight: Access-Control-Allow-Credentials %q without AllowCredentials, want none", got)
	}
}

// "*" allows every origin, still echoing it (so credentials can work), and
// AllowCredentials adds Access-Control-Allow-Credentials.
func TestCORSAnyOriginWithCredentials(t *testing.T) {
	_, url := startRelay(t, Config{URL: silentUpstream(t), AllowedOrigins: []string{"*"}, AllowCredentials: true})
	resp := corsCase{name: "GET from any origin", method: "GET", origin: "http://whoever.example", status: 200,
		acao: "http://whoever.example", vary: true}.run(t, url)
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Fatalf("Access-Control-Allow-Credentials %q, want true", got)
	}
}
