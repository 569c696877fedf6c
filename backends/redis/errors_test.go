package redis_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
	"github.com/lastevent/lastevent/core"
)

// isRedisReply reports whether err still carries go-redis's error for a
// server reply.
func isRedisReply(err error) bool {
	var r goredis.Error
	return errors.As(err, &r)
}

// checkError asserts err is an *Error of the expected command, class and
// code that names session and seq and still unwraps to the cause as.
func checkError(t *testing.T, what string, err error, op, session string, seq uint64, code string, retryable bool, as func(error) bool) {
	t.Helper()
	var e *lastredis.Error
	switch {
	case !errors.As(err, &e):
		t.Errorf("%s: got %T %v, want a *redis.Error", what, err, err)
	case e.Op != op || e.Session != session || e.Seq != seq || e.Code != code || e.Retryable != retryable:
		t.Errorf("%s: got Op %q Session %q Seq %d Code %q Retryable %v, want %q %q %d %q %v (%v)",
			what, e.Op, e.Session, e.Seq, e.Code, e.Retryable, op, session, seq, code, retryable, err)
	case core.IsRetryable(err) != retryable || errors.Is(err, core.ErrRetryable) != retryable || errors.Is(err, core.ErrPermanent) == retryable:
		t.Errorf("%s: %v: class wrapping disagrees with retryable=%v", what, err, retryable)
	case !as(err):
		t.Errorf("%s: %v: the cause is not reachable with errors.As/Is", what, err)
	case !strings.Contains(err.Error(), code) || (session != "" && !strings.Contains(err.Error(), strconv.Quote(session))) ||
		(seq != 0 && !strings.Contains(err.Error(), fmt.Sprintf("seq %d", seq))):
		t.Errorf("%s: message %q does not name the code, session and seq", what, err)
	}
}

// fakeServer speaks just enough RESP for a go-redis client: it refuses
// HELLO (the client falls back to RESP2), accepts CLIENT and PING, and
// answers every other command with reply(args): a raw RESP reply, or ""
// for no answer at all. It is how the tests get the error replies a single
// real server cannot produce on demand (TRYAGAIN, CLUSTERDOWN, MOVED,
// LOADING ...), through the real client's parser.
type fakeServer struct {
	l     net.Listener
	reply func(args []string) string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startFake(t *testing.T, reply func(args []string) string) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{l: l, reply: reply}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(c)
	}
}

func (f *fakeServer) serve(c net.Conn) {
	defer f.wg.Done()
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var out string
		switch strings.ToUpper(args[0]) {
		case "HELLO":
			out = "-ERR unknown command 'HELLO'\r\n"
		case "CLIENT", "PING":
			out = "+OK\r\n"
		default:
			out = f.reply(args)
		}
		if out != "" {
			if _, err := io.WriteString(c, out); err != nil {
				return
			}
		}
	}
}

func (f *fakeServer) close() {
	f.l.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("fake server: want an array, got %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		head, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(head[1:]))
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

// fakeClient is a client of a fake server that does not retry, so each
// operation sends exactly one command.
func fakeClient(t *testing.T, addr string) *goredis.Client {
	return redistest.Client(t, addr, func(o *goredis.Options) {
		o.MaxRetries = -1
		o.DisableIdentity = true
	})
}

// Every error reply the backend classifies, as the server sends it, through
// go-redis's parser, for each operation: the code is the reply's first word,
// the class is the documented one, and the *Error names the checkpoint and
// unwraps to go-redis's error.
func TestErrorRepliesOfEveryOperation(t *testing.T) {
	for _, tc := range []struct {
		reply     string
		code      string
		retryable bool
	}{
		{"LOADING Redis is loading the dataset in memory", "LOADING", true},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", "BUSY", true},
		{"TRYAGAIN Multiple keys request during rehashing of slot", "TRYAGAIN", true},
		{"CLUSTERDOWN The cluster is down", "CLUSTERDOWN", true},
		{"CLUSTERDOWN Hash slot not served", "CLUSTERDOWN", true},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", "MASTERDOWN", true},
		{"READONLY You can't write against a read only replica.", "READONLY", true},
		{"MOVED 3999 127.0.0.1:6381", "MOVED", true},
		{"ASK 3999 127.0.0.1:6381", "ASK", true},
		{"OOM command not allowed when used memory > 'maxmemory'.", "OOM", true},
		{"NOREPLICAS Not enough good replicas to write.", "NOREPLICAS", true},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", "WRONGTYPE", false},
		{"NOAUTH Authentication required.", "NOAUTH", false},
		{"WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS", false},
		{"NOPERM User u has no permissions to run the 'evalsha' command", "NOPERM", false},
		{"ERR user_script:1: attempt to perform arithmetic on a nil value script: 9f3a, on @user_script:1.", "ERR", false},
		{"ERR Error running script (call to f_9f3a): @user_script:1: oops", "ERR", false},
		{"BADSEQ stored seq is not a positive decimal below 2^64", "BADSEQ", false},
		{"ERR unknown command 'evalsha'", "ERR", false},
		{"ERR max number of clients reached", lastredis.CodeMaxClients, true},
	} {
		t.Run(tc.code+"/"+firstWords(tc.reply), func(t *testing.T) {
			f := startFake(t, func([]string) string { return "-" + tc.reply + "\r\n" })
			b := newBackend(t, fakeClient(t, f.l.Addr().String()), lastredis.Config{})
			ctx := ctxT(t)
			in := []core.Checkpoint{cp("s1", "e", 3), cp("s2", "e", 4)}
			for i, r := range store(ctx, b, in...) {
				if r.Outcome != core.OutcomeFailed {
					t.Fatalf("Store(%+v): got %v, want failed", in[i], r.Outcome)
				}
				checkError(t, "Store", r.Err, "EVALSHA", in[i].Session, in[i].Seq, tc.code, tc.retryable, isRedisReply)
			}
			got, err := b.Load(ctx, []string{"s1", "s2"})
			if tc.code == "WRONGTYPE" { // a key of another type holds no checkpoint
				if err != nil || len(got) != 0 {
					t.Errorf("Load of WRONGTYPE keys: got (%v, %v), want both absent", got, err)
				}
			} else {
				checkError(t, "Load", err, "HMGET", "s1", 0, tc.code, tc.retryable, isRedisReply)
			}
			err = b.Delete(ctx, "s1")
			checkError(t, "Delete", err, "DEL", "s1", 0, tc.code, tc.retryable, isRedisReply)
			if code, retryable := lastredis.Classify(err); code != tc.code || retryable != tc.retryable {
				t.Errorf("Classify(%v): got (%q, %v), want (%q, %v)", err, code, retryable, tc.code, tc.retryable)
			}
		})
	}
}

func firstWords(s string) string {
	w := strings.Fields(s)
	return strings.Join(w[:min(2, len(w))], "-")
}

// Errors that are not server replies.
func TestClassifyWithoutAReply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		retryable bool
	}{
		{"nil", nil, "", false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, lastredis.CodeNetwork, true},
		{"EOF", io.EOF, lastredis.CodeNetwork, true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), lastredis.CodeNetwork, true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, lastredis.CodeTimeout, true},
		{"pool timeout", goredis.ErrPoolTimeout, lastredis.CodeTimeout, true},
		{"canceled", context.Canceled, lastredis.CodeCanceled, true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), lastredis.CodeCanceled, true},
		{"client closed", goredis.ErrClosed, lastredis.CodeClientClosed, false},
		{"NOSCRIPT twice", goredis.ErrNoScript, "NOSCRIPT", true},
		{"CROSSSLOT", goredis.ErrCrossSlot, "CROSSSLOT", false},
		{"an *Error keeps its class", &lastredis.Error{Code: "X", Retryable: false, Err: io.EOF}, "X", false},
		{"unknown", errors.New("something else"), lastredis.CodeUnknown, true},
	} {
		if code, retryable := lastredis.Classify(tc.err); code != tc.code || retryable != tc.retryable {
			t.Errorf("Classify(%s): got (%q, %v), want (%q, %v)", tc.name, code, retryable, tc.code, tc.retryable)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// A server that never answers: the Store ends with its context, each item
// failing retryably and wrapping context.DeadlineExceeded.
func TestStoreDeadline(t *testing.T) {
	f := startFake(t, func([]string) string { return "" })
	b := newBackend(t, fakeClient(t, f.l.Addr().String()), lastredis.Config{})
	ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
	defer cancel()
	in := []core.Checkpoint{cp("s1", "e", 1), cp("s2", "e", 2)}
	for i, r := range store(ctx, b, in...) {
		checkError(t, "Store past its deadline", r.Err, "EVALSHA", in[i].Session, in[i].Seq, lastredis.CodeCanceled, true,
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
	}
}

// Real servers, real errors: the classes of the failures the issue names
// as they come from redis-server itself.
func TestErrorsFromRealServers(t *testing.T) {
	ctx := ctxT(t)

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		b := newBackend(t, fakeClient(t, addr), lastredis.Config{})
		r := store(ctx, b, cp("s", "e", 1))[0]
		var opErr *net.OpError
		checkError(t, "Store to a closed port", r.Err, "EVALSHA", "s", 1, lastredis.CodeNetwork, true,
			func(err error) bool { return errors.As(err, &opErr) })
	})

	t.Run("client closed", func(t *testing.T) {
		client := goredis.NewClient(&goredis.Options{Addr: redistest.Require(t)})
		b := newBackend(t, client, lastredis.Config{})
		_ = client.Close()
		r := store(ctx, b, cp("s", "e", 1))[0]
		checkError(t, "Store through a closed client", r.Err, "EVALSHA", "s", 1, lastredis.CodeClientClosed, false,
			func(err error) bool { return errors.Is(err, goredis.ErrClosed) })
	})

	t.Run("auth", func(t *testing.T) {
		srv := redistest.Start(t, "--requirepass", "secret")
		noauth := newBackend(t, fakeClient(t, srv.Addr), lastredis.Config{})
		r := store(ctx, noauth, cp("s", "e", 1))[0]
		checkError(t, "Store without a password", r.Err, "EVALSHA", "s", 1, "NOAUTH", false, isRedisReply)
		wrong := newBackend(t, redistest.Client(t, srv.Addr, func(o *goredis.Options) { o.Password = "wrong"; o.MaxRetries = -1 }), lastredis.Config{})
		r = store(ctx, wrong, cp("s", "e", 1))[0]
		checkError(t, "Store with a wrong password", r.Err, "EVALSHA", "s", 1, "WRONGPASS", false, isRedisReply)
		_, err := wrong.Load(ctx, []string{"s"})
		checkError(t, "Load with a wrong password", err, "HMGET", "s", 0, "WRONGPASS", false, isRedisReply)
	})

	t.Run("acl", func(t *testing.T) {
		srv := redistest.Start(t)
		admin := redistest.Client(t, srv.Addr)
		for _, rule := range [][]any{
			{"ACL", "SETUSER", "nocmds", "on", ">pw", "~*", "+@all", "-evalsha", "-hmget", "-del"},
			{"ACL", "SETUSER", "noload", "on", ">pw", "~*", "+@all", "-script"},
		} {
			if err := admin.Do(ctx, rule...).Err(); err != nil {
				t.Fatal(err)
			}
		}
		as := func(user string) *lastredis.Backend {
			return newBackend(t, redistest.Client(t, srv.Addr, func(o *goredis.Options) { o.Username, o.Password, o.MaxRetries = user, "pw", -1 }), lastredis.Config{})
		}
		b := as("nocmds")
		r := store(ctx, b, cp("s", "e", 1))[0]
		checkError(t, "EVALSHA without permission", r.Err, "EVALSHA", "s", 1, "NOPERM", false, isRedisReply)
		_, err := b.Load(ctx, []string{"s"})
		checkError(t, "HMGET without permission", err, "HMGET", "s", 0, "NOPERM", false, isRedisReply)
		checkError(t, "DEL without permission", b.Delete(ctx, "s"), "DEL", "s", 0, "NOPERM", false, isRedisReply)
		// The script is not cached yet; the reload after NOSCRIPT is refused.
		r = store(ctx, as("noload"), cp("s", "e", 1))[0]
		checkError(t, "SCRIPT LOAD without permission", r.Err, "SCRIPT LOAD", "s", 1, "NOPERM", false, isRedisReply)
	})

	t.Run("replica", func(t *testing.T) {
		master := redistest.Start(t)
		mb := newBackend(t, redistest.Client(t, master.Addr), lastredis.Config{})
		mustStored(t, nil, store(ctx, mb, cp("s", "e", 1)))
		replica := redistest.Start(t, "--replicaof", "127.0.0.1", strings.Split(master.Addr, ":")[1])
		rb := newBackend(t, fakeClient(t, replica.Addr), mb.Config())
		r := store(ctx, rb, cp("s", "e2", 2))[0]
		checkError(t, "Store on a replica", r.Err, "EVALSHA", "s", 2, "READONLY", true, isRedisReply)

		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := l.Addr().(*net.TCPAddr).Port
		l.Close()
		orphan := redistest.Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(dead), "--replica-serve-stale-data", "no")
		ob := newBackend(t, fakeClient(t, orphan.Addr), lastredis.Config{})
		_, err = ob.Load(ctx, []string{"s"})
		checkError(t, "Load on a replica without its master", err, "HMGET", "s", 0, "MASTERDOWN", true, isRedisReply)
	})

	t.Run("busy", func(t *testing.T) {
		srv := redistest.Start(t, "--busy-reply-threshold", "20")
		b := newBackend(t, fakeClient(t, srv.Addr), lastredis.Config{})
		mustStored(t, nil, store(ctx, b, cp("s", "e", 1))) // script cached: the next Store is one EVALSHA
		runner := redistest.Client(t, srv.Addr, func(o *goredis.Options) { o.MaxRetries = -1 })
		done := make(chan error, 1)
		go func() { done <- runner.Eval(ctx, "while true do end", nil).Err() }()
		var seq uint64 = 1
		for {
			seq++
			r := store(ctx, b, cp("s", "e", seq))[0]
			if r.Outcome == core.OutcomeWritten { // the busy script has not started yet
				continue
			}
			checkError(t, "Store while a script runs too long", r.Err, "EVALSHA", "s", seq, "BUSY", true, isRedisReply)
			break
		}
		if err := redistest.Client(t, srv.Addr).ScriptKill(ctx).Err(); err != nil {
			t.Fatalf("SCRIPT KILL: %v", err)
		}
		if err := <-done; err == nil {
			t.Fatal("killed script: got nil error")
		}
		if r := store(ctx, b, cp("s", "e", seq+1))[0]; r.Outcome != core.OutcomeWritten {
			t.Fatalf("Store after SCRIPT KILL: got %v (%v), want written", r.Outcome, r.Err)
		}
	})
}
