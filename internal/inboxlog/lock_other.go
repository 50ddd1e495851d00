//go:build !unix

package inboxlog

import (
	"fmt"
	"os"
)

// lockDir opens the lock file. Outside Unix it is not locked: run one ticks
// process per data directory.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	return f, nil
}

func syncDir(string) error { return nil }
