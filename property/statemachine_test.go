package property

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

// commandsPerSequence is gopter's MaxSize: every generated sequence has this
// many commands before shrinking.
const commandsPerSequence = 40

// TestTrackerStateMachine runs random command sequences against a Tracker
// and the sequential model, on every backend available (memory always,
// DynamoDB when LASTEVENT_DYNAMODB_ENDPOINT is set).
func TestTrackerStateMachine(t *testing.T) {
	for _, b := range backendsUnderTest(t) {
		t.Run(b.name, func(t *testing.T) {
			runStateMachine(t, b, *casesFlag*b.casesScale/100)
		})
	}
}

func runStateMachine(t *testing.T, b backendUnderTest, cases int) {
	params := gopter.DefaultTestParametersWithSeed(*seedFlag)
	params.MinSuccessfulTests = max(cases, 1)
	params.MaxSize = commandsPerSequence
	params.MaxShrinkCount = 500
	var sequences atomic.Int64
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(st commands.State) commands.SystemUnderTest {
			n := sequences.Add(1)
			return newHarness(b.open(t), fmt.Sprintf("p%d-%d-", params.Seed(), n), uint64(n), st.(*trackerModel).cfg)
		},
		DestroySystemUnderTestFunc: func(sut commands.SystemUnderTest) { sut.(*harness).destroy() },
		InitialStateGen: gopter.CombineGens(gen.IntRange(0, 3), gen.IntRange(0, 2), gen.Bool(), gen.IntRange(0, 2)).
			Map(func(v []interface{}) *trackerModel {
				w := 1 << v[0].(int)
				// The whole window (the default below 32), one ID, or none.
				persist := [...]int{w, 1, 0}[v[3].(int)]
				return newTrackerModel(caseConfig{window: w, persist: persist, shards: 1 << v[1].(int), async: v[2].(bool)})
			}),
		GenCommandFunc: genCommand,
	}
	props := gopter.NewProperties(params)
	props.Property("tracker == sequential model", commands.Prop(cmds))
	if !props.Run(gopter.NewFormatedReporter(true, 160, testWriter{t})) {
		extra := ""
		if !*evictFlag {
			extra = " -property.evict=false"
		}
		t.Errorf("falsified (the shrunk command sequence is logged above); reproduce with:\n"+
			"\tgo test -race ./property -run '^%s$' -property.seed=%d%s", t.Name(), params.Seed(), extra)
	}
}

// testWriter sends gopter's report to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// genCommand draws one command from the current state. Every command is
// valid in every state, so shrinking may drop any of them.
func genCommand(st commands.State) gopter.Gen {
	m := st.(*trackerModel)
	return gopter.CombineGens(gen.IntRange(0, 99), gen.IntRange(0, poolSize-1), gen.IntRange(0, 99), gen.IntRange(0, 1<<16)).
		Map(func(v []interface{}) commands.Command {
			choice, s, r, k := v[0].(int), v[1].(int), v[2].(int), v[3].(int)
			switch {
			case choice < 51 && (m.fault != outage || k%4 != 0):
				return m.pickObserve(s, r, k)
			case choice < 55:
				// Also a quarter of the Observes during an outage: a Delete
				// that fails is drawn mostly there.
				return m.pickDelete(s, r, k)
			case choice < 60:
				return badInputs[k%len(badInputs)].on(s)
			case choice < 65:
				return readCmd{s: s}
			case choice < 75:
				return flushCmd{}
			case choice < 80:
				return resumeCmd{s: s}
			case choice < 87:
				return faultCmd{mode: faultMode(r % 4)}
			case choice < 90:
				order := []int{0, 1, 2, 3}
				for i := range order { // a permutation drawn from k
					j := i + (k>>(2*i))%(len(order)-i)
					order[i], order[j] = order[j], order[i]
				}
				if r >= 50 { // half the restarts leave some sessions unresumed
					order = order[:r%poolSize]
				}
				return restartCmd{order: order}
			case choice < 94 && *evictFlag:
				return evictCmd{}
			default:
				return faultCmd{mode: healthy}
			}
		})
}

// pickObserve chooses an ID for session s that probes the dedup window:
// fresh, recent, exactly W back, W+1 back, another session's, or any old
// one. An ID whose answer depends on whether a background flusher has
// adopted the session's stored window yet (mayAdopt) is replaced by a fresh
// one: the model's next state must not depend on the answer.
func (m *trackerModel) pickObserve(s, r, k int) observeCmd {
	c := m.pickObserveAny(s, r, k)
	if c.fresh < 0 && m.sessions[s].mayAdopt(c.id, m.cfg.window) {
		return observeCmd{s: s, id: fmt.Sprintf("e%d", m.nextID), kind: "new", fresh: m.nextID}
	}
	return c
}

func (m *trackerModel) pickObserveAny(s, r, k int) observeCmd {
	sm := &m.sessions[s]
	w, n := m.cfg.window, len(sm.History)
	other := &m.sessions[(s+1+k%(poolSize-1))%poolSize]
	switch {
	case r < 30 || (n == 0 && (sm.former == "" || r >= 60)):
	case n == 0:
		return observeCmd{s: s, id: sm.former, kind: "deleted", fresh: -1}
	case r < 50 && len(sm.Window) > 0:
		return observeCmd{s: s, id: sm.Window[k%len(sm.Window)], kind: "recent", fresh: -1}
	case r < 50:
		// The window is empty: the session left memory, and its last ID is
		// no longer a duplicate unless a Resume reloads it.
		return observeCmd{s: s, id: sm.Last(), kind: "last", fresh: -1}
	case r < 65 && len(sm.Window) == w:
		return observeCmd{s: s, id: sm.Window[0], kind: "W back", fresh: -1}
	case r < 80 && n > w:
		return observeCmd{s: s, id: sm.History[n-w-1], kind: "W+1 back", fresh: -1}
	case r < 84 && sm.former != "":
		return observeCmd{s: s, id: sm.former, kind: "deleted", fresh: -1}
	case r < 88 && len(other.History) > 0:
		return observeCmd{s: s, id: other.Last(), kind: "other session's", fresh: -1}
	default:
		return observeCmd{s: s, id: sm.History[k%n], kind: "old", fresh: -1}
	}
	return observeCmd{s: s, id: fmt.Sprintf("e%d", m.nextID), kind: "new", fresh: m.nextID}
}

// observeCmd observes a valid ID.
type observeCmd struct {
	anyState
	s     int
	id    string
	kind  string
	fresh int // n for the fresh ID "e<n>", else -1
}

func (c observeCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	accepted, err := h.tr.Observe(h.name(c.s), c.id)
	return h.snapshot(&outcome{accepted: accepted, err: err})
}

func (c observeCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	if c.fresh >= m.nextID {
		m.nextID = c.fresh + 1
	}
	s := &m.sessions[c.s]
	if !s.inMemory {
		// A new entry, with an empty window (leaveMemory): its Seq is
		// provisional, and its stored window unknown to it, until the
		// Load before its first write adopts the stored history, which a
		// background flusher may do at any time.
		s.adopted = adoptNo
		if m.cfg.async {
			s.adopted = adoptMaybe
		}
	}
	m.expect.accepted = s.observe(c.id, m.cfg.window)
	return m
}

func (c observeCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	if o.err != nil || o.accepted != m.expect.accepted {
		p.addf("Observe(s%d, %s): got (%t, %v), want (%t, <nil>)", c.s, shortID(c.id), o.accepted, o.err, m.expect.accepted)
	}
	return p.verdict(m, o)
}

func (c observeCmd) String() string { return fmt.Sprintf("Observe(s%d, %s /%s)", c.s, c.id, c.kind) }

// badInput is an Observe the tracker must reject with a sentinel, changing
// nothing. Session -1 is the empty name, -2 a name with a NUL.
type badInput struct {
	session int
	id      string
	want    error
}

var badInputs = []badInput{
	{session: -1, id: "x", want: core.ErrEmptySession},
	{session: -2, id: "x", want: core.ErrInvalidSession},
	{id: "", want: core.ErrEmptyEventID},
	{id: "a\nb", want: core.ErrInvalidEventID},
	{id: "a\rb", want: core.ErrInvalidEventID},
	{id: "a\x00", want: core.ErrInvalidEventID},
	{id: "\xff\xfe", want: core.ErrInvalidEventID},
	{id: strings.Repeat("x", core.DefaultMaxEventIDBytes+1), want: core.ErrEventIDTooLong},
}

func (b badInput) on(s int) badObserveCmd {
	if b.session < 0 {
		s = b.session
	}
	return badObserveCmd{s: s, id: b.id, want: b.want}
}

type badObserveCmd struct {
	anyState
	s    int
	id   string
	want error
}

func (c badObserveCmd) session(h *harness) string { return h.sessionName(c.s) }

func (c badObserveCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	accepted, err := h.tr.Observe(c.session(h), c.id)
	return h.snapshot(&outcome{accepted: accepted, err: err})
}

func (c badObserveCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	m.expect.err = c.want
	return m
}

func (c badObserveCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	if o.accepted || !errors.Is(o.err, c.want) {
		p.addf("%v: got (%t, %v), want (false, error wrapping %v)", c, o.accepted, o.err, c.want)
	}
	return p.verdict(m, o)
}

func (c badObserveCmd) String() string {
	return fmt.Sprintf("Observe(%s, %s /invalid)", sessionLabel(c.s), shortID(fmt.Sprintf("%q", c.id)))
}

// sessionName is the name of pool session s, or for s = -1 the empty name
// and for s = -2 a name with a NUL.
func (h *harness) sessionName(s int) string {
	switch s {
	case -1:
		return ""
	case -2:
		return h.prefix + "bad\x00session"
	}
	return h.name(s)
}

// sessionLabel prints sessionName(s) in a command.
func sessionLabel(s int) string {
	switch s {
	case -1:
		return `""`
	case -2:
		return `"bad\x00session"`
	}
	return fmt.Sprintf("s%d", s)
}

// readCmd reads LastEventID and Checkpoint; the snapshot compares them (for
// every session) with the model.
type readCmd struct {
	anyState
	invariantsOnly
	s int
}

func (c readCmd) Run(sut commands.SystemUnderTest) commands.Result {
	return sut.(*harness).snapshot(&outcome{})
}
func (c readCmd) NextState(st commands.State) commands.State { return st.(*trackerModel).clone() }
func (c readCmd) String() string                             { return fmt.Sprintf("LastEventID(s%d)", c.s) }

// flushCmd calls Flush. When no session can be impossible to write it must
// return nil; when it returns nil, the backend must hold exactly the model's
// newest checkpoint of every session; when it fails, some session must have
// been impossible to write.
type flushCmd struct{ anyState }

func (flushCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	return h.snapshot(&outcome{err: h.flush()})
}

func (flushCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	if m.flushMayFail() {
		// Failed writes and loads are retried in the background: an entry
		// not yet adopted may be adopted at any time from now on.
		for i := range m.sessions {
			if m.sessions[i].adopted == adoptNo {
				m.sessions[i].adopted = adoptMaybe
			}
		}
		return m
	}
	m.storedAll()
	return m
}

func (c flushCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	switch {
	case o.err == nil:
		p.checkStoredExactly(m, o, "after Flush returned nil")
	case !errors.Is(o.err, shard.ErrUnflushed):
		p.addf("Flush: got %v, want nil or an error wrapping ErrUnflushed", o.err)
	case !m.flushMayFail():
		p.addf("Flush with every session writable (fault %v): got %v, want nil", m.fault, o.err)
	}
	return p.verdict(m, o)
}

func (flushCmd) String() string { return "Flush" }

// resumeCmd calls Resume: a session that knows its history is answered from
// memory (even while Load fails); any other is loaded from the backend.
type resumeCmd struct {
	anyState
	s int
}

func (c resumeCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	cp, err := h.resume(ctx, c.s)
	o := &outcome{err: err, resumed: make([]core.Checkpoint, poolSize)}
	o.resumed[c.s] = cp
	return h.snapshot(o)
}

func (c resumeCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	s := &m.sessions[c.s]
	m.expect.resumed = []modelCheckpoint{m.checkpoint(c.s)}
	switch {
	case s.inMemory && s.adopted == adoptYes: // answered from memory
	case m.loadFails() && s.inMemory && s.adopted == adoptMaybe:
		m.expect.err, m.expect.either = core.ErrRetryable, true
	case m.loadFails():
		m.expect.err = core.ErrRetryable
	default:
		// What is stored of s is the model's newest checkpoint, or an older
		// one this tracker wrote (base, for an entry not yet adopted).
		// Resume of a session not in memory loads it: the stored newest ID
		// is its window. One in memory keeps its window, and the Seq of its
		// events moves on top of base.
		if !s.inMemory {
			s.Reload(m.cfg.window)
		}
		s.inMemory = true
		s.adopt(m.cfg.window)
	}
	return m
}

func (c resumeCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	switch {
	case !m.expect.allows(o.err):
		p.addf("Resume(s%d): got error %v, want %s", c.s, o.err, m.expect.errText())
	case o.err == nil:
		want := m.expect.resumed[0]
		if !sameCheckpoint(o.resumed[c.s], want, o.names[c.s]) {
			p.addf("Resume(s%d): got %+v, want seq %d ID %q", c.s, o.resumed[c.s], want.seq, want.eventID)
		}
	}
	return p.verdict(m, o)
}

func (c resumeCmd) String() string { return fmt.Sprintf("Resume(s%d)", c.s) }

// faultCmd replaces the fault the backend injects (healthy heals it).
type faultCmd struct {
	anyState
	invariantsOnly
	mode faultMode
}

func (c faultCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	h.setFault(c.mode)
	return h.snapshot(&outcome{})
}

func (c faultCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	m.fault = c.mode
	return m
}

func (c faultCmd) String() string { return fmt.Sprintf("Fault(%v)", c.mode) }

// evictCmd lets every session go idle past Config.IdleTTL (see
// harness.evictIdle): all are stored, then evicted. Each leaves memory
// (leaveMemory): a later Resume reloads its stored checkpoint (window = the
// stored last ID); a plain Observe starts a fresh entry with an empty window
// and a provisional Seq until its first write adopts the stored one.
type evictCmd struct{ anyState }

func (evictCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	return h.snapshot(&outcome{err: h.evictIdle()})
}

func (evictCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	m.healStoreAndLeave()
	return m
}

func (evictCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	if o.err != nil {
		p.addf("evict: %v", o.err)
	}
	p.checkStoredExactly(m, o, "after eviction")
	return p.verdict(m, o)
}

func (evictCmd) String() string { return "Evict(idle past IdleTTL)" }

// restartCmd heals the backend, closes the tracker, starts a new one on the
// same backend and resumes the sessions in order before any Observe, as a
// restarted server would. A session not in order is like an evicted one.
type restartCmd struct {
	anyState
	order []int
}

func (c restartCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	resumed, err := h.restart(c.order)
	return h.snapshot(&outcome{err: err, resumed: resumed})
}

func (c restartCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	m.healStoreAndLeave()
	for _, i := range c.order {
		s := &m.sessions[i]
		s.Reload(m.cfg.window)
		s.inMemory = true
		s.adopt(m.cfg.window)
		m.expect.resumed = append(m.expect.resumed, m.checkpoint(i))
	}
	return m
}

func (c restartCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	if o.err != nil {
		p.addf("restart: %v", o.err)
		return p.verdict(m, o)
	}
	for _, want := range m.expect.resumed {
		if i := want.session; !sameCheckpoint(o.resumed[i], want, o.names[i]) {
			p.addf("Resume(s%d) after restart: got %+v, want seq %d ID %q", i, o.resumed[i], want.seq, want.eventID)
		}
	}
	p.checkStoredExactly(m, o, "after Close")
	return p.verdict(m, o)
}

func (c restartCmd) String() string { return fmt.Sprintf("Restart(resume order %v)", c.order) }

// anyState is the PreCondition of every command: each is valid in every
// state, so shrinking may drop any command of a sequence.
type anyState struct{}

func (anyState) PreCondition(commands.State) bool { return true }

// invariantsOnly is the PostCondition of a command with no answer of its
// own: only the invariants checked after every command.
type invariantsOnly struct{}

func (invariantsOnly) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	var p problems
	return p.verdict(st.(*trackerModel), res.(*outcome))
}

// problems collects what a postcondition found wrong.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// checkStoredExactly requires the backend to hold the model's newest
// checkpoint of every session, with the window the model persisted.
func (p *problems) checkStoredExactly(m *trackerModel, o *outcome, when string) {
	for i := range m.sessions {
		if want := m.checkpoint(i); !sameCheckpoint(o.stored[i], want, o.names[i]) {
			p.addf("stored s%d %s: got seq %d ID %q, want seq %d ID %q", i, when, o.stored[i].Seq, o.stored[i].EventID, want.seq, want.eventID)
		} else if got, want := o.stored[i].Window, m.storedWindow(i); got != want {
			p.addf("stored s%d %s: got window %v, want %v (the last %d IDs of %v)", i, when, got, want, m.cfg.persist, m.sessions[i].Window)
		}
	}
}

// verdict adds the invariants checked after every command and turns the
// problems into gopter's result.
func (p *problems) verdict(m *trackerModel, o *outcome) *gopter.PropResult {
	*p = append(*p, o.violations...)
	*p = append(*p, o.storedDrop...)
	for _, w := range o.written {
		h := m.sessions[w.session].History
		if w.seq == 0 || w.seq > uint64(len(h)) || h[w.seq-1] != w.eventID {
			p.addf("backend wrote s%d seq %d ID %q, which is not the model's checkpoint at that seq", w.session, w.seq, w.eventID)
		}
	}
	for i := range m.sessions {
		s := &m.sessions[i]
		p.checkMemory(s, i, o)
		st := o.stored[i]
		switch {
		case st.Seq < s.durable || st.Seq > s.Seq():
			p.addf("stored s%d: seq %d, want between the last flushed seq %d and the newest %d", i, st.Seq, s.durable, s.Seq())
		case st.Seq > 0 && (st.EventID != s.History[st.Seq-1] || st.Session != o.names[i]):
			p.addf("stored s%d: %+v, but the model's seq %d is ID %q", i, st, st.Seq, s.History[st.Seq-1])
		case st.Seq > 0:
			if _, err := testmodel.StoredIDs(st.Window, s.History, st.Seq); err != nil {
				p.addf("stored s%d: %+v: %v", i, st, err)
			}
		}
	}
	if got, want := o.sessions, m.inMemory(); got != want {
		p.addf("Sessions(): got %d, want %d", got, want)
	}
	if len(*p) == 0 {
		return &gopter.PropResult{Status: gopter.PropTrue}
	}
	return &gopter.PropResult{Status: gopter.PropFalse, Labels: slices.Clone(*p)}
}

// checkMemory compares Checkpoint and LastEventID of session i with the
// model: nothing for a session not in memory; otherwise its newest ID, with
// a Seq the model allows (memorySeqs: provisional before adoption).
func (p *problems) checkMemory(s *sessionModel, i int, o *outcome) {
	want := modelCheckpoint{session: i, eventID: s.Last()}
	seqs := []uint64{0}
	if s.inMemory {
		seqs = s.memorySeqs()
	} else {
		want.eventID = "" // evicted or never seen
	}
	if !slices.Contains(seqs, o.checkpoints[i].Seq) {
		p.addf("Checkpoint(s%d): got (%+v, %t), want seq in %v ID %q", i, o.checkpoints[i], o.hasCP[i], seqs, want.eventID)
	} else if want.seq = o.checkpoints[i].Seq; o.hasCP[i] != (want.seq > 0) || !sameCheckpoint(o.checkpoints[i], want, o.names[i]) {
		p.addf("Checkpoint(s%d): got (%+v, %t), want seq %d ID %q", i, o.checkpoints[i], o.hasCP[i], want.seq, want.eventID)
	}
	if o.hasLastID[i] != (want.eventID != "") || o.lastIDs[i] != want.eventID {
		p.addf("LastEventID(s%d): got (%q, %t), want (%q, %t)", i, o.lastIDs[i], o.hasLastID[i], want.eventID, want.eventID != "")
	}
}
