package fault

import "sync/atomic"

// Stats counts what a Backend did. Store items are counted once each, by
// their fate:
//
//	StoreItems = Forwarded + Retryable + Permanent + Throttled +
//	             Unprocessed + OutageItems + Canceled
//
// LostReplies are a subset of Forwarded: they reached the next backend.
type Stats struct {
	StoreCalls  uint64 // Store calls received
	StoreItems  uint64 // checkpoints received by Store
	Forwarded   uint64 // checkpoints passed on to the next backend
	Retryable   uint64 // items failed by ErrorRate, retryable
	Permanent   uint64 // items failed by ErrorRate, permanent
	Throttled   uint64 // items of throttled Store calls
	Unprocessed uint64 // items in the failed tail of a partial batch
	LostReplies uint64 // forwarded items the next backend stored, reported failed
	OutageItems uint64 // items of Store calls refused by an outage
	Canceled    uint64 // items failed because ctx ended before or during added latency

	LoadCalls      uint64 // Load calls received
	LoadFailures   uint64 // Load calls failed by LoadErrorRate
	DeleteCalls    uint64 // Delete calls received
	DeleteFailures uint64 // Delete calls failed by DeleteErrorRate

	OutageCalls uint64 // calls of any method refused by an outage
}

// InjectedItems is the number of Store items reported failed by an injected
// fault: every failure except Canceled, lost replies included.
func (s Stats) InjectedItems() uint64 {
	return s.Retryable + s.Permanent + s.Throttled + s.Unprocessed + s.LostReplies + s.OutageItems
}

// counters are the live Stats. Store calls are per flush, not per event, so
// plain atomics do not contend.
type counters struct {
	storeCalls, storeItems, forwarded                 atomic.Uint64
	retryable, permanent, throttled, unprocessed      atomic.Uint64
	lostReplies, outageItems, canceled                atomic.Uint64
	loadCalls, loadFailures, deleteCalls, deleteFails atomic.Uint64
	outageCalls                                       atomic.Uint64
}

// Stats returns the counters. Each is read atomically; together they are not
// a snapshot while calls are in flight.
func (b *Backend) Stats() Stats {
	c := &b.c
	return Stats{
		StoreCalls: c.storeCalls.Load(), StoreItems: c.storeItems.Load(), Forwarded: c.forwarded.Load(),
		Retryable: c.retryable.Load(), Permanent: c.permanent.Load(), Throttled: c.throttled.Load(),
		Unprocessed: c.unprocessed.Load(), LostReplies: c.lostReplies.Load(), OutageItems: c.outageItems.Load(),
		Canceled:  c.canceled.Load(),
		LoadCalls: c.loadCalls.Load(), LoadFailures: c.loadFailures.Load(),
		DeleteCalls: c.deleteCalls.Load(), DeleteFailures: c.deleteFails.Load(),
		OutageCalls: c.outageCalls.Load(),
	}
}
