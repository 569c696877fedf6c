package sse

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

const (
	// defaultBufferSize is the initial read buffer: large enough that a
	// typical event arrives in one Read, small enough to keep per
	// connection.
	defaultBufferSize = 4096
	// DefaultMaxLineBytes is the default limit on one line and on one
	// event's data: it bounds what a hostile stream can make a decoder
	// hold.
	DefaultMaxLineBytes = 1 << 20
	// maxEmptyReads is how many (0, nil) reads in a row are taken as a
	// broken reader, as bufio does.
	maxEmptyReads = 100
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Decoder parses a text/event-stream from an io.Reader as the HTML
// specification's "event stream interpretation" does: it strips one leading
// UTF-8 BOM, splits lines at CRLF, LF or CR (also a CRLF split across two
// reads), ignores comments, treats a line without a colon as a field with an
// empty value, removes one space after the colon, joins data lines with LF,
// ignores an id containing NUL and a retry that is not all ASCII digits,
// keeps the last event ID across events, and dispatches an event at each
// blank line unless its data buffer is empty. Bytes that are not valid UTF-8
// become U+FFFD, one per maximal ill-formed subsequence, as the spec's UTF-8
// decode does. At the end of the stream an unterminated line and an
// undispatched event are discarded.
//
// Ownership: the Event returned by Next holds views into the decoder's own
// buffers, valid until the next call to Next or Reset. Once its buffers have
// grown to fit the stream's largest line and event, a Decoder does not
// allocate: not per event, not per field.
//
// A Decoder is not safe for concurrent use. The zero value is not usable;
// create one with NewDecoder.
type Decoder struct {
	r   io.Reader
	buf []byte // read buffer; buf[start:end] is unread
	max int

	start, end int
	// lf and cr are where the searches for the next LF and the next CR
	// stopped: buf[start:lf] holds no LF and buf[lf] is one if lf < end,
	// and likewise for cr. Resuming there, not at start, keeps a line
	// that arrives in many small reads, or a buffer of many short lines,
	// from being searched again and again: quadratic time. fill shifts
	// them with the bytes; an index below start is stale and means start.
	lf, cr int
	// examined counts the bytes the line searches have looked at; tests
	// hold it to a constant per input byte.
	examined   int
	err        error // sticky error of r, returned once buf is drained
	bomChecked bool
	skipLF     bool // the last line ended with CR: an LF right after it belongs to it

	data      []byte // data buffer: each data line followed by LF
	typ       []byte // event type buffer
	id        []byte // last event ID buffer, persists across events
	hasID     bool   // an id field was seen since the last dispatch
	lastID    []byte // last event ID string, set at each blank line
	lastIDSet bool
	retry     time.Duration
	retrySet  bool
}

// NewDecoder returns a Decoder reading from r, with a 4 KiB buffer that
// grows up to DefaultMaxLineBytes.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, max: DefaultMaxLineBytes}
}

// Buffer sets the initial read buffer and the limit on one line and on one
// event's data, in bytes, like bufio.Scanner.Buffer: buf's capacity is used
// as the initial buffer, and the buffer grows up to max. Buffer must be
// called before the first Next. The decoder retains buf.
func (d *Decoder) Buffer(buf []byte, max int) {
	d.buf = buf[:cap(buf)]
	d.max = max
}

// Reset makes d read a new stream from r, as a new Decoder would, but keeps
// its buffers. The last event ID, the retry value and every pending field
// are cleared.
func (d *Decoder) Reset(r io.Reader) {
	*d = Decoder{
		r: r, buf: d.buf, max: d.max,
		data: d.data[:0], typ: d.typ[:0], id: d.id[:0], lastID: d.lastID[:0],
	}
}

// Next returns the next dispatched event. At the end of the stream it
// returns io.EOF (an unterminated last line and a pending event are
// discarded, as the spec says); a read error is returned as it is, and a
// line or event's data longer than the limit yields an error wrapping
// ErrLineTooLong. Errors are sticky.
//
// The returned Event's slices are valid until the next call to Next or
// Reset.
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := d.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := d.field(line); err != nil {
			return Event{}, err
		}
	}
}

// LastEventID returns the stream's last event ID string: the last event ID
// buffer as of the latest blank line, the value a client sends as
// Last-Event-ID when it reconnects. set is false until this stream's first
// blank line; a client that reconnects before then keeps the value it had.
// The slice is valid until the next call to Next or Reset.
func (d *Decoder) LastEventID() (id []byte, set bool) {
	return d.lastID, d.lastIDSet
}

// Retry returns the reconnection time set by the stream's latest valid
// retry field, and false if there was none. A value too large for a
// time.Duration is clamped to the largest one.
func (d *Decoder) Retry() (time.Duration, bool) {
	return d.retry, d.retrySet
}

// Buffered returns the number of bytes read from the reader but not yet
// parsed.
func (d *Decoder) Buffered() int { return d.end - d.start }

func (d *Decoder) dispatch() (Event, bool) {
	d.lastID = append(d.lastID[:0], d.id...)
	d.lastIDSet = true
	hasID := d.hasID
	d.hasID = false
	if len(d.data) == 0 {
		d.typ = d.typ[:0]
		return Event{}, false
	}
	ev := Event{ID: d.lastID, Type: d.typ, Data: d.data[:len(d.data)-1], HasID: hasID}
	// The returned slices alias the buffers; truncating (not clearing)
	// lets the next event reuse their capacity, overwriting this one only
	// once Next is called again, which the ownership rule allows.
	d.data = d.data[:0]
	d.typ = d.typ[:0]
	return ev, true
}

func (d *Decoder) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) { // no allocation: the compiler compares in place
	case "event":
		d.typ = appendUTF8(d.typ[:0], value)
	case "data":
		d.data = appendUTF8(d.data, value)
		d.data = append(d.data, '\n')
		if len(d.data) > d.max {
			d.data = d.data[:0]
			d.err = fmt.Errorf("%w: event data over %d bytes", ErrLineTooLong, d.max)
			return d.err
		}
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.id = appendUTF8(d.id[:0], value)
			d.hasID = true
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			d.retry, d.retrySet = ms, true
		}
	}
	return nil
}

// parseDigits parses a non-empty run of ASCII digits as milliseconds,
// saturating at the largest time.Duration.
func parseDigits(b []byte) (time.Duration, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const limit = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= limit {
			ms = ms*10 + int64(c-'0')
		}
	}
	if ms > limit {
		return math.MaxInt64, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// readLine returns the next complete line without its terminator. The line
// is a view into d.buf, valid until the next readLine.
func (d *Decoder) readLine() ([]byte, error) {
	for empty := 0; ; {
		if !d.bomChecked && (d.end-d.start >= len(bom) || d.err != nil) {
			// A BOM split across reads is recognized: the decision waits
			// for three bytes or the end of the stream.
			d.bomChecked = true
			if bytes.HasPrefix(d.buf[d.start:d.end], bom) {
				d.start += len(bom)
			}
		}
		if d.bomChecked {
			if d.skipLF && d.start < d.end {
				d.skipLF = false
				if d.buf[d.start] == '\n' {
					d.start++
				}
			}
			if line, ok := d.cutLine(); ok {
				return line, nil
			}
		}
		if d.err != nil {
			// An unterminated last line is discarded with any pending
			// event: the spec dispatches only at a blank line.
			d.start, d.end, d.lf, d.cr = 0, 0, 0, 0
			return nil, d.err
		}
		n, err := d.fill()
		if err != nil {
			return nil, err
		}
		if n > 0 || d.err != nil {
			empty = 0
		} else if empty++; empty >= maxEmptyReads {
			d.err = io.ErrNoProgress
		}
	}
}

// cutLine cuts a line ending in LF, CR or CRLF off the unread bytes.
func (d *Decoder) cutLine() ([]byte, bool) {
	// Two vectorized searches, each resumed where it last stopped, rather
	// than a byte loop looking for either: the position of a delimiter
	// found beyond this line is kept for the lines after it, so neither
	// search passes over a byte twice; the kept one is only re-checked,
	// one byte per line.
	d.lf = d.seek(d.lf, '\n')
	d.cr = d.seek(d.cr, '\r')
	i := min(d.lf, d.cr)
	if i == d.end {
		return nil, false
	}
	line := d.buf[d.start:i]
	d.start = i + 1
	// The LF of a CRLF may not have arrived yet.
	d.skipLF = i == d.cr
	return line, true
}

// seek returns the index of the first c in buf[from:end], or end if there
// is none, treating a from below start as start.
func (d *Decoder) seek(from int, c byte) int {
	from = max(from, d.start)
	s := d.buf[from:d.end]
	i := bytes.IndexByte(s, c)
	if i < 0 {
		d.examined += len(s)
		return d.end
	}
	d.examined += i + 1
	return from + i
}

// fill reads more bytes, first moving the unread ones to the front and
// growing the buffer (up to d.max) when it is full.
func (d *Decoder) fill() (int, error) {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.lf = max(d.lf-d.start, 0)
		d.cr = max(d.cr-d.start, 0)
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		if len(d.buf) >= d.max {
			d.err = fmt.Errorf("%w: line over %d bytes", ErrLineTooLong, d.max)
			return 0, d.err
		}
		size := min(max(2*len(d.buf), defaultBufferSize), d.max)
		nb := make([]byte, size)
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	n, err := d.r.Read(d.buf[d.end:])
	if n < 0 || n > len(d.buf)-d.end {
		err = fmt.Errorf("sse: reader returned invalid count %d", n)
		n = 0
	}
	d.end += n
	if err != nil {
		d.err = err
	}
	return n, nil
}

// appendUTF8 appends src to dst, replacing each maximal ill-formed
// subsequence with U+FFFD as the WHATWG UTF-8 decoder does. Valid input,
// the common case, is one vectorized check and a copy.
func appendUTF8(dst, src []byte) []byte {
	if utf8.Valid(src) {
		return append(dst, src...)
	}
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		n, lo, hi := seqBounds(c)
		if n == 0 { // not a lead byte
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		for k := 1; k < n; k++ {
			if j >= len(src) || src[j] < lo || src[j] > hi {
				break
			}
			lo, hi = 0x80, 0xBF // only the second byte has a narrower range
			j++
		}
		if j-i == n {
			dst = append(dst, src[i:j]...)
		} else {
			dst = utf8.AppendRune(dst, utf8.RuneError) // the maximal subpart src[i:j]
		}
		i = j
	}
	return dst
}

// seqBounds returns the length of the UTF-8 sequence lead byte c starts and
// the allowed range of its second byte (Unicode Table 3-7), or n 0 if c
// cannot start a sequence.
func seqBounds(c byte) (n int, lo, hi byte) {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2, 0x80, 0xBF
	case c == 0xE0:
		return 3, 0xA0, 0xBF
	case c == 0xED:
		return 3, 0x80, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		return 3, 0x80, 0xBF
	case c == 0xF0:
		return 4, 0x90, 0xBF
	case c >= 0xF1 && c <= 0xF3:
		return 4, 0x80, 0xBF
	case c == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}
