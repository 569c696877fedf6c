package main

import (
	"math/bits"
	"time"
)

// Log-linear buckets: values below 2*subBuckets nanoseconds get one bucket
// each; above that, every power of two is split into subBuckets equal
// buckets, so a bucket's width is at most 1/subBuckets (6.25%) of its values.
// 64 powers x 16 sub-buckets cover every uint64 in 8 KiB per histogram.
const (
	subBucketBits = 4
	subBuckets    = 1 << subBucketBits
	numBuckets    = 64 * subBuckets
)

// histogram counts durations in log-linear nanosecond buckets. Recording is
// a few arithmetic instructions and one increment: no allocation, no lock.
// A histogram is owned by one goroutine; merge them after that goroutine
// has stopped.
type histogram struct {
	counts [numBuckets]uint64
	n      uint64
	max    uint64
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding the q-quantile
// (0 < q <= 1), capped at the largest value recorded; 0 when empty. It
// overstates the true quantile by at most one bucket width.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketUpper(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// bucketOf maps v to its bucket. For v >= 2*subBuckets, shift drops all but
// the subBucketBits+1 leading bits of v, so v>>shift is in
// [subBuckets, 2*subBuckets) and selects the sub-bucket.
func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBucketBits - 1
	return (shift+1)<<subBucketBits + int(v>>shift) - subBuckets
}

// bucketUpper is the largest value that maps to bucket i.
func bucketUpper(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i>>subBucketBits - 1
	top := uint64(i&(subBuckets-1)+subBuckets) + 1
	if shift == 64-subBucketBits-1 && top == 2*subBuckets {
		return ^uint64(0) // the last bucket ends at the top of uint64
	}
	return top<<shift - 1
}
