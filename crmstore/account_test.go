package crmstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

func TestCustomerByAccount(t *testing.T) {
	ctx := context.Background()
	s := crmstore.NewStore(pgtest.DB(t), crmstore.Options{})
	c := &cti.Customer{Name: "Li Lei", Tier: cti.TierGold, Fields: map[string]string{"account": "1000042"},
		Phones: []cti.Phone{{Number: "+8613800138000", Kind: cti.PhoneMobile}}}
	if err := s.CreateCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.CustomerByAccount(ctx, " 1000042 ")
	if err != nil || got.ID != c.ID {
		t.Fatalf("CustomerByAccount = %v, %v; want %s", got, err, c.ID)
	}
	if _, err := s.CustomerByAccount(ctx, "999"); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("unknown account: %v, want not found", err)
	}
	if _, err := s.CustomerByAccount(ctx, ""); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("empty account: %v, want invalid", err)
	}
	// An account belongs to one live customer.
	dup := &cti.Customer{Name: "Han Meimei", Fields: map[string]string{"account": "1000042"}}
	if err := s.CreateCustomer(ctx, dup); cti.ErrorCode(err) != cti.ECONFLICT || !strings.Contains(cti.ErrorMessage(err), "Li Lei") {
		t.Errorf("a second customer with the same account: %v, want a conflict naming Li Lei", err)
	}
	if err := s.DeleteCustomer(ctx, c.ID, c.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerByAccount(ctx, "1000042"); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("deleted customer still found by account: %v", err)
	}
}
