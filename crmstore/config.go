package crmstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

const agentSelect = `select a.id::text, a.login, a.display_name, a.role, a.endpoint, a.disabled,
	coalesce((select json_agg(json_build_object('skill', s.skill, 'proficiency', s.proficiency) order by s.skill)
		from agent_skills s where s.agent_id = a.id), '[]'),
	array(select m.queue from queue_members m where m.agent_id = a.id order by m.queue)
	from agents a`

func scanAgent(row pgx.Row) (*cti.AgentConfig, error) {
	var a cti.AgentConfig
	var role string
	if err := row.Scan(&a.ID, &a.Login, &a.DisplayName, &role, &a.Endpoint, &a.Disabled, &a.Skills, &a.Queues); err != nil {
		return nil, err
	}
	a.Role = cti.Role(role)
	return &a, nil
}

// Agents returns every configured agent, by login.
func (s *Store) Agents(ctx context.Context) ([]cti.AgentConfig, error) {
	rows, err := s.db.Pool.Query(ctx, agentSelect+` order by a.login`)
	if err != nil {
		return nil, dbError(err, "read agents")
	}
	out := []cti.AgentConfig{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			rows.Close()
			return nil, dbError(err, "read agents")
		}
		out = append(out, *a)
	}
	return out, dbError(rows.Err(), "read agents")
}

// AgentByLogin returns one agent.
func (s *Store) AgentByLogin(ctx context.Context, login string) (*cti.AgentConfig, error) {
	a, err := scanAgent(s.db.Pool.QueryRow(ctx, agentSelect+` where a.login = $1`, strings.ToLower(strings.TrimSpace(login))))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "no agent %q", login)
	}
	return a, dbError(err, "read agent")
}

// VerifyPassword returns the enabled agent whose login and password match; any mismatch is the same EUNAUTHORIZED, and costs the
// same time, so logins cannot be probed.
func (s *Store) VerifyPassword(ctx context.Context, login, password string) (*cti.AgentConfig, error) {
	denied := cti.Errorf(cti.EUNAUTHORIZED, "wrong login or password")
	var hash string
	var disabled bool
	err := s.db.Pool.QueryRow(ctx, `select password_hash, disabled from agents where login = $1`,
		strings.ToLower(strings.TrimSpace(login))).Scan(&hash, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		checkPassword(dummyHash(), password)
		return nil, denied
	}
	if err != nil {
		return nil, dbError(err, "verify password")
	}
	if !checkPassword(hash, password) || disabled {
		return nil, denied
	}
	return s.AgentByLogin(ctx, login)
}

// Queues returns every queue, by name.
func (s *Store) Queues(ctx context.Context) ([]cti.QueueConfig, error) {
	rows, err := s.db.Pool.Query(ctx, `select name, strategy, sl_target, sl_threshold_ms, wrap_up_ms, ring_timeout_ms, max_wait_ms,
		coalesce(overflow, ''), max_length, escalation, time_zone, require_disposition from queues order by name`)
	if err != nil {
		return nil, dbError(err, "read queues")
	}
	out := []cti.QueueConfig{}
	for rows.Next() {
		var q cti.QueueConfig
		var sl, wrap, ring, wait int64
		var target float32
		var esc []byte
		if err := rows.Scan(&q.Name, &q.Strategy, &target, &sl, &wrap, &ring, &wait, &q.Overflow, &q.MaxLength, &esc, &q.TimeZone,
			&q.RequireDisposition); err != nil {
			rows.Close()
			return nil, dbError(err, "read queues")
		}
		q.SLTarget = float64(target)
		ms := time.Millisecond
		q.SLThreshold, q.WrapUp, q.RingTimeout, q.MaxWait = time.Duration(sl)*ms, time.Duration(wrap)*ms, time.Duration(ring)*ms,
			time.Duration(wait)*ms
		q.Escalation = json.RawMessage(esc)
		out = append(out, q)
	}
	return out, dbError(rows.Err(), "read queues")
}

// Skills returns the skills catalogue, by name.
func (s *Store) Skills(ctx context.Context) ([]cti.Skill, error) {
	rows, err := s.db.Pool.Query(ctx, `select name, label from skills order by name`)
	if err != nil {
		return nil, dbError(err, "read skills")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cti.Skill])
	return out, dbError(err, "read skills")
}

// Dispositions returns the codes usable in queue (its own, then the global ones); queue "" gives the global ones only. Cached,
// see configCache.
func (s *Store) Dispositions(ctx context.Context, queue string) ([]cti.Disposition, error) {
	ds, err := cachedRead(s.cache, s.cache.disps, queue, func() ([]cti.Disposition, error) { return s.dispositions(ctx, queue) })
	return slices.Clone(ds), err
}

func (s *Store) dispositions(ctx context.Context, queue string) ([]cti.Disposition, error) {
	if queue != "" {
		if err := s.queueExists(ctx, queue); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.Pool.Query(ctx, `select code, label, coalesce(queue, '') from dispositions
		where queue is null or queue = $1 order by queue nulls last, position, code`, queue)
	if err != nil {
		return nil, dbError(err, "read dispositions")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cti.Disposition])
	return out, dbError(err, "read dispositions")
}

func (s *Store) queueExists(ctx context.Context, queue string) error {
	var ok bool
	if err := s.db.Pool.QueryRow(ctx, `select exists (select 1 from queues where name = $1)`, queue).Scan(&ok); err != nil {
		return dbError(err, "read queue")
	}
	if !ok {
		return cti.Errorf(cti.ENOTFOUND, "no queue %q", queue)
	}
	return nil
}

// ReasonCodes returns the not-ready reasons in display order.
func (s *Store) ReasonCodes(ctx context.Context) ([]cti.ReasonCode, error) {
	rows, err := s.db.Pool.Query(ctx, `select code, label from reason_codes order by position, code`)
	if err != nil {
		return nil, dbError(err, "read reason codes")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cti.ReasonCode])
	return out, dbError(err, "read reason codes")
}

const scriptSelect = `select id::text, queue, coalesce(tier, ''), version, title, body, created_at from scripts`

// Script returns the newest version of queue's script for tier, or of its script for every tier. Cached, see configCache.
func (s *Store) Script(ctx context.Context, queue string, tier cti.Tier) (*cti.Script, error) {
	if tier != "" && !tier.Valid() {
		return nil, cti.Invalid("tier", "unknown tier %q", tier)
	}
	sc, err := cachedRead(s.cache, s.cache.scripts, scriptKey{queue, tier}, func() (*cti.Script, error) {
		return s.script(ctx, queue, tier)
	})
	if sc != nil {
		cp := *sc
		sc = &cp
	}
	return sc, err
}

func (s *Store) script(ctx context.Context, queue string, tier cti.Tier) (*cti.Script, error) {
	var sc cti.Script
	var t string
	err := s.db.Pool.QueryRow(ctx, scriptSelect+` where queue = $1 and (tier = $2 or tier is null)
		order by tier nulls last, version desc limit 1`, queue, string(tier)).
		Scan(&sc.ID, &sc.Queue, &t, &sc.Version, &sc.Title, &sc.Body, &sc.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "no script for queue %q", queue)
	}
	if err != nil {
		return nil, dbError(err, "read script")
	}
	sc.Tier, sc.CreatedAt = cti.Tier(t), sc.CreatedAt.UTC()
	return &sc, nil
}

// configCache keeps the configuration every call reads for its screen-pop — the script of its queue and tier, the queue's
// dispositions (and with them whether the queue exists) — so a call costs no round trip for them. Every configuration write
// through the Store outdates all entries (gen moves on), so an admin's edit shows on the next call; an entry also expires after
// configTTL, so a write by another process (switchboard seed, a second controller) shows within seconds. Only answers and
// "not found" are kept, never a failure to read.
type configCache struct {
	gen     atomic.Uint64
	mu      sync.Mutex
	scripts map[scriptKey]cached[*cti.Script]
	disps   map[string]cached[[]cti.Disposition]
}

// configTTL bounds how long a configuration written by another process can go unseen.
const configTTL = 10 * time.Second

type scriptKey struct {
	queue string
	tier  cti.Tier
}

type cached[V any] struct {
	v   V
	err error
	gen uint64
	at  time.Time
}

func newConfigCache() *configCache {
	return &configCache{scripts: map[scriptKey]cached[*cti.Script]{}, disps: map[string]cached[[]cti.Disposition]{}}
}

// changed outdates every entry; configuration writes call it once they are done.
func (c *configCache) changed() { c.gen.Add(1) }

// cachedRead returns m[k] while it is current, else read's answer, kept with the generation seen before reading: a write that
// lands during the read outdates it at once.
func cachedRead[K comparable, V any](c *configCache, m map[K]cached[V], k K, read func() (V, error)) (V, error) {
	gen, now := c.gen.Load(), time.Now()
	c.mu.Lock()
	e, ok := m[k]
	c.mu.Unlock()
	if ok && e.gen == gen && now.Sub(e.at) < configTTL {
		return e.v, e.err
	}
	v, err := read()
	if err == nil || cti.ErrorCode(err) == cti.ENOTFOUND {
		c.mu.Lock()
		m[k] = cached[V]{v: v, err: err, gen: gen, at: now}
		c.mu.Unlock()
	}
	return v, err
}

// Configuration writes. They are not part of the ports yet (the admin UI will need them); seeding and tests use them.

// PutSkill adds a skill to the catalogue or relabels it.
func (s *Store) PutSkill(ctx context.Context, sk cti.Skill) error {
	_, err := s.db.Pool.Exec(ctx, `insert into skills (name, label) values ($1, $2)
		on conflict (name) do update set label = excluded.label`, sk.Name, sk.Label)
	return dbError(configError(err, "name"), "put skill")
}

// PutQueue creates or replaces a queue's configuration.
func (s *Store) PutQueue(ctx context.Context, q cti.QueueConfig) error {
	defer s.cache.changed()
	esc := q.Escalation
	if len(esc) == 0 {
		esc = json.RawMessage("[]")
	}
	if !json.Valid(esc) {
		return cti.Invalid("escalation", "not JSON")
	}
	if q.TimeZone == "" {
		q.TimeZone = "Asia/Shanghai"
	}
	if _, err := time.LoadLocation(q.TimeZone); err != nil {
		return cti.Invalid("time_zone", "unknown time zone %q", q.TimeZone)
	}
	if q.Strategy == "" {
		q.Strategy = "longest-idle"
	}
	_, err := s.db.Pool.Exec(ctx, `insert into queues (name, strategy, sl_target, sl_threshold_ms, wrap_up_ms, ring_timeout_ms,
			max_wait_ms, overflow, max_length, escalation, time_zone, require_disposition, updated_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		on conflict (name) do update set strategy = excluded.strategy, sl_target = excluded.sl_target,
			sl_threshold_ms = excluded.sl_threshold_ms, wrap_up_ms = excluded.wrap_up_ms, ring_timeout_ms = excluded.ring_timeout_ms,
			max_wait_ms = excluded.max_wait_ms, overflow = excluded.overflow, max_length = excluded.max_length,
			escalation = excluded.escalation, time_zone = excluded.time_zone, require_disposition = excluded.require_disposition,
			updated_at = excluded.updated_at`,
		q.Name, q.Strategy, q.SLTarget, q.SLThreshold.Milliseconds(), q.WrapUp.Milliseconds(), q.RingTimeout.Milliseconds(),
		q.MaxWait.Milliseconds(), nullable(q.Overflow), q.MaxLength, string(esc), q.TimeZone, q.RequireDisposition, s.now())
	return dbError(configError(err, "name"), "put queue")
}

// PutAgent creates or updates an agent by login, with its skills and queue memberships, in one transaction. password sets a new
// password; "" keeps the current one (a new agent needs one). a.ID is filled in.
func (s *Store) PutAgent(ctx context.Context, a *cti.AgentConfig, password string) error {
	a.Login = strings.ToLower(strings.TrimSpace(a.Login))
	if !a.Role.Valid() {
		return cti.Invalid("role", "agent, supervisor or admin")
	}
	for _, sk := range a.Skills {
		if sk.Proficiency < 1 || sk.Proficiency > 10 {
			return cti.Invalid("skills", "proficiency of %q must be 1 to 10", sk.Skill)
		}
	}
	var hash *string
	if password != "" {
		if len(password) < 8 {
			return cti.Invalid("password", "at least 8 characters")
		}
		h, err := HashPassword(password)
		if err != nil {
			return cti.Internal(err, "hash password")
		}
		hash = &h
	}
	now := s.now()
	return s.inTx(ctx, "put agent", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into agents (id, login, display_name, password_hash, role, endpoint, disabled, created_at, updated_at)
			values ($1, $2, $3, coalesce($4, ''), $5, $6, $7, $8, $8)
			on conflict (login) do update set display_name = excluded.display_name, role = excluded.role,
				endpoint = excluded.endpoint, disabled = excluded.disabled, updated_at = excluded.updated_at,
				password_hash = coalesce($4, agents.password_hash)
			returning id::text`, newID(), a.Login, a.DisplayName, hash, string(a.Role), a.Endpoint, a.Disabled, now).Scan(&a.ID)
		if err != nil {
			return configError(err, "login")
		}
		if _, err := tx.Exec(ctx, `delete from agent_skills where agent_id = $1`, a.ID); err != nil {
			return err
		}
		for _, sk := range a.Skills {
			if _, err := tx.Exec(ctx, `insert into agent_skills (agent_id, skill, proficiency) values ($1, $2, $3)`,
				a.ID, sk.Skill, sk.Proficiency); err != nil {
				return configError(err, "skills")
			}
		}
		if _, err := tx.Exec(ctx, `delete from queue_members where agent_id = $1`, a.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into queue_members (queue, agent_id) select unnest($2::text[]), $1`, a.ID, a.Queues); err != nil {
			return configError(err, "queues")
		}
		return nil
	})
}

// PutDisposition adds or relabels a disposition; an empty Queue makes it global.
func (s *Store) PutDisposition(ctx context.Context, d cti.Disposition, position int) error {
	defer s.cache.changed()
	_, err := s.db.Pool.Exec(ctx, `insert into dispositions (queue, code, label, position) values ($1, $2, $3, $4)
		on conflict (queue, code) do update set label = excluded.label, position = excluded.position`,
		nullable(d.Queue), d.Code, d.Label, position)
	return dbError(configError(err, "code"), "put disposition")
}

// PutReasonCode adds or relabels a not-ready reason.
func (s *Store) PutReasonCode(ctx context.Context, r cti.ReasonCode, position int) error {
	_, err := s.db.Pool.Exec(ctx, `insert into reason_codes (code, label, position) values ($1, $2, $3)
		on conflict (code) do update set label = excluded.label, position = excluded.position`, r.Code, r.Label, position)
	return dbError(configError(err, "code"), "put reason code")
}

// PutScript stores a new version of the script of (sc.Queue, sc.Tier) and fills in ID, Version and CreatedAt. Old versions stay, so
// an interaction can always show the version its agent saw.
func (s *Store) PutScript(ctx context.Context, sc *cti.Script) error {
	defer s.cache.changed()
	if sc.Tier != "" && !sc.Tier.Valid() {
		return cti.Invalid("tier", "unknown tier %q", sc.Tier)
	}
	if strings.TrimSpace(sc.Body) == "" {
		return cti.Invalid("body", "a script needs a body")
	}
	sc.ID, sc.CreatedAt = newID(), s.now()
	return s.inTx(ctx, "put script", func(tx pgx.Tx) error {
		// Serialise new versions of one script.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtext('script:' || $1 || ':' || $2))`, sc.Queue, string(sc.Tier)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `insert into scripts (id, queue, tier, version, title, body, created_at)
			values ($1, $2, $3, (select coalesce(max(version), 0) + 1 from scripts where queue = $2 and tier is not distinct from $3),
				$4, $5, $6) returning version`,
			sc.ID, sc.Queue, nullable(string(sc.Tier)), sc.Title, sc.Body, sc.CreatedAt).Scan(&sc.Version)
		return configError(err, "queue")
	})
}

// configError names the field of a constraint violation in a configuration write.
func configError(err error, field string) error {
	switch code, c := pgCode(err); code {
	case pgCheckViolation, pgNotNullViolation, pgInvalidText:
		return cti.Invalid(field, "invalid value (%s)", c)
	case pgForeignKeyViolation:
		return cti.Invalid(field, "refers to something that does not exist (%s)", c)
	}
	return err
}

// Audit appends an entry; a zero At is stamped with the store's clock.
func (s *Store) Audit(ctx context.Context, e cti.AuditEntry) error {
	if strings.TrimSpace(e.Action) == "" {
		return cti.Invalid("action", "required")
	}
	if e.Actor == "" {
		e.Actor = "system"
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	var detail any
	if len(e.Detail) > 0 {
		if !json.Valid(e.Detail) {
			return cti.Invalid("detail", "not JSON")
		}
		detail = string(e.Detail)
	}
	_, err := s.db.Pool.Exec(ctx, `insert into audit_log (id, at, actor, action, target, remote, detail)
		values ($1, $2, $3, $4, $5, $6, $7) on conflict (id) do nothing`, e.ID, e.At.UTC(), e.Actor, e.Action, e.Target, e.Remote, detail)
	return dbError(err, "audit")
}

// AuditLog returns the newest entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]cti.AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.Pool.Query(ctx, `select id::text, at, actor, action, target, remote, detail from audit_log
		order by at desc, audit_log.id desc limit $1`, limit)
	if err != nil {
		return nil, dbError(err, "read audit log")
	}
	out := []cti.AuditEntry{}
	for rows.Next() {
		var e cti.AuditEntry
		var detail []byte
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Remote, &detail); err != nil {
			rows.Close()
			return nil, dbError(err, "read audit log")
		}
		e.At, e.Detail = e.At.UTC(), detail
		out = append(out, e)
	}
	return out, dbError(rows.Err(), "read audit log")
}
