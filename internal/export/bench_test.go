package export

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchRows is the size of one benchmarked export, as in the SPEC's figures.
const benchRows = 200_000

// heapPeak samples HeapInuse while it runs, so a test can see the peak of a function's memory.
type heapPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

// watchHeap starts sampling every interval, after a GC so that earlier garbage does not count.
func watchHeap(interval time.Duration) *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Peak stops sampling and returns the highest HeapInuse seen, in bytes.
func (h *heapPeak) Peak() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// benchmarkExport runs write over rows rows, their dates in layout, b.N times and reports rows/s, peak
// heap and output size.
func benchmarkExport(b *testing.B, rows int, write func(io.Writer, Rows) (int64, error), layout string) {
	b.ReportAllocs()
	source := pooledRowsDated(rows, layout)
	var out countingWriter
	heap := watchHeap(10 * time.Millisecond)
	b.ResetTimer()
	for range b.N {
		n, err := write(&out, source)
		if err != nil {
			b.Fatal(err)
		}
		if n != int64(rows) && n != MaxPDFRows {
			b.Fatalf("wrote %d rows, want %d", n, rows)
		}
	}
	b.StopTimer()
	peak := heap.Peak()
	written := int64(rows)
	if written > MaxPDFRows && b.Name() == "BenchmarkPDF" {
		written = MaxPDFRows
	}
	b.ReportMetric(float64(written)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(out.n)/float64(b.N)/(1<<20), "file-MB")
}

// Run with: go test -run '^$' -bench . -benchtime=1x ./internal/export/
func BenchmarkCSV(b *testing.B) {
	benchmarkExport(b, benchRows, func(w io.Writer, rows Rows) (int64, error) {
		return WriteCSV(w, reportColumns, rows, CSVOptions{BOM: true, Comma: ';'})
	}, ptBRDates)
}

func BenchmarkXLSX(b *testing.B) {
	benchmarkExport(b, benchRows, func(w io.Writer, rows Rows) (int64, error) {
		return WriteXLSX(w, reportColumns, testMeta(benchRows), rows)
	}, DateTimeLayout)
}

func BenchmarkPDF(b *testing.B) {
	benchmarkExport(b, MaxPDFRows, func(w io.Writer, rows Rows) (int64, error) {
		return WritePDF(w, reportColumns, testMeta(MaxPDFRows), rows, 0)
	}, ptBRDates)
}

// TestMemoryFlat checks that 200,000 rows take no more heap than 50,000: CSV streams through a fixed
// buffer, XLSX through excelize's 16 MiB chunks spilled to a temporary file and a ZIP streamed to w.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 500,000 rows")
	}
	formats := []struct {
		name   string
		write  func(io.Writer, Rows) (int64, error)
		slack  uint64
		layout string
	}{
		{"CSV", func(w io.Writer, rows Rows) (int64, error) {
			return WriteCSV(w, reportColumns, rows, CSVOptions{BOM: true})
		}, 4 << 20, ptBRDates},
		{"XLSX", func(w io.Writer, rows Rows) (int64, error) {
			return WriteXLSX(w, reportColumns, testMeta(0), rows)
		}, 24 << 20, DateTimeLayout},
	}
	for _, f := range formats {
		peaks := map[int]uint64{}
		for _, rows := range []int{50_000, benchRows} {
			source := pooledRowsDated(rows, f.layout)
			heap := watchHeap(2 * time.Millisecond)
			start := time.Now()
			n, err := f.write(io.Discard, source)
			elapsed := time.Since(start)
			peaks[rows] = heap.Peak()
			if err != nil || n != int64(rows) {
				t.Fatalf("%s: %d rows, %v", f.name, n, err)
			}
			t.Logf("%s %7d rows: %8.0f rows/s, peak heap in use %5.1f MB", f.name, rows,
				float64(rows)/elapsed.Seconds(), float64(peaks[rows])/(1<<20))
		}
		if peaks[benchRows] > peaks[50_000]+f.slack {
			t.Errorf("%s: peak heap grew from %d MB at 50,000 rows to %d MB at %d rows", f.name,
				peaks[50_000]>>20, peaks[benchRows]>>20, benchRows)
		}
		if peaks[benchRows] > 100<<20 {
			t.Errorf("%s: peak heap %d MB at %d rows, want under 100 MB", f.name, peaks[benchRows]>>20, benchRows)
		}
	}
}

// TestMillionRows writes 1,000,000 rows to CSV and XLSX files and reports the process's peak RSS (VmHWM),
// the SPEC's measure (< 200 MB). Opt in: TICKS_EXPORT_1M=1 go test -run TestMillionRows -v ./internal/export/
func TestMillionRows(t *testing.T) {
	if os.Getenv("TICKS_EXPORT_1M") == "" {
		t.Skip("set TICKS_EXPORT_1M=1 to write 1,000,000 rows")
	}
	const rows = 1_000_000
	dir := t.TempDir()
	for _, format := range []string{"csv", "xlsx"} {
		file, err := os.Create(dir + "/million." + format)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var n int64
		if format == "csv" {
			n, err = WriteCSV(file, reportColumns, pooledRows(rows), CSVOptions{BOM: true})
		} else {
			n, err = WriteXLSX(file, reportColumns, testMeta(rows), pooledRowsDated(rows, DateTimeLayout))
		}
		elapsed := time.Since(start)
		if err != nil || n != rows {
			t.Fatalf("%s: %d rows, %v", format, n, err)
		}
		info, _ := file.Stat()
		file.Close()
		t.Logf("%s: %d rows in %v (%.0f rows/s), %.1f MB, peak RSS so far %s", format, n, elapsed.Round(time.Millisecond),
			float64(n)/elapsed.Seconds(), float64(info.Size())/(1<<20), peakRSS())
	}
}

// peakRSS is the VmHWM line of /proc/self/status, or "unknown".
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if kb, err := strconv.Atoi(fields[0]); err == nil {
				return strconv.Itoa(kb/1024) + " MB"
			}
		}
	}
	return "unknown"
}
