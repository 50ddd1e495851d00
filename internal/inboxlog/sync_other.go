//go:build !linux

package inboxlog

import "os"

func syncData(f *os.File) error { return f.Sync() }
