package crmstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s.DB().Now = func() time.Time { return now }
	a, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := s.Create(ctx, a.ID, time.Hour, "127.0.0.1:5000", "test-browser")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 43 || sess.AgentID != a.ID || sess.Login != "agent1" || sess.Role != cti.RoleAgent ||
		!sess.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("token %q session %+v", token, sess)
	}
	// Only the hash is stored.
	var n int
	if err := s.DB().Pool.QueryRow(ctx, `select count(*) from sessions where token_hash = $1::text::bytea`, token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("raw token found in the table: %d %v", n, err)
	}
	got, err := s.Get(ctx, token)
	if err != nil || got.ID != sess.ID {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, token+"x"); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("wrong token: %v", err)
	}

	// Idle expiry, pushed back by Touch.
	now = now.Add(50 * time.Minute)
	if err := s.Touch(ctx, sess.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(50 * time.Minute)
	if _, err := s.Get(ctx, token); err != nil {
		t.Fatalf("touched session expired: %v", err)
	}
	now = now.Add(11 * time.Minute)
	if _, err := s.Get(ctx, token); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("idle session still valid: %v", err)
	}
	if err := s.Touch(ctx, sess.ID, time.Hour); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("touch of an expired session: %v", err)
	}

	// Revoke one, then all of an agent's.
	t1, s1, _ := s.Create(ctx, a.ID, time.Hour, "", "")
	t2, _, _ := s.Create(ctx, a.ID, time.Hour, "", "")
	if err := s.Revoke(ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, s1.ID); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := s.Get(ctx, t1); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("revoked session valid: %v", err)
	}
	if _, err := s.Get(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeAgent(ctx, a.ID); err != nil || n != 1 {
		t.Fatalf("revoke agent = %d, %v", n, err)
	}
	if _, err := s.Get(ctx, t2); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("force-logged-out session valid: %v", err)
	}

	// A disabled agent's sessions stop working at once.
	t3, _, _ := s.Create(ctx, a.ID, time.Hour, "", "")
	a.Disabled = true
	if err := s.PutAgent(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, t3); cti.ErrorCode(err) != cti.EUNAUTHORIZED {
		t.Fatalf("disabled agent's session valid: %v", err)
	}
	if _, _, err := s.Create(ctx, "not-a-uuid", time.Hour, "", ""); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Fatalf("bad agent id: %v", err)
	}
}

func TestConfigAdminPort(t *testing.T) {
	ctx := context.Background()
	var admin cti.ConfigAdmin = MustStore(t)
	store := admin.(*crmstore.Store)
	if err := admin.PutSkill(ctx, cti.Skill{Name: "french", Label: "French"}); err != nil {
		t.Fatal(err)
	}
	a := &cti.AgentConfig{Login: "agent9", DisplayName: "Agent Nine", Role: cti.RoleAgent, Endpoint: "PJSIP/1009",
		Skills: []cti.AgentSkill{{Skill: "french", Proficiency: 6}}, Queues: []string{"general"}}
	if err := admin.PutAgent(ctx, a, "secret-pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.VerifyPassword(ctx, "agent9", "secret-pass"); err != nil {
		t.Fatal(err)
	}
	sc := &cti.Script{Queue: "general", Title: "Hello", Body: "# Hi {{customer.name}}"}
	if err := admin.PutScript(ctx, sc); err != nil || sc.Version < 1 {
		t.Fatalf("script %+v %v", sc, err)
	}
	if err := admin.PutDisposition(ctx, cti.Disposition{Code: "bad code", Label: "x"}, 1); cti.ErrorCode(err) != cti.EINVALID {
		t.Fatalf("bad disposition: %v", err)
	}
	if err := admin.PutReasonCode(ctx, cti.ReasonCode{Code: "coaching", Label: "Coaching"}, 9); err != nil {
		t.Fatal(err)
	}
}
