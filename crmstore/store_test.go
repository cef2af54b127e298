package crmstore_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// MustStore returns a Store on a fresh database holding the seeded staff and configuration (no customers).
func MustStore(tb testing.TB) *crmstore.Store {
	tb.Helper()
	db := pgtest.DB(tb)
	if _, err := crmstore.Seed(context.Background(), db, crmstore.SeedOptions{}); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return crmstore.NewStore(db, crmstore.Options{})
}

func wantCode(tb testing.TB, err error, code string) *cti.Error {
	tb.Helper()
	if cti.ErrorCode(err) != code {
		tb.Fatalf("error = %v, want code %s", err, code)
	}
	var e *cti.Error
	errors.As(err, &e)
	return e
}

func mustCreate(tb testing.TB, s *crmstore.Store, c *cti.Customer) *cti.Customer {
	tb.Helper()
	if err := s.CreateCustomer(context.Background(), c); err != nil {
		tb.Fatalf("create customer: %v", err)
	}
	return c
}

func TestCustomerLifecycle(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	c := mustCreate(t, s, &cti.Customer{Name: " Li Wei ", Company: "星辰科技", Tier: cti.TierGold, Tags: []string{"vip"},
		Fields: map[string]string{"account": "1234567"},
		Phones: []cti.Phone{{Number: "138 0013 8000"}, {Number: "010-6512-3456", Kind: cti.PhoneWork}},
		Emails: []cti.Email{{Address: "Li.Wei@Example.com"}}})
	if c.ID == "" || c.Version != 1 || c.Name != "Li Wei" || c.Phones[0].Number != "+8613800138000" || c.Phones[0].Kind != cti.PhoneMobile {
		t.Fatalf("created %+v", c)
	}

	// Lookup from any common format.
	for _, raw := range []string{"+8613800138000", "13800138000", "0086 138-0013-8000", "+86 (138) 0013 8000", "(010) 65123456"} {
		got, err := s.LookupByPhone(ctx, raw)
		if err != nil || got.ID != c.ID {
			t.Fatalf("LookupByPhone(%q) = %v, %v", raw, got, err)
		}
	}
	got, _ := s.Customer(ctx, c.ID)
	if got.Emails[0].Address != "li.wei@example.com" || got.Fields["account"] != "1234567" || got.Tier != cti.TierGold {
		t.Errorf("stored %+v", got)
	}
	wantCode(t, func() error { _, err := s.LookupByPhone(ctx, "13900139000"); return err }(), cti.ENOTFOUND)
	e := wantCode(t, func() error { _, err := s.LookupByPhone(ctx, "call me"); return err }(), cti.EINVALID)
	if e.Field != "phone" {
		t.Errorf("field %q", e.Field)
	}
	wantCode(t, func() error { _, err := s.Customer(ctx, "nope"); return err }(), cti.ENOTFOUND)

	// A duplicate number is a conflict naming the owner; nothing of the second customer is stored.
	err := s.CreateCustomer(ctx, &cti.Customer{Name: "Other", Phones: []cti.Phone{{Number: "+86 138 0013 8000"}}})
	e = wantCode(t, err, cti.ECONFLICT)
	if !strings.Contains(e.Message, "Li Wei") || !strings.Contains(e.Message, c.ID) || e.Field != "phones[0].number" {
		t.Errorf("conflict %+v", e)
	}
	if res, _ := s.SearchCustomers(ctx, "Other", 10); len(res) != 0 {
		t.Errorf("half-created customer %+v", res)
	}

	// Bad input is rejected per field, never stored half-normalized.
	err = s.CreateCustomer(ctx, &cti.Customer{Name: "", Tier: "diamond", Phones: []cti.Phone{{Number: "12"}, {Number: "abc"}},
		Emails: []cti.Email{{Address: "nope"}}})
	e = wantCode(t, err, cti.EINVALID)
	for _, f := range []string{"name", "tier", "phones[0].number", "phones[1].number", "emails[0].address"} {
		if e.Fields[f] == "" {
			t.Errorf("no message for %s in %v", f, e.Fields)
		}
	}

	// Optimistic concurrency: the second writer of version 1 gets EPRECONDITION.
	a, b := *got, *got
	a.Notes = "first"
	if err := s.UpdateCustomer(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 || a.Notes != "first" {
		t.Errorf("after update %+v", a)
	}
	b.Notes = "second"
	wantCode(t, s.UpdateCustomer(ctx, &b), cti.EPRECONDITION)

	// Numbers: add, conflict, remove; each bumps the version.
	other := mustCreate(t, s, &cti.Customer{Name: "Zhang San", Phones: []cti.Phone{{Number: "13900139000"}}})
	_, err = s.AddPhone(ctx, c.ID, cti.Phone{Number: "139 0013 9000"})
	e = wantCode(t, err, cti.ECONFLICT)
	if !strings.Contains(e.Message, "Zhang San") {
		t.Errorf("conflict %+v", e)
	}
	c2, err := s.AddPhone(ctx, c.ID, cti.Phone{Number: "+1 415 555 2671", Kind: cti.PhoneHome})
	if err != nil || len(c2.Phones) != 3 || c2.Version != 3 {
		t.Fatalf("AddPhone: %+v %v", c2, err)
	}
	c2, err = s.RemovePhone(ctx, c.ID, "010 6512 3456")
	if err != nil || len(c2.Phones) != 2 {
		t.Fatalf("RemovePhone: %+v %v", c2, err)
	}
	wantCode(t, func() error { _, err := s.RemovePhone(ctx, c.ID, "010 6512 3456"); return err }(), cti.ENOTFOUND)
	c2, err = s.AddEmail(ctx, c.ID, cti.Email{Address: "boss@example.cn"})
	if err != nil || len(c2.Emails) != 2 {
		t.Fatalf("AddEmail: %+v %v", c2, err)
	}
	if c2, err = s.RemoveEmail(ctx, c.ID, "BOSS@example.cn"); err != nil || len(c2.Emails) != 1 {
		t.Fatalf("RemoveEmail: %+v %v", c2, err)
	}

	// Replacing the number set in an update.
	c2.Phones = []cti.Phone{{Number: "13700137000"}}
	if err := s.UpdateCustomer(ctx, c2); err != nil || len(c2.Phones) != 1 || c2.Phones[0].Number != "+8613700137000" {
		t.Fatalf("update phones: %+v %v", c2, err)
	}

	// Soft delete frees the numbers and hides the customer.
	wantCode(t, s.DeleteCustomer(ctx, other.ID, 7), cti.EPRECONDITION)
	if err := s.DeleteCustomer(ctx, other.ID, other.Version); err != nil {
		t.Fatal(err)
	}
	wantCode(t, func() error { _, err := s.Customer(ctx, other.ID); return err }(), cti.ENOTFOUND)
	wantCode(t, func() error { _, err := s.LookupByPhone(ctx, "13900139000"); return err }(), cti.ENOTFOUND)
	mustCreate(t, s, &cti.Customer{Name: "New owner", Phones: []cti.Phone{{Number: "13900139000"}}})
}

func TestConcurrentEditsNeverOverwrite(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	c := mustCreate(t, s, &cti.Customer{Name: "Shared"})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			cc := *c
			cc.Notes = strings.Repeat("x", i+1)
			errs[i] = s.UpdateCustomer(ctx, &cc)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch cti.ErrorCode(err) {
		case "":
			ok++
		case cti.EPRECONDITION:
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d writers of version 1 succeeded, want 1", ok)
	}
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	mustCreate(t, s, &cti.Customer{Name: "Margaret Thompson", Company: "Acme Trading", Phones: []cti.Phone{{Number: "13800138000"}},
		Emails: []cti.Email{{Address: "maggie@example.com"}}})
	mustCreate(t, s, &cti.Customer{Name: "Mark Twain", Phones: []cti.Phone{{Number: "13800138111"}}})
	mustCreate(t, s, &cti.Customer{Name: "王伟", Company: "北京星辰科技有限公司", Phones: []cti.Phone{{Number: "010 6512 3456"}}})
	names := func(q string) string {
		t.Helper()
		res, err := s.SearchCustomers(ctx, q, 10)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var n []string
		for _, c := range res {
			n = append(n, c.Name)
		}
		return strings.Join(n, ",")
	}
	for q, want := range map[string]string{
		"mar":              "Margaret Thompson,Mark Twain",
		"MARK":             "Mark Twain",
		"acme":             "Margaret Thompson",
		"maggie@":          "Margaret Thompson",
		"王":                "王伟",
		"北京星辰":             "王伟",
		"138 0013 8000":    "Margaret Thompson",
		"+86 138 0013 8":   "Margaret Thompson,Mark Twain",
		"1380013811":       "Mark Twain",
		"010 6512":         "王伟",
		"Margret Thompson": "Margaret Thompson", // typo: trigram fallback
		"zzzz":             "",
		"100%_":            "",
	} {
		if got := names(q); got != want {
			t.Errorf("search %q = %q, want %q", q, got, want)
		}
	}
	wantCode(t, func() error { _, err := s.SearchCustomers(ctx, "  ", 10); return err }(), cti.EINVALID)
}

func TestInteractions(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	c := mustCreate(t, s, &cti.Customer{Name: "Caller", Phones: []cti.Phone{{Number: "13800138000"}}})
	agent, err := s.AgentByLogin(ctx, "agent2")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
	in := &cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CustomerID: c.ID, CallerNumber: "13800138000",
		DialedNumber: "4008001000", ArrivedAt: t0}
	if err := s.StartInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	// A retry with the same content is fine; other content under the same id is a conflict.
	again := *in
	if err := s.StartInteraction(ctx, &again); err != nil {
		t.Fatalf("retry: %v", err)
	}
	again.CallerNumber = "999"
	wantCode(t, s.StartInteraction(ctx, &again), cti.ECONFLICT)

	q, ag := "billing", agent.ID
	t1, t2 := t0.Add(20*time.Second), t0.Add(40*time.Second)
	err = s.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{Queue: &q, QueuedAt: &t1,
		IVRPath: []cti.IVRStep{{Node: "menu", Input: "2"}, {Node: "account", Var: "account", Input: "1234567"},
			{Node: "pin", Var: "pin", Input: "9876", Sensitive: true}},
		Inputs: map[string]string{"account": "1234567", "pin": "9876"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{AgentID: &ag, AnsweredAt: &t2,
		Recording: &cti.RecordingRef{File: "rec/x.wav", Size: 1234, SHA256: strings.Repeat("ab", 32), Duration: 90 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	bad := "nosuch"
	e := wantCode(t, s.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{Queue: &bad}), cti.EINVALID)
	if e.Field != "queue" {
		t.Errorf("field %q", e.Field)
	}
	wantCode(t, s.SetDisposition(ctx, in.ID, ag, "sale", ""), cti.EINVALID) // a sales code in billing
	if err := s.SetDisposition(ctx, in.ID, ag, "refund", "refunded 20 CNY"); err != nil {
		t.Fatal(err)
	}
	fin := cti.InteractionFinish{Outcome: cti.OutcomeAnswered, EndedAt: t0.Add(3 * time.Minute),
		Durations: cti.Durations{IVR: 20 * time.Second, Wait: 20 * time.Second, Talk: 140 * time.Second}}
	if err := s.FinishInteraction(ctx, in.ID, fin); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishInteraction(ctx, in.ID, fin); err != nil {
		t.Fatalf("repeat finish: %v", err)
	}
	fin.Outcome = cti.OutcomeAbandoned
	wantCode(t, s.FinishInteraction(ctx, in.ID, fin), cti.ECONFLICT)

	got, err := s.Interaction(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Inputs["pin"] != cti.Masked || got.IVRPath[2].Input != cti.Masked || got.Inputs["account"] != "1234567" {
		t.Errorf("sensitive input not masked: %+v %+v", got.IVRPath, got.Inputs)
	}
	if got.Queue != "billing" || got.AgentID != ag || got.Disposition != "refund" || got.Outcome != cti.OutcomeAnswered ||
		got.Durations.Talk != 140*time.Second || got.Recording == nil || got.Recording.Duration != 90*time.Second ||
		!got.ArrivedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Errorf("stored %+v", got)
	}
	wantCode(t, s.StartInteraction(ctx, &cti.Interaction{Channel: "fax", Direction: cti.Inbound, ArrivedAt: t0}), cti.EINVALID)
}

func TestTimelinePagination(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	c := mustCreate(t, s, &cti.Customer{Name: "Busy"})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []cti.Interaction
	for i := range 120 {
		at := t0.Add(time.Duration(i/2) * time.Minute) // pairs share a timestamp: the id breaks the tie
		batch = append(batch, cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CustomerID: c.ID, ArrivedAt: at,
			EndedAt: at.Add(time.Minute), Outcome: cti.OutcomeAnswered})
	}
	batch = append(batch, cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: t0}) // unknown caller
	if err := s.LogInteractions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var last *cti.Interaction
	cursor, pages := "", 0
	for {
		items, next, err := s.Timeline(ctx, c.ID, cursor, 50)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i := range items {
			it := &items[i]
			if seen[it.ID] {
				t.Fatalf("%s twice", it.ID)
			}
			seen[it.ID] = true
			if last != nil && (it.ArrivedAt.After(last.ArrivedAt) || it.ArrivedAt.Equal(last.ArrivedAt) && it.ID > last.ID) {
				t.Fatalf("not newest first: %v after %v", it.ArrivedAt, last.ArrivedAt)
			}
			last = it
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 120 || pages != 3 {
		t.Errorf("%d interactions in %d pages", len(seen), pages)
	}
	wantCode(t, func() error { _, _, err := s.Timeline(ctx, c.ID, "garbage!", 50); return err }(), cti.EINVALID)
	wantCode(t, func() error { _, _, err := s.Timeline(ctx, "0190c3b4-0000-7000-8000-000000000000", "", 50); return err }(), cti.ENOTFOUND)
	// A batch with one bad row stores nothing.
	bad := []cti.Interaction{{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: t0, CustomerID: c.ID},
		{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: t0, Queue: "nosuch"}}
	wantCode(t, s.LogInteractions(ctx, bad), cti.EINVALID)
	if items, _, _ := s.Timeline(ctx, c.ID, "", 200); len(items) != 120 {
		t.Errorf("partial batch stored: %d", len(items))
	}
}

func TestConfigAndSeedIdempotent(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	for range 2 {
		if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 200, Rand: 7}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 200, Demo: true})
	if err != nil || rep.Customers != 0 {
		t.Fatalf("demo seed on a seeded database: %+v %v", rep, err)
	}
	s := crmstore.NewStore(db, crmstore.Options{})
	agents, err := s.Agents(ctx)
	if err != nil || len(agents) != 5 {
		t.Fatalf("agents %d %v", len(agents), err)
	}
	a1, _ := s.AgentByLogin(ctx, "agent1")
	if a1.Endpoint != "PJSIP/1001" || a1.Role != cti.RoleAgent || len(a1.Skills) == 0 || len(a1.Queues) == 0 {
		t.Errorf("agent1 %+v", a1)
	}
	if _, err := s.VerifyPassword(ctx, "agent1", crmstore.DemoAgentPassword); err != nil {
		t.Errorf("demo password: %v", err)
	}
	if _, err := s.VerifyPassword(ctx, "Supervisor", crmstore.DemoSupervisorPassword); err != nil {
		t.Errorf("demo password: %v", err)
	}
	wantCode(t, func() error { _, err := s.VerifyPassword(ctx, "agent1", "wrong"); return err }(), cti.EUNAUTHORIZED)
	wantCode(t, func() error { _, err := s.VerifyPassword(ctx, "nobody", "wrong"); return err }(), cti.EUNAUTHORIZED)

	queues, _ := s.Queues(ctx)
	if len(queues) != 5 {
		t.Fatalf("queues %+v", queues)
	}
	for _, q := range queues {
		if q.Name == "billing" && (!strings.Contains(string(q.Escalation), `"overflow": "general"`) || q.Overflow != "general" ||
			q.SLThreshold != 20*time.Second) {
			t.Errorf("billing %+v %s", q, q.Escalation)
		}
	}
	ds, _ := s.Dispositions(ctx, "billing")
	if len(ds) != 7 || ds[0].Code != "payment-taken" {
		t.Errorf("dispositions %+v", ds)
	}
	wantCode(t, func() error { _, err := s.Dispositions(ctx, "nosuch"); return err }(), cti.ENOTFOUND)
	rc, _ := s.ReasonCodes(ctx)
	if len(rc) != 6 || rc[0].Code != "break" {
		t.Errorf("reason codes %+v", rc)
	}
	sc, err := s.Script(ctx, "billing", cti.TierPlatinum)
	if err != nil || sc.Tier != cti.TierPlatinum {
		t.Fatalf("script %+v %v", sc, err)
	}
	sc, err = s.Script(ctx, "billing", cti.TierGold) // falls back to every tier
	if err != nil || sc.Tier != "" || sc.Version != 1 {
		t.Fatalf("script %+v %v", sc, err)
	}
	next := &cti.Script{Queue: "billing", Title: "v2", Body: "Hello {{customer.name}}"}
	if err := s.PutScript(ctx, next); err != nil || next.Version != 2 {
		t.Fatalf("put script %+v %v", next, err)
	}
	if sc, _ = s.Script(ctx, "billing", cti.TierGold); sc.Version != 2 {
		t.Errorf("newest version not served: %+v", sc)
	}

	var customers, phones int
	db.Pool.QueryRow(ctx, `select (select count(*) from customers), (select count(*) from customer_phones)`).Scan(&customers, &phones)
	if customers != 400 || phones < 500 {
		t.Errorf("%d customers, %d phones", customers, phones)
	}
	// Every seeded number is one the store itself would accept, and is found again.
	rows, _ := db.Pool.Query(ctx, `select e164 from customer_phones order by e164 limit 50`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		if _, err := crmstore.NormalizePhone("n", n, "CN", true); err != nil {
			t.Errorf("seeded %s: %v", n, err)
		}
		if _, err := s.LookupByPhone(ctx, n); err != nil {
			t.Errorf("lookup seeded %s: %v", n, err)
		}
	}
	rows.Close()

	if err := s.Audit(ctx, cti.AuditEntry{Actor: "supervisor", Action: "call.barge", Target: "x", Remote: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	log, _ := s.AuditLog(ctx, 10)
	if len(log) != 1 || log[0].Action != "call.barge" {
		t.Errorf("audit %+v", log)
	}
}

// TestPoolSize: the pool's maximum and minimum come from the URL, else the defaults; the pool opens its minimum of
// connections by itself, before any query needs them.
func TestPoolSize(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	def := max(16, 4*int32(runtime.NumCPU()))
	for _, c := range []struct {
		url      string
		max, min int32
	}{{u, def, def}, {u + "&pool_max_conns=3", 3, 3}, {u + "&pool_min_conns=1", def, 1}} {
		db, err := crmstore.Open(ctx, c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.Pool.Config().MaxConns; got != c.max {
			t.Errorf("%s: pool of %d connections, want %d", c.url, got, c.max)
		}
		if got := db.Pool.Config().MinConns; got != c.min {
			t.Errorf("%s: a minimum of %d connections, want %d", c.url, got, c.min)
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.Pool.Stat().TotalConns() < c.min && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := db.Pool.Stat().TotalConns(); got < c.min {
			t.Errorf("%s: %d connections open, want at least %d", c.url, got, c.min)
		}
		db.Close()
	}
}
