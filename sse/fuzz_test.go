package sse_test

import (
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzDecoder holds Decoder to refParse, a plain transcription of the spec,
// on any input, read whole and byte by byte (every chunk boundary).
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n",
		"\xEF\xBB\xBFid: 1\r\nevent: x\r\ndata: a\r\ndata\r\n\r\n",
		"data: a\rdata: b\r\rretry: 10\r",
		"id: 1\x00\ndata\n\nid\n\n: c\n",
		"data: \xe2\x82\xff\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := refParse(in)
		got, err := decodeAll(t, strings.NewReader(string(in)))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ndecoder   %+v\nreference %+v", in, got, want)
		}
		got, err = decodeAll(t, iotest.OneByteReader(strings.NewReader(string(in))))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q byte by byte:\ndecoder   %+v (%v)\nreference %+v", in, got, err, want)
		}
	})
}
