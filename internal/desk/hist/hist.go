// Package hist is the histogram the attendance metrics keep of each time
// (waiting, first response, handling), so that their percentiles come from
// a rollup instead of from every ticket.
//
// A duration falls in a bucket of whole seconds: below 1,024 s (17 min)
// each second is its own bucket, so a percentile there is exact to the
// second (the duration's whole seconds); above, each power of two is cut
// in 128 buckets, so a percentile is the lower edge of the bucket that
// holds the exact one, at most 1/128 (0.8 %) below it.
package hist

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

const (
	exact     = 1024 // seconds below this are buckets of their own
	exactBits = 10   // log2(exact)
	perOctave = 128
	octBits   = 7 // log2(perOctave)
)

// Bucket returns the bucket of a duration in milliseconds (negative
// durations count as zero).
func Bucket(ms int64) int {
	s := ms / 1000
	if s < exact {
		return int(max(s, 0))
	}
	e := bits.Len64(uint64(s)) - 1 // >= exactBits
	sub := (s >> (e - octBits)) & (perOctave - 1)
	return exact + (e-exactBits)*perOctave + int(sub)
}

// Lower returns the lower edge of bucket b, in seconds.
func Lower(b int) int64 {
	if b < exact {
		return int64(b)
	}
	o, sub := (b-exact)/perOctave, (b-exact)%perOctave
	return int64(perOctave+sub) << (o + exactBits - octBits)
}

// Bin is one bucket's count.
type Bin struct {
	Bucket int
	Count  int64
}

// Sparse is a histogram as a list of the buckets that hold something,
// in bucket order; what the rollup stores.
type Sparse []Bin

// Add adds n (which may be negative) to bucket b, dropping it at zero.
func (h Sparse) Add(b int, n int64) Sparse {
	i, found := slices.BinarySearchFunc(h, b, func(x Bin, b int) int { return x.Bucket - b })
	if !found {
		if n == 0 {
			return h
		}
		return slices.Insert(h, i, Bin{b, n})
	}
	h[i].Count += n
	if h[i].Count == 0 {
		h = slices.Delete(h, i, i+1)
	}
	return h
}

// Encode appends h to dst: for each bin, the distance from the previous
// bucket and the count, as varints.
func (h Sparse) Encode(dst []byte) []byte {
	prev := 0
	for _, x := range h {
		dst = binary.AppendUvarint(dst, uint64(x.Bucket-prev))
		dst = binary.AppendVarint(dst, x.Count)
		prev = x.Bucket
	}
	return dst
}

// Each calls fn for every bin of an encoded histogram; it reports false
// when b is not one.
func Each(b []byte, fn func(bucket int, count int64)) bool {
	bucket := 0
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		c, n := binary.Varint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		bucket += int(d)
		fn(bucket, c)
	}
	return true
}

// Decode reads an encoded histogram.
func Decode(b []byte) (Sparse, bool) {
	var h Sparse
	ok := Each(b, func(bucket int, count int64) { h = append(h, Bin{bucket, count}) })
	return h, ok
}

// Dense gathers many histograms to read percentiles from: a count per
// bucket, grown as buckets arrive.
type Dense struct {
	N      int64
	counts []int64
}

// Add adds n durations to bucket b.
func (d *Dense) Add(b int, n int64) {
	if b >= len(d.counts) {
		d.counts = append(d.counts, make([]int64, b+1-len(d.counts))...)
	}
	d.counts[b] += n
	d.N += n
}

// Merge adds o's counts.
func (d *Dense) Merge(o *Dense) {
	if len(o.counts) > len(d.counts) {
		d.counts = append(d.counts, make([]int64, len(o.counts)-len(d.counts))...)
	}
	for b, c := range o.counts {
		d.counts[b] += c
	}
	d.N += o.N
}

// AddEncoded adds an encoded histogram (Each and Add in one loop: the
// metrics of 90 days add millions of bins).
func (d *Dense) AddEncoded(b []byte) bool {
	bucket := 0
	for len(b) > 0 {
		db, n := binary.Uvarint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		c, n := binary.Varint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		bucket += int(db)
		if bucket >= len(d.counts) {
			d.counts = append(d.counts, make([]int64, bucket+1-len(d.counts)+64)...)
		}
		d.counts[bucket] += c
		d.N += c
	}
	return true
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 1) in
// seconds: the lower edge of the bucket holding the ceil(p×N)-th duration.
func (d *Dense) Percentile(p float64) float64 {
	if d.N <= 0 {
		return 0
	}
	rank := int64(p*float64(d.N) + 0.999999)
	rank = max(1, min(rank, d.N))
	var seen int64
	for b, c := range d.counts {
		seen += c
		if seen >= rank {
			return float64(Lower(b))
		}
	}
	return float64(Lower(len(d.counts) - 1))
}
