package crmstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

var _ cti.Sessions = (*Store)(nil)

// tokenBytes is the size of a session token's randomness.
const tokenBytes = 32

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Create starts a session; see cti.Sessions.
func (s *Store) Create(ctx context.Context, agentID string, idle time.Duration, remote, userAgent string) (string, *cti.Session, error) {
	if _, err := parseID(agentID, "agent"); err != nil {
		return "", nil, err
	}
	if idle <= 0 {
		return "", nil, cti.Invalid("idle", "must be positive")
	}
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	token := base64.RawURLEncoding.EncodeToString(b)
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	now := s.now()
	id := newID()
	_, err := s.db.Pool.Exec(ctx, `insert into sessions (id, token_hash, agent_id, created_at, last_seen, expires_at, remote, user_agent)
		values ($1, $2, $3, $4, $4, $5, $6, $7)`, id, tokenHash(token), agentID, now, now.Add(idle), remote, userAgent)
	if code, _ := pgCode(err); code == pgForeignKeyViolation {
		return "", nil, cti.Errorf(cti.ENOTFOUND, "no agent %s", agentID)
	}
	if err != nil {
		return "", nil, dbError(err, "create session")
	}
	sess, err := s.sessionWhere(ctx, `s.id = $1`, id)
	if err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// Get returns the live session of token; see cti.Sessions.
func (s *Store) Get(ctx context.Context, token string) (*cti.Session, error) {
	if token == "" || len(token) > 100 {
		return nil, cti.Errorf(cti.EUNAUTHORIZED, "not signed in")
	}
	return s.sessionWhere(ctx, `s.token_hash = $1`, tokenHash(token))
}

func (s *Store) sessionWhere(ctx context.Context, where string, arg any) (*cti.Session, error) {
	var x cti.Session
	var role string
	err := s.db.Pool.QueryRow(ctx, `select s.id::text, s.agent_id::text, a.login, a.display_name, a.role, s.created_at, s.last_seen,
			s.expires_at, s.remote, s.user_agent
		from sessions s join agents a on a.id = s.agent_id
		where `+where+` and s.revoked_at is null and s.expires_at > $2 and not a.disabled`, arg, s.now()).
		Scan(&x.ID, &x.AgentID, &x.Login, &x.DisplayName, &role, &x.CreatedAt, &x.LastSeen, &x.ExpiresAt, &x.Remote, &x.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.EUNAUTHORIZED, "not signed in")
	}
	if err != nil {
		return nil, dbError(err, "read session")
	}
	x.Role = cti.Role(role)
	x.CreatedAt, x.LastSeen, x.ExpiresAt = x.CreatedAt.UTC(), x.LastSeen.UTC(), x.ExpiresAt.UTC()
	return &x, nil
}

// Touch records use of a live session and extends its expiry; see cti.Sessions.
func (s *Store) Touch(ctx context.Context, id string, idle time.Duration) error {
	if _, err := parseID(id, "session"); err != nil {
		return err
	}
	now := s.now()
	tag, err := s.db.Pool.Exec(ctx, `update sessions set last_seen = $2, expires_at = $3
		where id = $1 and revoked_at is null and expires_at > $2`, id, now, now.Add(idle))
	if err != nil {
		return dbError(err, "touch session")
	}
	if tag.RowsAffected() == 0 {
		return cti.Errorf(cti.EUNAUTHORIZED, "not signed in")
	}
	return nil
}

// Revoke ends one session; see cti.Sessions.
func (s *Store) Revoke(ctx context.Context, id string) error {
	if _, err := parseID(id, "session"); err != nil {
		return err
	}
	_, err := s.db.Pool.Exec(ctx, `update sessions set revoked_at = $2 where id = $1 and revoked_at is null`, id, s.now())
	return dbError(err, "revoke session")
}

// RevokeAgent ends an agent's live sessions; see cti.Sessions.
func (s *Store) RevokeAgent(ctx context.Context, agentID string) (int, error) {
	if _, err := parseID(agentID, "agent"); err != nil {
		return 0, err
	}
	tag, err := s.db.Pool.Exec(ctx, `update sessions set revoked_at = $2 where agent_id = $1 and revoked_at is null and expires_at > $2`, agentID, s.now())
	if err != nil {
		return 0, dbError(err, "revoke sessions")
	}
	return int(tag.RowsAffected()), nil
}
