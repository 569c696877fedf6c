package sse_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/lastevent/lastevent/sse"
)

// BenchmarkDecoder reads a stream of typical events (id, event type, one
// data line) with the Decoder and, as a baseline, with the parser people
// write first: bufio.Scanner lines cut into string fields, data joined by
// concatenation. Run:
//
//	go test -run '^$' -bench Decoder -benchmem -count 6 ./sse
func BenchmarkDecoder(b *testing.B) {
	chunk := "id: 123456\nevent: update\ndata: {\"session\":\"abc\",\"seq\":42}\n\n"
	stream := strings.Repeat(chunk, 1000)
	b.Run("impl=sse", func(b *testing.B) {
		r := strings.NewReader(stream)
		dec := sse.NewDecoder(r)
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dec.Next(); err != nil {
				r.Reset(stream)
				dec.Reset(r)
			}
		}
	})
	b.Run("impl=scanner", func(b *testing.B) {
		r := strings.NewReader(stream)
		sc := bufio.NewScanner(r)
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		var id, typ, data string
		for b.Loop() {
			for {
				if !sc.Scan() {
					r.Reset(stream)
					sc = bufio.NewScanner(r)
					continue
				}
				line := sc.Text()
				if line == "" {
					break
				}
				name, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch name {
				case "id":
					id = value
				case "event":
					typ = value
				case "data":
					data += value + "\n"
				}
			}
			_, _, data = id, typ, ""
		}
	})
}

// BenchmarkDecoderLongLine decodes one event whose data line is line bytes
// long, fed by a reader returning at most read bytes per call: a slow
// network hands a decoder a long line in many small pieces. MB/s should
// stay flat as the line grows, and depend little on the read size, if the
// decoder's work is linear in its input. Run:
//
//	go test -run '^$' -bench DecoderLongLine -benchmem -count 6 ./sse
func BenchmarkDecoderLongLine(b *testing.B) {
	for _, bc := range []struct {
		name       string
		read, line int
	}{
		{"read=1/line=16KiB", 1, 16 << 10},
		{"read=1/line=64KiB", 1, 64 << 10},
		{"read=1/line=256KiB", 1, 256 << 10},
		{"read=512/line=512KiB", 512, 512 << 10},
		{"read=16KiB/line=512KiB", 16 << 10, 512 << 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const prefix = "data: "
			stream := prefix + strings.Repeat("x", bc.line-len(prefix)) + "\n\n"
			r := &chunkReader{n: bc.read}
			dec := sse.NewDecoder(r)
			decode := func() {
				r.Reset(stream)
				dec.Reset(r) // keeps the grown buffers
				ev, err := dec.Next()
				if err != nil || len(ev.Data) != bc.line-len(prefix) {
					b.Fatalf("got %d bytes of data, %v; want %d bytes", len(ev.Data), err, bc.line-len(prefix))
				}
			}
			// Grow the buffers before timing starts: a run of one iteration,
			// which the slowest cases get, would otherwise report the growth
			// as the steady state's allocations.
			decode()
			b.SetBytes(int64(bc.line))
			b.ReportAllocs()
			for b.Loop() {
				decode()
			}
		})
	}
}
