package ingest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/store"
)

func TestFxDump(t *testing.T) {
	var files []string
	for _, g := range []string{"meta_openapi/webhook_*.json", "netflie/*.json", "meta_docs_constructed/status_*.json", "meta_docs_constructed/webhook_*.json"} {
		m, _ := filepath.Glob(filepath.Join("../../../shared/whatsapp/fixtures", g))
		files = append(files, m...)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			body, _ := os.ReadFile(f)
			h := newHarness(t)
			h.mustPost(body)
			ctx := context.Background()
			dl := time.Now().Add(4 * time.Second)
			for time.Now().Before(dl) {
				st, _ := h.store.InboxStats(ctx)
				if st.Applied >= st.LastID {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			st, _ := h.store.InboxStats(ctx)
			if st.Applied < st.LastID {
				_, err := h.proc.Step(ctx)
				t.Logf("STUCK: %v", err)
				return
			}
			var v struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Statuses []struct{ ID string }
							Messages []struct{ ID string }
						}
					}
				}
			}
			json.Unmarshal(body, &v)
			for _, e := range v.Entry {
				for _, c := range e.Changes {
					var ids []string
					for _, s := range c.Value.Statuses {
						ids = append(ids, s.ID)
					}
					for _, s := range c.Value.Messages {
						ids = append(ids, s.ID)
					}
					for _, id := range ids {
						m, err := h.store.MessageByWAMID(ctx, id, nil)
						if err != nil {
							t.Logf("msg %s: %v", id, err)
							continue
						}
						b, _ := json.Marshal(m)
						t.Logf("MSG %s", b)
					}
				}
			}
			cs, _ := h.store.Contacts(ctx, store.ContactFilter{})
			for _, c := range cs {
				b, _ := json.Marshal(c)
				t.Logf("CONTACT %s", b)
			}
			chs, _ := h.store.Channels(ctx, nil)
			for _, c := range chs {
				b, _ := json.Marshal(c)
				t.Logf("CHANNEL %s", b)
			}
			evs, _ := h.store.WebhookEvents(ctx, nil, "", 100)
			for _, e := range evs {
				b, _ := json.Marshal(e)
				t.Logf("EVENT %s", b)
			}
		})
	}
}
