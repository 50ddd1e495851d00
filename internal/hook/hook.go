// Package hook posts ticks's own notifications (a budget crossed, an
// extraction done) as JSON to a URL an operator configured.
package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Timeout bounds one call, answer included.
const Timeout = 15 * time.Second

// Post sends payload as JSON to target with client (http.DefaultClient
// when nil). An answer other than 2xx is an error, for the caller's job to
// try again; the answer's body is read (up to 64 KB) and dropped.
func Post(ctx context.Context, client *http.Client, target string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("webhook payload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ticks")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook to %s: answered %s", req.URL.Host, resp.Status)
	}
	return nil
}
