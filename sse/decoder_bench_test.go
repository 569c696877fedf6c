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
