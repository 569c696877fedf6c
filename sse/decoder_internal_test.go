package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The line searches look at each input byte a bounded number of times,
// however the input is cut into reads and however long or short its lines
// are: once in the search for LF, once in the search for CR, and once more
// for a delimiter found ahead that each shorter line before it re-checks.
// Decoding time is then linear in the input. Rescanning an unfinished line
// on every read instead looks at a line of n bytes fed in single bytes
// about n²/2 times, and searching the whole buffer for LF at each of many
// CR-ended lines is quadratic in the buffer's size.
func TestDecoderScanLinear(t *testing.T) {
	const perByte = 3
	long := strings.Repeat("x", 64<<10)
	tests := []struct {
		name string
		in   string
	}{
		{"one long line", "data: " + long + "\n\n"},
		{"one long line, CRLF", "data: " + long + "\r\n\r\n"},
		{"one long line, CR", "data: " + long + "\r\r"},
		{"many short lines, LF", strings.Repeat("data: a\n\n", 20000)},
		{"many short lines, CR, then LF", strings.Repeat("data: a\r\r", 20000) + "\n"},
		{"many short lines, CRLF", strings.Repeat(": c\r\ndata: a\r\n\r\n", 10000)},
		{"long lines and short", strings.Repeat("data: "+long[:5000]+"\r: c\ndata: b\r\n\n", 30)},
	}
	readers := []struct {
		name string
		r    func(string) io.Reader
	}{
		{"one byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"half", func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }},
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			d := NewDecoder(rd.r(tt.in))
			// A buffer that holds the whole input lets the many-short-lines
			// streams arrive in one read, the case where a search that
			// starts over at each line goes quadratic.
			d.Buffer(make([]byte, 0, len(tt.in)+1), len(tt.in)+1)
			var err error
			for err == nil {
				_, err = d.Next()
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("%s, read %s: got error %v, want io.EOF", tt.name, rd.name, err)
			}
			if d.examined > perByte*len(tt.in) {
				t.Errorf("%s, read %s: line searches looked at %d bytes of a %d-byte input, want at most %d per byte",
					tt.name, rd.name, d.examined, len(tt.in), perByte)
			}
		}
	}
}
