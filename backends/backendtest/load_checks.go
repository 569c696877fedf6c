package backendtest

import (
	"math/rand/v2"
	"strconv"

	"github.com/lastevent/lastevent/core"
)

// checkLoad stores a few sessions and 250 more (past DynamoDB's 100 keys
// per BatchGetItem) and loads them in every shape a caller may ask: one
// present, one absent, repeats, a mix, all 250 with absent ones, an empty
// slice and nil. Only present sessions come back, exactly as stored.
func checkLoad(e *env) error {
	var p problems
	a, b, missing := e.ns+"a", e.ns+"b", e.ns+"missing"
	stored := []core.Checkpoint{cp(a, "x", 3), cp(b, "y", 9)}
	many := make([]string, 250)
	for i := range many {
		many[i] = e.ns + "many-" + strconv.Itoa(i)
		stored = append(stored, cp(many[i], "m"+strconv.Itoa(i), uint64(i+1)))
	}
	for i, r := range store(e.ctx, e.b, stored...) {
		if !r.Stored() {
			p.addf("Store(%q seq %d): got %v (%v), want stored", stored[i].Session, stored[i].Seq, r.Outcome, r.Err)
		}
	}
	if len(p) > 0 {
		return p.err()
	}
	all := make(map[string]core.Checkpoint, len(stored))
	for _, c := range stored {
		all[c.Session] = c
	}
	only := func(names ...string) map[string]core.Checkpoint {
		m := make(map[string]core.Checkpoint, len(names))
		for _, s := range names {
			m[s] = all[s]
		}
		return m
	}
	for _, tc := range []struct {
		names []string
		want  map[string]core.Checkpoint
	}{
		{[]string{a}, only(a)},
		{[]string{missing}, nil},
		{[]string{a, a}, only(a)},
		{[]string{a, missing, b}, only(a, b)},
		{append([]string{missing + "-1"}, append(many, a, missing+"-2", many[7])...), only(append(many, a)...)},
		{[]string{}, nil},
		{nil, nil},
	} {
		loadExact(e.ctx, e.b, tc.names, tc.want, &p)
	}
	return p.err()
}

// checkDelete deletes a stored session, a missing one and the same one
// again: none is an error, the deleted session is absent while another
// stays, and the deleted session starts again at Seq 1.
func checkDelete(e *env) error {
	var p problems
	s, other := e.ns+"s", e.ns+"other"
	for i, r := range store(e.ctx, e.b, cp(s, "old", 40), cp(other, "kept", 5)) {
		if r.Outcome != core.OutcomeWritten {
			p.addf("Store %d before Delete: got %v (%v), want written", i, r.Outcome, r.Err)
			return p.err()
		}
	}
	for _, name := range []string{s, e.ns + "never-stored", s} {
		if err := e.b.Delete(e.ctx, name); err != nil {
			p.addf("Delete(%q): %v, want nil (a missing session is not an error)", name, err)
		}
	}
	loadExact(e.ctx, e.b, []string{s, other}, map[string]core.Checkpoint{other: cp(other, "kept", 5)}, &p)
	if r := store(e.ctx, e.b, cp(s, "new", 1))[0]; r.Outcome != core.OutcomeWritten {
		p.addf("Store(%q seq 1) after Delete: got %v (%v), want written", s, r.Outcome, r.Err)
	}
	loadExact(e.ctx, e.b, []string{s}, map[string]core.Checkpoint{s: cp(s, "new", 1)}, &p)
	return p.err()
}

// checkRoundTrip stores session names and event IDs at their limits in 1-
// to 4-byte runes, characters naive encoders mangle, and random valid
// UTF-8, then loads them all at once and one by one: each comes back byte
// for byte.
func checkRoundTrip(e *env) error {
	var p problems
	rng := rand.New(rand.NewPCG(3, 5))
	var batch []core.Checkpoint
	add := func(session, id string) {
		if err := core.ValidateSession(session); err != nil {
			panic("backendtest: invalid test session: " + err.Error())
		}
		if err := core.ValidateEventID(id, core.DefaultMaxEventIDBytes); err != nil {
			panic("backendtest: invalid test event ID: " + err.Error())
		}
		batch = append(batch, cp(session, id, uint64(len(batch)+1)))
	}
	sessionRoom := core.MaxSessionBytes - len(e.ns) - 2 // 2: the index that keeps names apart
	name := func(rest string) string {
		return e.ns + strconv.Itoa(len(batch)%100/10) + strconv.Itoa(len(batch)%10) + rest
	}
	for _, r := range []rune{'s', 'é', '漢', '😀'} {
		add(name(atLimit(r, sessionRoom)), atLimit(r, core.DefaultMaxEventIDBytes))
	}
	add(name(`"quoted" \back\slash {json:[1]} #q :q %s ${x} 'single'`), `id with "quotes" and \ and tab	end`)
	add(name("e\u0301 combining, 👩\u200d💻 zwj, \ufeff bom"), "\u202eright-to-left\u202c, \u00a0nbsp, \U0010fffd")
	add(name(" "), " ") // a single space is a valid event ID
	for range 16 {
		add(name(randomValidUTF8(rng, 1+rng.IntN(sessionRoom))), randomValidUTF8(rng, 1+rng.IntN(core.DefaultMaxEventIDBytes)))
	}
	names, want := indexed(batch)
	for i, r := range store(e.ctx, e.b, batch...) {
		if r.Outcome != core.OutcomeWritten {
			p.addf("Store of a %d-byte session and %d-byte event ID (item %d): got %v (%v), want written", len(batch[i].Session), len(batch[i].EventID), i, r.Outcome, r.Err)
		}
	}
	if !loadExact(e.ctx, e.b, names, want, &p) {
		return p.err()
	}
	for _, c := range batch {
		loadExact(e.ctx, e.b, []string{c.Session}, map[string]core.Checkpoint{c.Session: c}, &p)
	}
	return p.err()
}
