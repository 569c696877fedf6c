// Package redistest is test support for the Redis backend: where the shared
// redis-server of tools/redis/run.sh is (LASTEVENT_REDIS_ADDR), clients for
// it, and private redis-server instances for tests that kill, restart or
// reconfigure a server, so they never disturb the shared one or the other
// packages testing against it at the same time.
//
//	addr := redistest.Require(t)                  // skips without a server, fails under CI
//	client := redistest.Client(t, addr)          // closed when t ends
//	srv := redistest.Start(t, "--appendonly", "yes") // a private server, stopped when t ends
//	srv.Kill(t); srv.Restart(t)                   // SIGKILL, then again on the same port and dir
//
// Concurrency: the functions may be called from parallel tests. A Server's
// methods must be called from one goroutine at a time.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Variables tools/redis/run.sh sets.
const (
	// AddrEnv names the shared server's host:port.
	AddrEnv = "LASTEVENT_REDIS_ADDR"
	// ServerEnv names the redis-server binary, for private instances.
	ServerEnv = "LASTEVENT_REDIS_SERVER"
)

// startTimeout bounds how long Start and Restart wait for a server to
// answer PING: long enough for a loaded CI machine to replay a test's AOF.
const startTimeout = 20 * time.Second

// Addr returns the shared server's address and whether one is configured.
func Addr() (string, bool) {
	a := os.Getenv(AddrEnv)
	return a, a != ""
}

// Require returns the shared server's address. Without one it skips tb
// with a message saying how to run it, or, under CI=true, where a skip
// would hide the suite, fails tb.
func Require(tb testing.TB) string {
	tb.Helper()
	a, ok := Addr()
	if !ok {
		unavailable(tb, AddrEnv+" is unset: run `make test`, which starts redis-server, or tools/redis/run.sh go test ./backends/redis/")
	}
	return a
}

// unavailable skips tb, or fails it under CI=true.
func unavailable(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Client returns a go-redis client for addr, closed when tb ends, with the
// options the backend's documentation recommends (ContextTimeoutEnabled)
// and short timeouts so a test never hangs on a dead server. opts adjust
// them.
func Client(tb testing.TB, addr string, opts ...func(*goredis.Options)) *goredis.Client {
	tb.Helper()
	o := &goredis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           5 * time.Second,
		WriteTimeout:          5 * time.Second,
		MaxRetries:            1,
		PoolSize:              8,
	}
	for _, f := range opts {
		f(o)
	}
	c := goredis.NewClient(o)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Server is a private redis-server a test started with Start.
type Server struct {
	// Addr is the server's host:port; it stays the same across Restart.
	Addr string
	// Dir is the server's working directory (RDB and AOF files), a
	// temporary directory of the test; it stays the same across Restart.
	Dir string

	bin    string
	args   []string
	proc   *os.Process // nil when not running
	exited chan error  // receives the process's exit, once
}

// Binary returns the redis-server binary: $LASTEVENT_REDIS_SERVER, else
// redis-server on PATH. Without one it skips tb, or fails it under CI.
func Binary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv(ServerEnv); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(tb, ServerEnv+" is unset and redis-server is not on PATH: run `make test` or tools/redis/run.sh go test ./backends/redis/")
	}
	return bin
}

// Start starts a private redis-server on a free port of 127.0.0.1 with its
// own temporary directory, no RDB snapshots and no AOF unless args (extra
// redis-server options, e.g. "--appendonly", "yes") say otherwise, and
// stops it when tb ends. It waits until the server answers PING.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	s := &Server{Dir: tb.TempDir(), bin: Binary(tb), args: args}
	var lastErr error
	for range 5 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: free port: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			tb.Cleanup(s.stop)
			return s
		}
	}
	tb.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return nil
}

// Kill sends SIGKILL to the server, as a crash would, and waits until the
// process is gone. The port is free again when it returns.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	if s.proc == nil {
		tb.Fatal("redistest: Kill: server not running")
	}
	if err := s.proc.Signal(syscall.SIGKILL); err != nil {
		tb.Fatalf("redistest: kill redis-server: %v", err)
	}
	<-s.exited
	s.proc = nil
}

// Restart starts the server again on the same port, directory and options
// after Kill; with AOF or an RDB file in Dir, it loads them first.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if s.proc != nil {
		tb.Fatal("redistest: Restart: server still running")
	}
	if err := s.start(); err != nil {
		tb.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

// Log returns the server's log file, for a failure message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	return string(b)
}

// start runs redis-server and waits until it answers PING, or fails if it
// exits first (its port taken) or does not answer within startTimeout.
func (s *Server) start() error {
	host, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{
		"--bind", host, "--port", port, "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}, s.args...) // later options override earlier ones
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // ends when the process does
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		err := ping(s.Addr)
		if err == nil {
			s.proc, s.exited = cmd.Process, exited
			return nil
		}
		retry := time.NewTimer(10 * time.Millisecond)
		select {
		case werr := <-exited:
			retry.Stop()
			return fmt.Errorf("exited (%v) before answering PING on %s: %s", werr, s.Addr, s.Log())
		case <-deadline.C:
			retry.Stop()
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("no PING reply on %s within %v (last error %v): %s", s.Addr, startTimeout, err, s.Log())
		case <-retry.C:
		}
	}
}

// ping sends one PING on a fresh connection and expects +PONG. Not a
// go-redis client: after failed dials its pool holds back new ones for a
// while, which would slow every start down.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	// A server loading its AOF answers -LOADING: not ready yet. Any other
	// answer (+PONG, or -NOAUTH with --requirepass) means it serves.
	if reply := string(buf[:n]); strings.HasPrefix(reply, "-LOADING") {
		return fmt.Errorf("PING replied %q", reply)
	}
	return nil
}

// stop kills the server if it runs; Start registers it with tb.Cleanup.
func (s *Server) stop() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill()
	<-s.exited
	s.proc = nil
}

// freePort returns a port the kernel considers free on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}
