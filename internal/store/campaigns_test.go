package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestCreateCampaignFrom: a campaign's rows, read one by one, are stored
// with it in one transaction (2,000-row INSERTs on SQLite, COPY on
// PostgreSQL), in order, with their fields as given, and the counts finish
// gives after the last row; when reading them fails half-way, or finish
// fails after them, nothing of the campaign is stored, and the store goes on.
func TestCreateCampaignFrom(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "Loja", WABAID: "w1", PhoneNumberID: "p1"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	rows := func(n, failAt int) func() (domain.CampaignRow, bool, error) {
		i := 0
		return func() (domain.CampaignRow, bool, error) {
			i++
			switch {
			case i == failAt:
				return domain.CampaignRow{}, false, errors.New("the spill is gone")
			case i > n:
				return domain.CampaignRow{}, false, nil
			}
			return domain.CampaignRow{Seq: i, Line: i + 1, Phone: fmt.Sprintf("+55119%08d", i), Name: "Zé \"Ç\", 1",
				CorrelationID: fmt.Sprint("C-", i), Vars: []string{"a;b", "\n=1"}}, true, nil
		}
	}
	newCampaign := func() *domain.Campaign {
		return &domain.Campaign{SubaccountID: sa.ID, Name: "Natal", ChannelID: ch.ID, Template: "t", Language: "pt_BR",
			Status: domain.CampaignDraft, CreatedAt: time.Now()}
	}
	finish := func(rejected []domain.CampaignRowError, fail error) func(*domain.Campaign) ([]domain.CampaignRowError, error) {
		return func(c *domain.Campaign) ([]domain.CampaignRowError, error) {
			c.Rows, c.Audience, c.Invalid = 4501, 4500, 1
			return rejected, fail
		}
	}
	for _, bad := range []struct {
		name   string
		next   func() (domain.CampaignRow, bool, error)
		finish func(*domain.Campaign) ([]domain.CampaignRowError, error)
	}{
		{"a read failing half-way", rows(4500, 3000), finish(nil, nil)},
		{"finish failing after the rows", rows(4500, 0), finish(nil, errors.New("no valid row"))},
	} {
		c := newCampaign()
		if err := st.CreateCampaignFrom(ctx, c, "natal", bad.next, bad.finish); err == nil {
			t.Fatalf("%s stored the campaign", bad.name)
		}
		if _, err := st.Campaign(ctx, c.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("after %s the campaign is there: %v", bad.name, err)
		}
		if got, err := st.CampaignRows(ctx, c.ID, 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("after %s %d rows are there: %v", bad.name, len(got), err)
		}
	}
	c := newCampaign()
	if err := st.CreateCampaignFrom(ctx, c, "natal", rows(4500, 0), finish([]domain.CampaignRowError{{Line: 4502, Phone: "x", Error: "bad"}}, nil)); err != nil {
		t.Fatal(err)
	}
	got, err := st.CampaignRows(ctx, c.ID, 1999, 5000)
	if err != nil || len(got) != 2501 {
		t.Fatalf("rows after seq 1999: %d %v", len(got), err)
	}
	if r := got[len(got)-1]; r.Seq != 4500 || r.Line != 4501 || r.Phone != "+5511900004500" || r.Name != "Zé \"Ç\", 1" ||
		r.CorrelationID != "C-4500" || len(r.Vars) != 2 || r.Vars[0] != "a;b" || r.Vars[1] != "\n=1" {
		t.Fatalf("last row %+v", r)
	}
	errs, err := st.CampaignRowErrors(ctx, c.ID)
	if err != nil || len(errs) != 1 || errs[0].Line != 4502 {
		t.Fatalf("rejected rows %+v %v", errs, err)
	}
	if stored, err := st.Campaign(ctx, c.ID); err != nil || stored.Audience != 4500 || stored.Rows != 4501 || stored.Invalid != 1 {
		t.Fatalf("campaign %+v %v", stored, err)
	}
}
