package core_test

import (
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"github.com/lastevent/lastevent/core"
)

func ExampleSlot() {
	// A window of 2: an ID is a duplicate while it is among the last two
	// accepted IDs.
	s, err := core.NewSlot(2, core.Checkpoint{})
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"a", "b", "a", "c", "a"} {
		accepted, seq := s.Observe(id, xxhash.Sum64String(id))
		fmt.Printf("%s: accepted=%t seq=%d\n", id, accepted, seq)
	}
	id, seq := s.Last()
	fmt.Printf("last: %s seq=%d\n", id, seq)
	// Output:
	// a: accepted=true seq=1
	// b: accepted=true seq=2
	// a: accepted=false seq=2
	// c: accepted=true seq=3
	// a: accepted=true seq=4
	// last: a seq=4
}

func ExampleValidateEventID() {
	for _, id := range []string{"evt-42", "evt\n42", ""} {
		err := core.ValidateEventID(id, core.DefaultMaxEventIDBytes)
		switch {
		case err == nil:
			fmt.Printf("%q: ok\n", id)
		case errors.Is(err, core.ErrInvalidEventID):
			fmt.Printf("%q: invalid: %v\n", id, err)
		case errors.Is(err, core.ErrEmptyEventID):
			fmt.Printf("%q: empty\n", id)
		}
	}
	// Output:
	// "evt-42": ok
	// "evt\n42": invalid: lastevent: invalid event ID: bad byte at offset 3
	// "": empty
}
