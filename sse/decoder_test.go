package sse_test

import (
	"errors"
	"fmt"
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

// chunkReader returns at most n bytes per Read, as a slow network does.
type chunkReader struct {
	s string
	n int
}

// Reset makes r read s from the start.
func (r *chunkReader) Reset(s string) { r.s = s }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.s)
	r.s = r.s[k:]
	return k, nil
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

// decodeLimited runs a Decoder with the limit max (the default if 0) over r
// to the end, like decodeAll, and returns the error that ended it, io.EOF
// included.
func decodeLimited(r io.Reader, max int) (refResult, error) {
	dec := sse.NewDecoder(r)
	if max > 0 {
		dec.Buffer(nil, max)
	}
	var res refResult
	for {
		ev, err := dec.Next()
		if err != nil {
			id, set := dec.LastEventID()
			res.LastID, res.LastIDSet = string(id), set
			res.Retry, res.RetrySet = dec.Retry()
			return res, err
		}
		res.Events = append(res.Events, refEvent{ID: string(ev.ID), Type: string(ev.Type), Data: string(ev.Data), HasID: ev.HasID})
	}
}

// How a stream is cut into reads must not change what is decoded from it,
// nor where a limit stops it: the decoder resumes its line search across
// reads, and a stale or misplaced resume point would show up here as a line
// cut at the wrong byte.
func TestDecoderReadSizes(t *testing.T) {
	const bom = "\xEF\xBB\xBF"
	long := func(n int) string { return strings.Repeat("x", n) }
	// crAt returns a data line of n bytes ended by CRLF: a stream starting
	// with it has its CR at byte n, the last of a first read of n+1 bytes,
	// and the next line starts at n+2.
	crAt := func(n int) string { return "data: " + long(n-6) + "\r\n" }
	tests := []struct {
		name string
		in   string
		max  int // the decoder's limit; 0 for the default
		// wantErr is the error expected to end the stream: io.EOF after
		// the events the reference parser finds, or ErrLineTooLong after
		// the first before of them.
		wantErr error
		before  int
	}{
		{"long line LF", "id: 1\ndata: " + long(70000) + "\n\ndata: after\n\n", 0, io.EOF, 0},
		{"long line CRLF", "data: " + long(70000) + "\r\n\r\ndata: after\r\n\r\n", 0, io.EOF, 0},
		{"long line CR", "data: " + long(70000) + "\r\rdata: after\r\r", 0, io.EOF, 0},
		{"long lines, multi-line data", "data: " + long(20000) + "\ndata: " + long(30000) + "\r\ndata\rdata: " + long(17000) + "\n\n", 0, io.EOF, 0},
		{"mixed endings, comments, fields", "retry: 300\r\n: comment\rid: 7\nevent: tick\r\ndata: a\ndata:  b\r\r\n:\n" +
			"data: c\n\r" + ": " + long(5000) + "\r\ndata: d\r\n\n", 0, io.EOF, 0},
		{"CR ends a read of 512", crAt(511) + crAt(1023-513) + "\r\n", 0, io.EOF, 0},
		{"CR ends a read of 16 KiB", crAt(16<<10-1) + crAt(32<<10-1-(16<<10+1)) + "\r\n", 0, io.EOF, 0},
		{"BOM", bom + "data: x\r\n\r\n" + bom + "data: y\n\n", 0, io.EOF, 0},
		{"BOM then long line", bom + "data: " + long(40000) + "\r\r", 0, io.EOF, 0},
		{"unterminated long last line", "data: a\n\ndata: " + long(40000), 0, io.EOF, 0},
		{"line over the limit", "data: a\n\ndata: " + long(1500) + "\n\n", 1000, sse.ErrLineTooLong, 1},
		{"line one byte over the limit", "data: a\r\n\r\ndata: " + long(1000-6) + "\r\n\r\n", 1000, sse.ErrLineTooLong, 1},
		{"line at the limit, then one over", "data: " + long(999-6) + "\r\n\r\ndata: " + long(1000-6) + "\n\n", 1000, sse.ErrLineTooLong, 1},
		{"line over the limit after the buffer grew", "data: a\n\ndata: " + long(20000) + "\n\ndata: " + long(30000) + "\n\n", 25000, sse.ErrLineTooLong, 2},
		{"event data over the limit", "data: a\n\n" + strings.Repeat("data: 0123456789\r\n", 100) + "\n", 1000, sse.ErrLineTooLong, 1},
		{"BOM and a line over the limit", bom + "data: a\n\ndata: " + long(1500) + "\n\n", 1000, sse.ErrLineTooLong, 1},
	}
	sizes := []struct {
		name string
		r    func(string) io.Reader
	}{
		{"1", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"2", func(s string) io.Reader { return &chunkReader{s: s, n: 2} }},
		{"3", func(s string) io.Reader { return &chunkReader{s: s, n: 3} }},
		{"7", func(s string) io.Reader { return &chunkReader{s: s, n: 7} }},
		{"512", func(s string) io.Reader { return &chunkReader{s: s, n: 512} }},
		{"16KiB", func(s string) io.Reader { return &chunkReader{s: s, n: 16 << 10} }},
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, wholeErr := decodeLimited(strings.NewReader(tt.in), tt.max)
			if !errors.Is(wholeErr, tt.wantErr) {
				t.Fatalf("read whole: got error %v, want %v", wholeErr, tt.wantErr)
			}
			ref := refParse([]byte(tt.in))
			if tt.wantErr == io.EOF {
				if !reflect.DeepEqual(whole, ref) {
					t.Fatalf("read whole:\ngot  %.300v\nwant %.300v", whole, ref)
				}
			} else if !reflect.DeepEqual(whole.Events, ref.Events[:tt.before]) {
				t.Fatalf("read whole: got events %.300v before the error, want the reference parser's first %d", whole.Events, tt.before)
			}
			for _, size := range sizes {
				got, err := decodeLimited(size.r(tt.in), tt.max)
				if err == nil || err.Error() != wholeErr.Error() {
					t.Errorf("reads of %s: got error %v, want %v as when read whole", size.name, err, wholeErr)
				}
				if !reflect.DeepEqual(got, whole) {
					t.Errorf("reads of %s:\ngot  %.300v\nwant %.300v as when read whole", size.name, got, whole)
				}
			}
		})
	}
}

// A CR that ends one read and the LF that starts the next are one line
// ending, wherever the split falls and whatever arrived before it; so are
// a CR and LF delivered apart by reads of any size.
func TestDecoderCRLFSplitEverywhere(t *testing.T) {
	const s = "data: a\r\n\r\nid: 1\r\ndata: b\r\r\n: c\r\ndata:\r\ndata: d\n\r\n"
	want := refParse([]byte(s))
	if len(want.Events) != 3 {
		t.Fatalf("reference parser: got %+v, want three events", want)
	}
	check := func(name string, r io.Reader) {
		t.Helper()
		got, err := decodeAll(t, r)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\ngot  %+v, %v\nwant %+v, no error", name, got, err, want)
		}
	}
	for i := 0; i <= len(s); i++ {
		for j := i; j <= len(s); j++ {
			check(fmt.Sprintf("reads split at %d and %d", i, j),
				io.MultiReader(strings.NewReader(s[:i]), strings.NewReader(s[i:j]), strings.NewReader(s[j:])))
		}
	}
	for n := 1; n <= len(s); n++ {
		check(fmt.Sprintf("reads of %d bytes", n), &chunkReader{s: s, n: n})
	}
}
