package sse_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// decodeAll runs a Decoder over r to the end and reports what it saw in the
// reference parser's terms.
func decodeAll(t testing.TB, r io.Reader) (refResult, error) {
	t.Helper()
	dec := sse.NewDecoder(r)
	var res refResult
	for {
		ev, err := dec.Next()
		if err != nil {
			id, set := dec.LastEventID()
			res.LastID, res.LastIDSet = string(id), set
			res.Retry, res.RetrySet = dec.Retry()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return res, err
		}
		res.Events = append(res.Events, refEvent{ID: string(ev.ID), Type: string(ev.Type), Data: string(ev.Data), HasID: ev.HasID})
	}
}

// readers returns the ways a test feeds a stream: whole, byte by byte, in
// halves, with the data and io.EOF together.
func readers(s string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"onebyte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"dataerr":  func() io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"timeout":  func() io.Reader { return &retryTimeout{r: iotest.TimeoutReader(strings.NewReader(s))} },
		"emptyrds": func() io.Reader { return &emptyReads{r: strings.NewReader(s)} },
	}
}

// retryTimeout turns iotest.TimeoutReader's one ErrTimeout into a (0, nil)
// read, which a Decoder must survive.
type retryTimeout struct{ r io.Reader }

func (r *retryTimeout) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if errors.Is(err, iotest.ErrTimeout) {
		return n, nil
	}
	return n, err
}

// emptyReads returns (0, nil) before every real read.
type emptyReads struct {
	r    io.Reader
	flip bool
}

func (r *emptyReads) Read(p []byte) (int, error) {
	r.flip = !r.flip
	if r.flip {
		return 0, nil
	}
	return r.r.Read(p)
}

// checkStream decodes s every way readers offers, and also split in two at
// every offset, and compares with want.
func checkStream(t *testing.T, s string, want refResult) {
	t.Helper()
	try := func(name string, r io.Reader) {
		t.Helper()
		got, err := decodeAll(t, r)
		if err != nil {
			t.Fatalf("%s: %q: unexpected error %v", name, s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %q:\ngot  %+v\nwant %+v", name, s, got, want)
		}
	}
	for name, r := range readers(s) {
		try(name, r())
	}
	for i := 0; i <= len(s); i++ {
		try("split", io.MultiReader(strings.NewReader(s[:i]), strings.NewReader(s[i:])))
	}
}

func ev(id, typ, data string, hasID bool) refEvent {
	return refEvent{ID: id, Type: typ, Data: data, HasID: hasID}
}

// The examples of the HTML spec's "Parsing an event stream" section.
func TestDecoderSpecExamples(t *testing.T) {
	tests := []struct {
		name, in string
		want     refResult
	}{{
		name: "three messages, one of two lines",
		in:   "data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\ndata: This is the third message.\n\n",
		want: refResult{Events: []refEvent{
			ev("", "", "This is the first message.", false),
			ev("", "", "This is the second message, it\nhas two lines.", false),
			ev("", "", "This is the third message.", false),
		}, LastIDSet: true},
	}, {
		name: "event types",
		in:   "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
		want: refResult{Events: []refEvent{
			ev("", "add", "73857293", false), ev("", "remove", "2153", false), ev("", "add", "113411", false),
		}, LastIDSet: true},
	}, {
		name: "comment, id set and reset, unterminated last event discarded",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
		want: refResult{Events: []refEvent{
			ev("1", "", "first event", true), ev("", "", "second event", true),
		}, LastIDSet: true},
	}, {
		name: "fields without a colon: empty data, two empty lines",
		in:   "data\n\ndata\ndata\n\ndata:",
		want: refResult{Events: []refEvent{ev("", "", "", false), ev("", "", "\n", false)}, LastIDSet: true},
	}, {
		name: "one space after the colon is removed",
		in:   "data:test\n\ndata: test\n\n",
		want: refResult{Events: []refEvent{ev("", "", "test", false), ev("", "", "test", false)}, LastIDSet: true},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkStream(t, tt.in, tt.want) })
	}
}

func TestDecoderLineEndings(t *testing.T) {
	const lf = "id: 7\nevent: tick\ndata: a\ndata:  b\n\n: comment\ndata: c\n\n"
	want := refResult{Events: []refEvent{ev("7", "tick", "a\n b", true), ev("7", "", "c", false)}, LastID: "7", LastIDSet: true}
	for name, eol := range map[string]string{"LF": "\n", "CRLF": "\r\n", "CR": "\r"} {
		t.Run(name, func(t *testing.T) { checkStream(t, strings.ReplaceAll(lf, "\n", eol), want) })
	}
	t.Run("mixed", func(t *testing.T) {
		checkStream(t, "id: 7\revent: tick\r\ndata: a\ndata:  b\r\r\n: comment\rdata: c\n\r", want)
	})
	t.Run("CR then LF is one line ending, LF then CR two", func(t *testing.T) {
		checkStream(t, "data: a\r\n\r\ndata: b\n\r", refResult{
			Events: []refEvent{ev("", "", "a", false), ev("", "", "b", false)}, LastIDSet: true,
		})
	})
}

func TestDecoderBOM(t *testing.T) {
	const bom = "\xEF\xBB\xBF"
	one := refResult{Events: []refEvent{ev("", "", "x", false)}, LastIDSet: true}
	checkStream(t, bom+"data: x\n\n", one)
	checkStream(t, "data: x\n\n", one)
	// Only one BOM is stripped: the second makes the field name unknown.
	checkStream(t, bom+bom+"data: x\n\ndata: y\n\n", refResult{Events: []refEvent{ev("", "", "y", false)}, LastIDSet: true})
	// A BOM is stripped only at the very start.
	checkStream(t, "data: x\n\n"+bom+"data: y\n\n", refResult{Events: []refEvent{ev("", "", "x", false)}, LastIDSet: true})
	// A stream shorter than a BOM.
	checkStream(t, "\xEF\xBB", refResult{})
	checkStream(t, "\n", refResult{LastIDSet: true})
}

func TestDecoderFields(t *testing.T) {
	tests := []struct {
		name, in string
		want     refResult
	}{
		{"no data: not dispatched, but last event ID set", "id: 5\n\n", refResult{LastID: "5", LastIDSet: true}},
		{"id persists across events", "id: 1\ndata: a\n\ndata: b\n\n", refResult{
			Events: []refEvent{ev("1", "", "a", true), ev("1", "", "b", false)}, LastID: "1", LastIDSet: true}},
		{"id with NUL ignored", "id: 1\n\nid: 2\x003\ndata: a\n\n", refResult{
			Events: []refEvent{ev("1", "", "a", false)}, LastID: "1", LastIDSet: true}},
		{"event type cleared by an undispatched event", "event: x\n\ndata: y\n\n", refResult{
			Events: []refEvent{ev("", "", "y", false)}, LastIDSet: true}},
		{"event field without colon resets type", "event: x\nevent\ndata: y\n\n", refResult{
			Events: []refEvent{ev("", "", "y", false)}, LastIDSet: true}},
		{"unknown fields and colon-only lines ignored", "foo: bar\n:\nDATA: no\ndata: yes\n\n", refResult{
			Events: []refEvent{ev("", "", "yes", false)}, LastIDSet: true}},
		{"value keeps further colons and spaces", "data:  a: b \n\n", refResult{
			Events: []refEvent{ev("", "", " a: b ", false)}, LastIDSet: true}},
		{"retry digits", "retry: 2500\n", refResult{Retry: 2500 * time.Millisecond, RetrySet: true}},
		{"retry not all digits ignored", "retry: 1000\nretry: 2x\nretry: -1\nretry:  3\nretry:\n", refResult{Retry: time.Second, RetrySet: true}},
		{"retry saturates", "retry: 99999999999999999999999\n", refResult{Retry: 1<<63 - 1, RetrySet: true}},
		{"pending event discarded at EOF", "data: a\n", refResult{}},
		{"unterminated id line ignored at EOF", "data: a\n\nid: 9", refResult{Events: []refEvent{ev("", "", "a", false)}, LastIDSet: true}},
		{"invalid UTF-8 replaced per maximal subpart", "data: a\xffb\xe2\x82c\xed\xa0\x80\xf0\x9f\x98\x80\n\n", refResult{
			Events: []refEvent{ev("", "", "a\uFFFDb\uFFFDc\uFFFD\uFFFD\uFFFD\U0001F600", false)}, LastIDSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStream(t, tt.in, tt.want)
			if got := refParse([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("reference parser disagrees with the test: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecoderLimits(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100) + "\n\n"
	dec := sse.NewDecoder(strings.NewReader(long))
	dec.Buffer(make([]byte, 0, 16), 64)
	if _, err := dec.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("line of 106 bytes, limit 64: got %v, want ErrLineTooLong", err)
	}
	if _, err := dec.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("error is not sticky: got %v", err)
	}
	// Many short data lines adding up past the limit.
	dec = sse.NewDecoder(strings.NewReader(strings.Repeat("data: 0123456789\n", 20) + "\n"))
	dec.Buffer(nil, 64)
	if _, err := dec.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("event data of 220 bytes, limit 64: got %v, want ErrLineTooLong", err)
	}
	// Within the limit, a line longer than the initial buffer grows it.
	dec = sse.NewDecoder(strings.NewReader(long))
	dec.Buffer(make([]byte, 0, 8), 1024)
	e, err := dec.Next()
	if err != nil || len(e.Data) != 100 {
		t.Fatalf("grown buffer: got %d bytes, %v; want 100 bytes", len(e.Data), err)
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	dec := sse.NewDecoder(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)))
	if e, err := dec.Next(); err != nil || string(e.Data) != "a" {
		t.Fatalf("first event: got %q, %v", e.Data, err)
	}
	if _, err := dec.Next(); !errors.Is(err, boom) {
		t.Fatalf("after the complete event: got %v, want the reader's error", err)
	}
	dec = sse.NewDecoder(&emptyReads{r: iotest.ErrReader(nil)})
	dec.Buffer(nil, 64)
	if _, err := dec.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("a reader that never returns data: got %v, want io.ErrNoProgress", err)
	}
}

func TestDecoderReset(t *testing.T) {
	dec := sse.NewDecoder(strings.NewReader("id: 1\nretry: 5\ndata: a\n\nevent: x\ndata: pending"))
	if _, err := dec.Next(); err != nil {
		t.Fatal(err)
	}
	dec.Reset(strings.NewReader("data: b\n\n"))
	e, err := dec.Next()
	if err != nil || string(e.Data) != "b" || len(e.ID) != 0 || len(e.Type) != 0 {
		t.Fatalf("after Reset: got %+v, %v; want data b, no id, no type", e, err)
	}
	if _, ok := dec.Retry(); ok {
		t.Fatal("Reset kept the retry value")
	}
}

// The events a Decoder returns are views into its buffers: once grown, Next
// allocates nothing, whatever the mix of fields and line endings.
func TestDecoderAllocs(t *testing.T) {
	chunk := "id: 123456\r\nevent: update\ndata: {\"a\":1}\ndata: second line\r: keepalive\n\n"
	stream := strings.Repeat(chunk, 2000)
	r := strings.NewReader(stream)
	dec := sse.NewDecoder(r)
	for range 10 { // grow the buffers
		if _, err := dec.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		e, err := dec.Next()
		if err != nil || string(e.ID) != "123456" || string(e.Data) != "{\"a\":1}\nsecond line" {
			t.Fatalf("got %+v, %v", e, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decoder.Next: %v allocations per event, want 0", allocs)
	}
}
