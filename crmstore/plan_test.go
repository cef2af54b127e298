package crmstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// The first timeline page must come straight off the interactions_timeline index, in order, with no sort: a sort means every
// interaction of the customer is read for each page. (Sorting is disabled, so a plan that needs one shows it whatever the
// table's size.)
func TestTimelinePlanReadsOnlyThePage(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	c := mustCreate(t, s, &cti.Customer{Name: "Plan"})
	t0 := time.Now().Add(-time.Hour)
	batch := make([]cti.Interaction, 300)
	for i := range batch {
		batch[i] = cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CustomerID: c.ID,
			ArrivedAt: t0.Add(time.Duration(i) * time.Second)}
	}
	if err := s.LogInteractions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, s.DB().Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `set local enable_sort = off; set local enable_seqscan = off; analyze interactions`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "explain (costs off) "+crmstore.TimelineFirstPage, c.ID, 51)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		plan := strings.Join(lines, "\n")
		if strings.Contains(plan, "Sort") || !strings.Contains(plan, "interactions_timeline") {
			t.Errorf("timeline plan:\n%s", plan)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
