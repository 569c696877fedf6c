package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/lastevent/lastevent/sse"
)

// Decode a stream with CRLF line endings, a comment, a multi-line event and
// an ID that carries over, then write events back out.
func Example() {
	stream := "\xEF\xBB\xBF: a comment\r\nid: 1\r\nevent: greeting\r\ndata: hello\r\ndata:  world\r\n\r\ndata: no id of its own\r\n\r\n"
	dec := sse.NewDecoder(strings.NewReader(stream))
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Printf("id=%q own=%v type=%q data=%q\n", ev.ID, ev.HasID, ev.Type, ev.Data)
	}

	var out bytes.Buffer
	w := sse.NewWriter(&out)
	_ = w.WriteEvent(sse.Event{ID: []byte("2"), Data: []byte("two\nlines")})
	_ = w.WriteComment("heartbeat")
	fmt.Print(out.String())
	// Output:
	// id="1" own=true type="greeting" data="hello\n world"
	// id="1" own=false type="" data="no id of its own"
	// id: 2
	// data: two
	// data: lines
	//
	// : heartbeat
}
