package core

// Checkpoint is the durable state of one session: the newest accepted event
// ID and its sequence number.
//
// Seq counts accepted events per session: 1 for the first, exactly +1 for
// each further accepted event. A resumed session continues from the Seq it was
// loaded with, so a larger Seq is always the newer checkpoint. Seq 0 means
// "no event accepted yet".
//
// A Checkpoint is a plain value; copying it is safe.
type Checkpoint struct {
	Session string
	EventID string
	Seq     uint64
}

// IsZero reports whether c records no accepted event.
func (c Checkpoint) IsZero() bool { return c.Seq == 0 }
