package main

import (
	"context"
	"fmt"
	"io"
)

func bench(ctx context.Context, args []string, out io.Writer) error {
	return fmt.Errorf("usage: ticks bench ingest [flags]")
}
