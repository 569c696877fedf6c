package core

// Checkpoint is the durable state of one session: the newest accepted event
// ID, its sequence number, and the hashes of the session's most recent
// accepted IDs.
//
// Seq counts accepted events per session: 1 for the first, exactly +1 for
// each further accepted event. A resumed session continues from the Seq it was
// loaded with, so a larger Seq is always the newer checkpoint. Seq 0 means
// "no event accepted yet".
//
// Window carries the last K accepted IDs' hashes, oldest first, ending with
// EventID's (K is shard.Config.PersistWindow). A backend stores it with
// EventID and Seq as one value under one condition, so the three always
// agree; a session resumed from the checkpoint then drops a replay of any of
// those IDs. Checkpoints the Tracker hands to callers (Tracker.Checkpoint,
// Tracker.Resume) leave Window empty: the full in-memory window is the
// Tracker's, and copying it would cost every reader an allocation.
//
// A Checkpoint is a plain, comparable value; copying it is safe.
type Checkpoint struct {
	Session string
	EventID string
	Seq     uint64
	Window  Window
}

// IsZero reports whether c records no accepted event.
func (c Checkpoint) IsZero() bool { return c.Seq == 0 }
