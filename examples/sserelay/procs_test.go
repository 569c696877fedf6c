package sserelay_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildCommands builds upstream, relay and client into dir (with -race when
// the tests run with it) and returns dir.
func buildCommands(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./upstream", "./relay", "./client")
	cmd := exec.Command(goBin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// proc is a command the test started. Its stdout arrives line by line on
// lines; its stderr goes to a file, shown when the test fails.
type proc struct {
	name    string
	cmd     *exec.Cmd
	lines   chan string
	stderr  string // path
	readers sync.WaitGroup
	exited  chan struct{}
	waitErr error
}

// start runs bin with args; the process is killed when the test ends.
func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, lines: make(chan string, 100000), exited: make(chan struct{})}
	p.stderr = filepath.Join(t.TempDir(), name+".stderr")
	errFile, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = errFile
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.readers.Add(1)
	go func() {
		defer p.readers.Done()
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	go func() {
		p.readers.Wait() // Wait must follow the last read of the pipe
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			if b, err := os.ReadFile(p.stderr); err == nil {
				t.Logf("--- %s stderr (last 3000 bytes):\n%s", name, tail(string(b), 3000))
			}
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *proc) signal(sig syscall.Signal) {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig) // fails only if it already exited
	}
}

// wait waits for the process to exit and returns its error.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v", p.name, timeout)
		return nil
	}
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// url waits for the process's "listening on URL" line.
func (p *proc) url(t *testing.T) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s exited before listening", p.name)
			}
			if m := listenRE.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-deadline:
			t.Fatalf("%s did not report its address", p.name)
		}
	}
}

// stderrText returns what the process logged so far.
func (p *proc) stderrText(t *testing.T) string {
	b, err := os.ReadFile(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// awaitLog waits until the process has logged n lines containing sub.
func (p *proc) awaitLog(t *testing.T, sub string, n int, deadline time.Time) {
	t.Helper()
	for countLines(p.stderrText(t), sub) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s logged %q %d times before the deadline, want %d", p.name, sub, countLines(p.stderrText(t), sub), n)
		}
		time.Sleep(10 * time.Millisecond) // polling a log file in the test
	}
}

// received is one event a client printed.
type received struct {
	ID   string `json:"id"`
	Data string `json:"data"`
}

// collect reads a client's JSON lines until it has n events or the deadline
// passes, and returns the events.
func (p *proc) collect(t *testing.T, got []received, n int, deadline time.Time) []received {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for len(got) < n {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s exited after %d of %d events", p.name, len(got), n)
			}
			var r received
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s printed %q: %v", p.name, line, err)
			}
			got = append(got, r)
		case <-timer.C:
			t.Fatalf("%s: %d of %d events before the deadline; last %+v", p.name, len(got), n, last(got))
		}
	}
	return got
}

func last(r []received) any {
	if len(r) == 0 {
		return "none"
	}
	return r[len(r)-1]
}

// checkExactlyOnce fails unless got is events 1..n of the upstream, each
// once, in order, with non-empty IDs that identify them.
func checkExactlyOnce(t *testing.T, who string, got []received, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d events, want %d", who, len(got), n)
	}
	ids := make(map[string]int, n)
	for i, r := range got {
		first, _, _ := strings.Cut(r.Data, "\n")
		num, err := strconv.Atoi(strings.TrimPrefix(first, "event "))
		if err != nil || num != i+1 {
			t.Fatalf("%s: event #%d has data %q, want event %d (exactly once, in order, no gap)", who, i+1, r.Data, i+1)
		}
		if (i+1)%7 == 0 && r.Data != first+"\nsecond line of event "+strconv.Itoa(i+1) {
			t.Fatalf("%s: multi-line event %d arrived as %q", who, i+1, r.Data)
		}
		if prev, dup := ids[r.ID]; dup || r.ID == "" {
			t.Fatalf("%s: event %d has ID %q, also event %d's", who, i+1, r.ID, prev)
		}
		ids[r.ID] = i + 1
	}
}

// countLines counts log lines containing all of the substrings.
func countLines(text string, subs ...string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}
