package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketsAreExactBelow1024SecondsAndWithinAFraction128Above(t *testing.T) {
	prev := -1
	for s := int64(0); s < 1<<22; s++ {
		b := Bucket(s*1000 + 999)
		if b < prev || b > prev+1 {
			t.Fatalf("bucket of %d s = %d after %d: buckets must be consecutive", s, b, prev)
		}
		prev = b
		lo := Lower(b)
		if s < 1024 && lo != s {
			t.Fatalf("lower edge of %d s = %d, want exact", s, lo)
		}
		if lo > s || float64(s-lo) > float64(lo)/128 {
			t.Fatalf("lower edge of %d s = %d: more than 1/128 below", s, lo)
		}
		if Bucket(lo*1000) != b {
			t.Fatalf("the lower edge %d s of bucket %d falls in bucket %d", lo, b, Bucket(lo*1000))
		}
	}
	if Bucket(-5000) != 0 {
		t.Errorf("a negative duration is in bucket %d, want 0", Bucket(-5000))
	}
}

func TestSparseAddsEncodesAndDecodes(t *testing.T) {
	var h Sparse
	h = h.Add(700, 3).Add(5, 1).Add(2000, 2).Add(5, 1).Add(700, -3).Add(9, 0)
	want := Sparse{{5, 2}, {2000, 2}}
	if !slices.Equal(h, want) {
		t.Fatalf("h = %v, want %v", h, want)
	}
	got, ok := Decode(h.Encode(nil))
	if !ok || !slices.Equal(got, want) {
		t.Errorf("decoded %v %v, want %v", got, ok, want)
	}
	if _, ok := Decode([]byte{0x80}); ok {
		t.Error("a truncated varint decodes")
	}
}

func TestPercentilesMatchTheExactOnesWithinTheBucket(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 10, 999, 5000} {
		ms := make([]int64, n)
		var d Dense
		var sp Sparse
		for i := range ms {
			ms[i] = r.Int64N(3 * 3600 * 1000)
			sp = sp.Add(Bucket(ms[i]), 1)
		}
		d.AddEncoded(sp.Encode(nil))
		slices.Sort(ms)
		for _, p := range []float64{0.5, 0.9, 1} {
			i := max(0, min(int(p*float64(n)+0.999999)-1, n-1))
			exact := float64(ms[i] / 1000)
			got := d.Percentile(p)
			if got > exact || exact-got > got/128 {
				t.Errorf("n=%d p%.0f = %v, exact %v", n, 100*p, got, exact)
			}
		}
	}
}
