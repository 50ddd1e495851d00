package inboxlog

import (
	"os"
	"syscall"
)

// syncData waits until f's data is on disk (its metadata only as far as
// reading the data back needs).
func syncData(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
