package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain keeps the binary buildBinary builds in a folder of the test
// run's, and removes it when the tests are done.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ticks-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is the ticks binary of this test run: linking it takes seconds, and
// five tests run it.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildBinary builds ticks once per test run, and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(built.dir, "ticks")
	built.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Stderr = os.Stderr
		built.err = cmd.Run()
	})
	if built.err != nil {
		t.Fatalf("build: %v", built.err)
	}
	return bin
}
