package crmstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-cc/switchboard/cti"
)

// interactionColumns are written, in this order, by StartInteraction and LogInteractions (COPY).
var interactionColumns = []string{"id", "channel", "direction", "customer_id", "caller_number", "dialed_number", "queue", "agent_id",
	"arrived_at", "queued_at", "offered_at", "answered_at", "ended_at", "ivr_ms", "wait_ms", "talk_ms", "hold_ms", "wrap_up_ms",
	"outcome", "ivr_path", "inputs", "disposition", "notes", "recording_file", "recording_size", "recording_sha256", "recording_ms",
	"parent_id", "channel_id", "bridge_id", "script_id", "script_version"}

const interactionSelect = `select id::text, channel, direction, coalesce(customer_id::text, ''), caller_number, dialed_number,
	coalesce(queue, ''), coalesce(agent_id::text, ''), arrived_at, queued_at, offered_at, answered_at, ended_at,
	ivr_ms, wait_ms, talk_ms, hold_ms, wrap_up_ms, coalesce(outcome, ''), ivr_path, inputs, coalesce(disposition, ''), notes,
	recording_file, recording_size, recording_sha256, recording_ms, coalesce(parent_id::text, ''), channel_id, bridge_id,
	coalesce(script_id::text, ''), coalesce(script_version, 0)
	from interactions`

func scanInteraction(row pgx.Row) (*cti.Interaction, error) {
	var in cti.Interaction
	if err := scanInteractionInto(row, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// scanInteractionInto reads a row of interactionSelect into in, so a page of them is read in place without a copy each.
func scanInteractionInto(row pgx.Row, in *cti.Interaction) error {
	var channel, direction, outcome string
	var queued, offered, answered, ended *time.Time
	var ivr, wait, talk, hold, wrap int64
	var recFile, recSHA *string
	var recSize, recMS *int64
	err := row.Scan(&in.ID, &channel, &direction, &in.CustomerID, &in.CallerNumber, &in.DialedNumber, &in.Queue, &in.AgentID,
		&in.ArrivedAt, &queued, &offered, &answered, &ended, &ivr, &wait, &talk, &hold, &wrap, &outcome, &in.IVRPath, &in.Inputs,
		&in.Disposition, &in.Notes, &recFile, &recSize, &recSHA, &recMS, &in.ParentID, &in.ChannelID, &in.BridgeID,
		&in.ScriptID, &in.ScriptVersion)
	if err != nil {
		return err
	}
	in.Channel, in.Direction, in.Outcome = cti.Channel(channel), cti.Direction(direction), cti.Outcome(outcome)
	in.ArrivedAt = in.ArrivedAt.UTC()
	in.QueuedAt, in.OfferedAt, in.AnsweredAt, in.EndedAt = utc(queued), utc(offered), utc(answered), utc(ended)
	ms := time.Millisecond
	in.Durations = cti.Durations{IVR: time.Duration(ivr) * ms, Wait: time.Duration(wait) * ms, Talk: time.Duration(talk) * ms,
		Hold: time.Duration(hold) * ms, WrapUp: time.Duration(wrap) * ms}
	if recFile != nil {
		in.Recording = &cti.RecordingRef{File: *recFile}
		if recSize != nil {
			in.Recording.Size = *recSize
		}
		if recSHA != nil {
			in.Recording.SHA256 = *recSHA
		}
		if recMS != nil {
			in.Recording.Duration = time.Duration(*recMS) * ms
		}
	}
	if len(in.IVRPath) == 0 {
		in.IVRPath = nil
	}
	if len(in.Inputs) == 0 {
		in.Inputs = nil
	}
	for i := range in.IVRPath {
		in.IVRPath[i].At = in.IVRPath[i].At.UTC()
	}
	return nil
}

// Interaction returns one interaction.
func (s *Store) Interaction(ctx context.Context, id string) (*cti.Interaction, error) {
	return s.interaction(ctx, s.db.Pool, id)
}

func (s *Store) interaction(ctx context.Context, q querier, id string) (*cti.Interaction, error) {
	if _, err := parseID(id, "interaction"); err != nil {
		return nil, err
	}
	in, err := scanInteraction(q.QueryRow(ctx, interactionSelect+` where id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "interaction %s not found", id)
	}
	return in, dbError(err, "read interaction")
}

// timelineFirstPage reads the newest limit ($2) interactions of a customer ($1) straight off the interactions_timeline index.
const timelineFirstPage = interactionSelect + ` where customer_id = $1
	order by interactions.arrived_at desc, interactions.id desc limit $2`

// maxTimelinePage bounds a timeline page.
const maxTimelinePage = 200

// Timeline returns a customer's interactions newest first, keyset-paginated on (arrived_at, id): a page costs the same however
// deep it is. The order names the table's columns: a bare "id" would be the select list's id::text, which the index cannot give
// in order, so every interaction of the customer would be read and sorted for each page.
func (s *Store) Timeline(ctx context.Context, customerID, cursor string, limit int) ([]cti.Interaction, string, error) {
	if _, err := parseID(customerID, "customer"); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > maxTimelinePage {
		limit = 50
	}
	var rows pgx.Rows
	var err error
	if cursor == "" {
		rows, err = s.db.Pool.Query(ctx, timelineFirstPage, customerID, limit+1)
	} else {
		at, id, cerr := decodeCursor(cursor)
		if cerr != nil {
			return nil, "", cerr
		}
		rows, err = s.db.Pool.Query(ctx, interactionSelect+` where customer_id = $1 and (arrived_at, id) < ($3, $4)
			order by interactions.arrived_at desc, interactions.id desc limit $2`, customerID, limit+1, at, id)
	}
	if err != nil {
		return nil, "", dbError(err, "timeline")
	}
	items := make([]cti.Interaction, 0, limit+1)
	for rows.Next() {
		items = append(items, cti.Interaction{})
		if err := scanInteractionInto(rows, &items[len(items)-1]); err != nil {
			rows.Close()
			return nil, "", dbError(err, "timeline")
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", dbError(err, "timeline")
	}
	if len(items) == 0 {
		// An empty first page may mean an unknown customer; say so rather than show an empty history.
		if cursor == "" {
			if _, err := s.customerExists(ctx, customerID); err != nil {
				return nil, "", err
			}
		}
		return items, "", nil
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = encodeCursor(last.ArrivedAt, last.ID)
	}
	return items, next, nil
}

func (s *Store) customerExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.db.Pool.QueryRow(ctx, `select exists (select 1 from customers where id = $1)`, id).Scan(&ok)
	if err != nil {
		return false, dbError(err, "read customer")
	}
	if !ok {
		return false, cti.Errorf(cti.ENOTFOUND, "customer %s not found", id)
	}
	return true, nil
}

// A cursor is opaque to clients: base64url of "<arrived_at µs since epoch>.<id>".
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	bad := cti.Invalid("cursor", "not a cursor from a previous page")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", bad
	}
	us, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", bad
	}
	if _, err := uuid.Parse(id); err != nil {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// mask replaces sensitive inputs, in the path and in the collected variables, before anything is stored.
func mask(path []cti.IVRStep, inputs map[string]string) ([]cti.IVRStep, map[string]string) {
	var out []cti.IVRStep
	if path != nil {
		out = make([]cti.IVRStep, len(path))
	}
	var in map[string]string
	if inputs != nil {
		in = maps.Clone(inputs)
	}
	for i, st := range path {
		if st.Sensitive {
			if st.Input != "" {
				st.Input = cti.Masked
			}
			if _, ok := in[st.Var]; ok && st.Var != "" {
				in[st.Var] = cti.Masked
			}
		}
		st.At = st.At.UTC()
		out[i] = st
	}
	return out, in
}

func optUUID(s, field string, bad map[string]string) pgtype.UUID {
	if s == "" {
		return pgtype.UUID{}
	}
	u, err := uuid.Parse(s)
	if err != nil {
		bad[field] = "not a UUID"
		return pgtype.UUID{}
	}
	return pgtype.UUID{Bytes: u, Valid: true}
}

func optText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func optTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t.UTC().Truncate(time.Microsecond), Valid: !t.IsZero()}
}

// interactionRow validates in (filling a missing ID) and returns its values in interactionColumns order.
func interactionRow(in *cti.Interaction) ([]any, error) {
	bad := map[string]string{}
	if in.ID == "" {
		in.ID = newID()
	}
	id := optUUID(in.ID, "id", bad)
	if !in.Channel.Valid() {
		bad["channel"] = "phone, webrtc or callback"
	}
	if !in.Direction.Valid() {
		bad["direction"] = "inbound or outbound"
	}
	if in.ArrivedAt.IsZero() {
		bad["arrived_at"] = "required"
	}
	if in.Outcome != "" && !in.Outcome.Valid() {
		bad["outcome"] = fmt.Sprintf("unknown outcome %q", in.Outcome)
	}
	if (in.Outcome == "") != in.EndedAt.IsZero() {
		bad["ended_at"] = "an interaction has an outcome exactly when it has ended"
	}
	d := in.Durations
	if d.IVR < 0 || d.Wait < 0 || d.Talk < 0 || d.Hold < 0 || d.WrapUp < 0 {
		bad["durations"] = "durations cannot be negative"
	}
	if len(in.CallerNumber) > 64 || len(in.DialedNumber) > 64 {
		bad["caller_number"] = "at most 64 characters"
	}
	customer := optUUID(in.CustomerID, "customer_id", bad)
	agent := optUUID(in.AgentID, "agent_id", bad)
	parent := optUUID(in.ParentID, "parent_id", bad)
	script := optUUID(in.ScriptID, "script_id", bad)
	var recFile pgtype.Text
	var recSize, recMS pgtype.Int8
	var recSHA pgtype.Text
	if r := in.Recording; r != nil {
		if r.File == "" || r.Size < 0 || r.Duration < 0 {
			bad["recording"] = "a recording needs a file and a non-negative size and duration"
		}
		recFile, recSHA = optText(r.File), optText(strings.ToLower(r.SHA256))
		recSize, recMS = pgtype.Int8{Int64: r.Size, Valid: true}, pgtype.Int8{Int64: r.Duration.Milliseconds(), Valid: true}
	}
	if err := invalidFields("invalid interaction", bad); err != nil {
		return nil, err
	}
	in.IVRPath, in.Inputs = mask(in.IVRPath, in.Inputs)
	path, inputs := in.IVRPath, in.Inputs
	if path == nil {
		path = []cti.IVRStep{}
	}
	if inputs == nil {
		inputs = map[string]string{}
	}
	in.ArrivedAt = in.ArrivedAt.UTC().Truncate(time.Microsecond)
	var scriptVersion pgtype.Int4
	if in.ScriptVersion > 0 {
		scriptVersion = pgtype.Int4{Int32: int32(in.ScriptVersion), Valid: true}
	}
	return []any{id, string(in.Channel), string(in.Direction), customer, in.CallerNumber, in.DialedNumber, optText(in.Queue), agent,
		in.ArrivedAt, optTime(in.QueuedAt), optTime(in.OfferedAt), optTime(in.AnsweredAt), optTime(in.EndedAt),
		d.IVR.Milliseconds(), d.Wait.Milliseconds(), d.Talk.Milliseconds(), d.Hold.Milliseconds(), d.WrapUp.Milliseconds(),
		optText(string(in.Outcome)), path, inputs, optText(in.Disposition), in.Notes, recFile, recSize, recSHA, recMS,
		parent, in.ChannelID, in.BridgeID, script, scriptVersion}, nil
}

// interactionFKError names the field a foreign-key or check violation is about.
func interactionFKError(err error) error {
	code, c := pgCode(err)
	switch {
	case code == pgForeignKeyViolation && strings.Contains(c, "customer"):
		return cti.Invalid("customer_id", "no such customer")
	case code == pgForeignKeyViolation && strings.Contains(c, "queue"):
		return cti.Invalid("queue", "no such queue")
	case code == pgForeignKeyViolation && strings.Contains(c, "agent"):
		return cti.Invalid("agent_id", "no such agent")
	case code == pgForeignKeyViolation && strings.Contains(c, "parent"):
		return cti.Invalid("parent_id", "no such interaction")
	case code == pgForeignKeyViolation && strings.Contains(c, "script"):
		return cti.Invalid("script_id", "no such script")
	case code == pgCheckViolation:
		return cti.Invalid("interaction", "violates %s", c)
	}
	return err
}

// StartInteraction stores a new interaction. Starting one again with the same id and content (a retry) is not an error.
func (s *Store) StartInteraction(ctx context.Context, in *cti.Interaction) error {
	return s.writeOne(ctx, cti.InteractionWrite{ID: in.ID, Start: in})
}

// UpdateInteraction applies a partial update; fields left nil keep their value, Inputs are merged.
func (s *Store) UpdateInteraction(ctx context.Context, id string, u cti.InteractionUpdate) error {
	return s.writeOne(ctx, cti.InteractionWrite{ID: id, Update: &u})
}

// FinishInteraction ends an interaction. A repeat with the same outcome and end time is not an error; a different one is ECONFLICT.
func (s *Store) FinishInteraction(ctx context.Context, id string, f cti.InteractionFinish) error {
	return s.writeOne(ctx, cti.InteractionWrite{ID: id, Finish: &f})
}

// SetDisposition records the agent's wrap-up code and notes. The code must be one of the interaction's queue (or a global one).
func (s *Store) SetDisposition(ctx context.Context, id, agentID, code, notes string) error {
	return s.writeOne(ctx, cti.InteractionWrite{ID: id, Disposition: &cti.DispositionWrite{AgentID: agentID, Code: code, Notes: notes}})
}

func (s *Store) writeOne(ctx context.Context, w cti.InteractionWrite) error {
	rejected, err := s.WriteInteractions(ctx, []cti.InteractionWrite{w})
	if err != nil {
		return err
	}
	if rejected != nil {
		return rejected[0]
	}
	return nil
}

// interactionEvents are the outbox events a write of an interaction may emit.
var interactionEvents = []string{cti.EventInteractionStarted, cti.EventInteractionAnswered, cti.EventRecordingReady,
	cti.EventInteractionCompleted, cti.EventCallbackRequested}

// WriteInteractions implements cti.InteractionWriter. With no webhook subscription wanting an interaction event — the usual
// case — the writes go in one pipelined batch, one statement for all writes of a kind (see applyWrites): one round trip, and a
// few statements however many calls it carries. Otherwise each write is one statement that also returns what its events need
// (was the row new, unanswered, unrecorded, live?). A statement the database refuses (a foreign key, a check) aborts the
// transaction; the writes are then applied one transaction each, so only the refused one is skipped.
func (s *Store) WriteInteractions(ctx context.Context, ws []cti.InteractionWrite) ([]error, error) {
	var rejected []error
	reject := func(i int, err error) {
		if rejected == nil {
			rejected = make([]error, len(ws))
		}
		rejected[i] = err
	}
	todo := make([]*preparedWrite, 0, len(ws))
	for i, w := range ws {
		p, err := s.prepareWrite(i, w)
		if err != nil {
			reject(i, err)
			continue
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return rejected, nil
	}
	err := s.applyWrites(ctx, todo)
	if err != nil && (len(todo) == 1 || cti.ErrorCode(err) == cti.EUNAVAILABLE) {
		if len(todo) == 1 && writeRefused(err) {
			reject(todo[0].index, err)
			return rejected, nil
		}
		return nil, err
	}
	if err != nil {
		// One write was refused: find it by writing them one at a time (each is idempotent, none of the batch committed).
		for _, p := range todo {
			p.done = false
			if err := s.applyWrites(ctx, []*preparedWrite{p}); err != nil {
				if !writeRefused(err) {
					return nil, err
				}
				reject(p.index, err)
			}
		}
	}
	for _, p := range todo {
		if p.done && !p.changed {
			if err := s.explainNoChange(ctx, p); err != nil {
				if !writeRefused(err) {
					return nil, err
				}
				reject(p.index, err)
			}
		}
	}
	return rejected, nil
}

// writeRefused reports whether err is the store refusing a write (rather than failing to reach the database).
func writeRefused(err error) bool {
	switch cti.ErrorCode(err) {
	case cti.EINVALID, cti.ENOTFOUND, cti.ECONFLICT:
		return true
	}
	return false
}

// preparedWrite is one validated write: its statement and, once applied, what the statement returned.
type preparedWrite struct {
	index int
	w     cti.InteractionWrite
	id    string
	kind  writeKind
	sql   string          // the statement of this write alone, with what its events need (applyWrites' explicit transaction)
	args  []any           // sql's arguments; the pipelined batch passes each as an element of an array of the kind's set statement
	agent agentStateWrite // of an agent-state write
	// Set by applyWrites: done when the statement ran, changed when it changed a row; a and b are its flags (start: inserted;
	// update: was unanswered, was unrecorded; finish: was live).
	done, changed, a, b bool
}

// prepareWrite validates w and builds its statement; an invalid write is EINVALID (or ENOTFOUND for a malformed id) naming the
// field.
func (s *Store) prepareWrite(i int, w cti.InteractionWrite) (*preparedWrite, error) {
	p := &preparedWrite{index: i, w: w, id: w.ID}
	var err error
	switch {
	case w.Start != nil:
		p.kind = writeStart
		p.sql, p.args, err = startStatement(w.Start)
		p.id = w.Start.ID // filled in when empty
	case w.Update != nil:
		p.kind = writeUpdate
		p.sql, p.args, err = updateStatement(w.ID, *w.Update)
	case w.Finish != nil:
		p.kind = writeFinish
		p.sql, p.args, err = finishStatement(w.ID, *w.Finish)
	case w.Disposition != nil:
		p.kind = writeDisposition
		p.sql, p.args, err = dispositionStatement(w.ID, *w.Disposition)
	case w.AgentState != nil:
		p.kind = writeAgentState
		p.agent, err = s.prepareAgentState(*w.AgentState)
		p.id, p.args = w.AgentState.AgentID, p.agent.args()
	default:
		err = cti.Invalid("write", "one of start, update, finish, disposition or agent state is required")
	}
	return p, err
}

// interactionTypes are the types of interactionColumns.
var interactionTypes = []string{"uuid", "text", "text", "uuid", "text", "text", "text", "uuid", "timestamptz", "timestamptz",
	"timestamptz", "timestamptz", "timestamptz", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "jsonb", "jsonb", "text",
	"text", "text", "bigint", "text", "bigint", "uuid", "text", "text", "uuid", "integer"}

var startSQL = `insert into interactions (` + strings.Join(interactionColumns, ", ") + `) values (` +
	placeholders(interactionTypes, false) + `) on conflict (id) do nothing returning true, false`

var startSetBatchSQL = `insert into interactions (` + strings.Join(interactionColumns, ", ") + `)
select * from unnest(` + placeholders(interactionTypes, true) + `) on conflict (id) do nothing returning id`

var startBatchSQL = `insert into interactions (` + strings.Join(interactionColumns, ", ") + `) values (` +
	placeholders(interactionTypes, false) + `) on conflict (id) do nothing returning id`

func startStatement(in *cti.Interaction) (string, []any, error) {
	row, err := interactionRow(in)
	return startSQL, row, err
}

// Each kind of write has three statements over the same SET: one for a write with its events (sql), and in the pipelined batch
// one for every write of that kind in a round (setBatchSQL), its values passed as arrays and read back row by row with
// unnest, and the same over one row of scalars (batchSQL). The write with its events reads the row's state before the change in the same statement (the subquery sees it as it was) and locks it, so the events
// it emits are exact; the batch writes no events, so its statement neither reads the rows first nor locks them before changing
// them. Per row, both return the same change. The set statements also find their rows by "= any" of the ids, so that the plan
// reads them through the primary key whatever the planner thinks of the table's size (joined with unnest alone, a small
// table was read whole, a hash join, for every statement).

// updateSetSQL is the update's change, its values in u.
const updateSetSQL = `update interactions set
	overflow_from = case when u.queue is not null and interactions.queue is not null
		and nullif(u.queue, '') is distinct from interactions.queue then interactions.queue else overflow_from end,
	customer_id = case when u.customer is null then customer_id else nullif(u.customer, '')::uuid end,
	queue = case when u.queue is null then interactions.queue else nullif(u.queue, '') end,
	agent_id = case when u.agent is null then agent_id else nullif(u.agent, '')::uuid end,
	queued_at = coalesce(u.queued, queued_at), offered_at = coalesce(u.offered, offered_at),
	answered_at = coalesce(u.answered, answered_at),
	ivr_path = coalesce(u.steps, ivr_path), inputs = interactions.inputs || coalesce(u.vars, '{}'),
	recording_file = coalesce(u.rec_file, recording_file), recording_size = coalesce(u.rec_size, recording_size),
	recording_sha256 = coalesce(u.rec_sha, recording_sha256), recording_ms = coalesce(u.rec_ms, recording_ms),
	channel_id = coalesce(u.channel, channel_id), bridge_id = coalesce(u.bridge, bridge_id),
	script_id = case when u.script is null then script_id else nullif(u.script, '')::uuid end,
	script_version = coalesce(u.script_ver, script_version)`

// updateColumns names the update's values (updateStatement's arguments); updateTypes are their types.
const updateColumns = `(id, customer, queue, agent, queued, offered, answered, steps, vars, rec_file, rec_size, rec_sha, rec_ms,
	channel, bridge, script, script_ver)`

var updateTypes = []string{"uuid", "text", "text", "text", "timestamptz", "timestamptz", "timestamptz", "jsonb", "jsonb", "text",
	"bigint", "text", "bigint", "text", "text", "text", "integer"}

var updateSQL = updateSetSQL + `
from (values (` + placeholders(updateTypes, false) + `)) u ` + updateColumns + `,
	(select id, answered_at is null as unanswered, recording_file is null as unrecorded from interactions where id = $1
		for update) old
where interactions.id = old.id
returning old.unanswered, old.unrecorded`

var updateBatchSQL, updateSetBatchSQL = batchStatements(updateSetSQL, "u", updateColumns, updateTypes, "interactions.id = u.id")

// batchStatements returns a kind's two statements for the pipelined batch: over one row of scalars (one), and over arrays of
// many rows read back with unnest and found by "= any" of their ids (many). Each returns the ids of the rows it changed.
func batchStatements(set, alias, columns string, types []string, where string) (one, many string) {
	one = set + "\nfrom (values (" + placeholders(types, false) + ")) " + alias + " " + columns + "\nwhere " + where +
		"\nreturning interactions.id"
	many = set + "\nfrom unnest(" + placeholders(types, true) + ") " + alias + " " + columns + "\nwhere " + where +
		" and interactions.id = any($1)\nreturning interactions.id"
	return one, many
}

// placeholders returns "$1::t1, $2::t2…" for types, or their array types.
func placeholders(types []string, arrays bool) string {
	ph := make([]string, len(types))
	for i, t := range types {
		if arrays {
			t += "[]"
		}
		ph[i] = "$" + strconv.Itoa(i+1) + "::" + t
	}
	return strings.Join(ph, ", ")
}

func updateStatement(id string, u cti.InteractionUpdate) (string, []any, error) {
	if _, err := parseID(id, "interaction"); err != nil {
		return "", nil, err
	}
	bad := map[string]string{}
	opt := func(p *string, field string, isUUID bool) any {
		if p == nil {
			return nil
		}
		if isUUID && *p != "" {
			if _, err := uuid.Parse(*p); err != nil {
				bad[field] = "not a UUID"
			}
		}
		return *p
	}
	customer, queue, agent := opt(u.CustomerID, "customer_id", true), opt(u.Queue, "queue", false), opt(u.AgentID, "agent_id", true)
	channel, bridge, script := opt(u.ChannelID, "channel_id", false), opt(u.BridgeID, "bridge_id", false), opt(u.ScriptID, "script_id", true)
	path, inputs := mask(u.IVRPath, u.Inputs)
	var pathArg, inputsArg any
	if path != nil {
		pathArg = path
	}
	if inputs != nil {
		inputsArg = inputs
	}
	var recFile, recSHA any
	var recSize, recMS any
	if r := u.Recording; r != nil {
		if r.File == "" || r.Size < 0 || r.Duration < 0 {
			bad["recording"] = "a recording needs a file and a non-negative size and duration"
		}
		recFile, recSize, recSHA, recMS = r.File, r.Size, nullable(strings.ToLower(r.SHA256)), r.Duration.Milliseconds()
	}
	var scriptVersion any
	if u.ScriptVersion != nil {
		scriptVersion = *u.ScriptVersion
	}
	if err := invalidFields("invalid interaction update", bad); err != nil {
		return "", nil, err
	}
	return updateSQL, []any{id, customer, queue, agent, optTimeArg(u.QueuedAt), optTimeArg(u.OfferedAt), optTimeArg(u.AnsweredAt),
		pathArg, inputsArg, recFile, recSize, recSHA, recMS, channel, bridge, script, scriptVersion}, nil
}

func optTimeArg(p *time.Time) any {
	if p == nil || p.IsZero() {
		return nil
	}
	return p.UTC()
}

// wrap_up_ms may have been counted already from the agent's wrap-up state (agentstates.go); a finish does not undo it. A repeat
// of the same finish changes the row again (to the same values); another finish changes nothing.
const finishSetSQL = `update interactions set outcome = f.outcome, ended_at = f.ended_at,
	ivr_ms = f.ivr, wait_ms = f.wait, talk_ms = f.talk, hold_ms = f.hold, wrap_up_ms = greatest(wrap_up_ms, f.wrap)`

const finishColumns = `(id, outcome, ended_at, ivr, wait, talk, hold, wrap)`

const finishWhere = `interactions.id = f.id
	and (interactions.ended_at is null or (interactions.ended_at = f.ended_at and interactions.outcome = f.outcome))`

var finishTypes = []string{"uuid", "text", "timestamptz", "bigint", "bigint", "bigint", "bigint", "bigint"}

var finishSQL = finishSetSQL + `
from (values (` + placeholders(finishTypes, false) + `)) f ` + finishColumns + `,
	(select id, ended_at is null as live from interactions where id = $1 for update) old
where interactions.id = old.id and ` + finishWhere + `
returning old.live, false`

var finishBatchSQL, finishSetBatchSQL = batchStatements(finishSetSQL, "f", finishColumns, finishTypes, finishWhere)

func finishStatement(id string, f cti.InteractionFinish) (string, []any, error) {
	if _, err := parseID(id, "interaction"); err != nil {
		return "", nil, err
	}
	bad := map[string]string{}
	if !f.Outcome.Valid() {
		bad["outcome"] = fmt.Sprintf("unknown outcome %q", f.Outcome)
	}
	if f.EndedAt.IsZero() {
		bad["ended_at"] = "required"
	}
	d := f.Durations
	if d.IVR < 0 || d.Wait < 0 || d.Talk < 0 || d.Hold < 0 || d.WrapUp < 0 {
		bad["durations"] = "durations cannot be negative"
	}
	if err := invalidFields("invalid finish", bad); err != nil {
		return "", nil, err
	}
	end := f.EndedAt.UTC().Truncate(time.Microsecond)
	return finishSQL, []any{id, string(f.Outcome), end, d.IVR.Milliseconds(), d.Wait.Milliseconds(), d.Talk.Milliseconds(),
		d.Hold.Milliseconds(), d.WrapUp.Milliseconds()}, nil
}

// The code must belong to the interaction's queue or be global; no row changed means no interaction or a foreign code.
const dispositionSetSQL = `update interactions set disposition = d.code, notes = d.notes,
	agent_id = coalesce(agent_id, nullif(d.agent, '')::uuid)`

const dispositionColumns = `(id, code, notes, agent)`

const dispositionWhere = `interactions.id = d.id
	and exists (select 1 from dispositions x where x.code = d.code and (x.queue is null or x.queue = interactions.queue))`

var dispositionTypes = []string{"uuid", "text", "text", "text"}

var dispositionSQL = dispositionSetSQL + `
from (values (` + placeholders(dispositionTypes, false) + `)) d ` + dispositionColumns + `
where ` + dispositionWhere + `
returning true, false`

var dispositionBatchSQL, dispositionSetBatchSQL = batchStatements(dispositionSetSQL, "d", dispositionColumns, dispositionTypes,
	dispositionWhere)

func dispositionStatement(id string, d cti.DispositionWrite) (string, []any, error) {
	if _, err := parseID(id, "interaction"); err != nil {
		return "", nil, err
	}
	if d.AgentID != "" {
		if _, err := uuid.Parse(d.AgentID); err != nil {
			return "", nil, cti.Invalid("agent_id", "not an agent id")
		}
	}
	code := strings.TrimSpace(d.Code)
	if code == "" {
		return "", nil, cti.Invalid("code", "a disposition code is required")
	}
	if len(d.Notes) > 10000 {
		return "", nil, cti.Invalid("notes", "at most 10000 characters")
	}
	return dispositionSQL, []any{id, code, d.Notes, d.AgentID}, nil
}

// noSubscribers fails the pipelined batch it opens (SQLSTATE SB001) when a webhook subscription wants one of the events ($1)
// the batch's writes could emit (interactionEvents, and with agent states writeEvents): the batch has no way to write the
// events, so it must not commit and the writes go the way that does (migration 0017).
const noSubscribers = `select no_event_subscribers($1)`

// writeEvents are interactionEvents and the agent state's event.
var writeEvents = append([]string{cti.EventAgentStateChanged}, interactionEvents...)

const errSubscribers = "SB001"

// writeKind is the kind of a write, in the order a round of the pipelined batch applies them.
type writeKind int

const (
	writeStart writeKind = iota
	writeUpdate
	writeFinish
	writeDisposition
	writeAgentState
	writeKinds
)

// setBatchSQL is each kind's statement for many writes (its arguments are arrays of the single write's arguments); each returns
// the id of every row it changed (an agent state: the agent's).
var setBatchSQL = [writeKinds]string{startSetBatchSQL, updateSetBatchSQL, finishSetBatchSQL, dispositionSetBatchSQL,
	agentStateSetSQL}

// batchSQL is setBatchSQL for one write, its arguments the write's own. A set statement is planned anew for each call with
// fewer rows than the planner assumes of an array of unknown length (ten): its plan for the statement's actual arrays then
// looks cheaper than the plan kept for any arrays. A round's lone write of a kind (most, when the writes come one at a time)
// takes a statement whose kept plan is as cheap as any.
var batchSQL = [writeKinds]string{startBatchSQL, updateBatchSQL, finishBatchSQL, dispositionBatchSQL, agentStateSQL}

// rounds orders ps for set statements: round r holds, of each interaction and each agent, its r-th write of the batch, so no
// statement changes a row twice and each interaction's and agent's writes keep their order. A round applies its starts, then
// its updates, finishes, dispositions and agent states. An agent state is put no earlier than the round of any interaction
// write before it, so closing a wrap-up, which adds to its interaction's wrap-up time, still comes after that interaction's
// start and finish. (An interaction write after an agent state may go first: only the finish reads wrap_up_ms, taking the
// greater of it and its own, and the engine finishes a call before its wrap-up begins.) A batch's writes are mostly of
// distinct calls and agents, so it takes few rounds: a few statements instead of one per write.
func rounds(ps []*preparedWrite) [][writeKinds][]*preparedWrite {
	type key struct {
		agent bool
		id    uuid.UUID // ids are valid once prepared; parsed, two spellings of one id are one key
	}
	var out [][writeKinds][]*preparedWrite
	next := make(map[key]int, len(ps)) // an interaction's or agent's next round
	floor := 0                         // the latest round of an interaction write so far
	for _, p := range ps {
		k := key{p.kind == writeAgentState, uuid.MustParse(p.id)}
		r := next[k]
		if p.kind == writeAgentState {
			r = max(r, floor)
		} else {
			floor = max(floor, r)
		}
		next[k] = r + 1
		for len(out) <= r {
			out = append(out, [writeKinds][]*preparedWrite{})
		}
		out[r][p.kind] = append(out[r][p.kind], p)
	}
	return out
}

// setArgs returns the arguments of ps' set statement: for each argument of a single write, the array of every write's.
func setArgs(ps []*preparedWrite) []any {
	args := make([]any, len(ps[0].args))
	for i := range args {
		col := make([]any, len(ps))
		for j, p := range ps {
			col[j] = p.args[i]
		}
		args[i] = col
	}
	return args
}

// applyWrites runs ps in one transaction, with their events. Usually no subscription wants them: then the guard and one
// statement per kind of write and round (see rounds) go in one pipeline, one implicit transaction, one round trip. Otherwise,
// each statement is followed by its events in an explicit transaction.
func (s *Store) applyWrites(ctx context.Context, ps []*preparedWrite) error {
	b := &pgx.Batch{}
	events := interactionEvents
	if slices.ContainsFunc(ps, func(p *preparedWrite) bool { return p.w.AgentState != nil }) {
		events = writeEvents
	}
	b.Queue(noSubscribers, events)
	var sets [][]*preparedWrite
	for _, r := range rounds(ps) {
		for k, group := range r {
			switch len(group) {
			case 0:
				continue
			case 1:
				b.Queue(batchSQL[k], group[0].args...)
			default:
				b.Queue(setBatchSQL[k], setArgs(group)...)
			}
			sets = append(sets, group)
		}
	}
	err := func() error {
		br := s.db.Pool.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		changed := make(map[uuid.UUID]bool, len(ps))
		for _, group := range sets {
			clear(changed)
			rows, err := br.Query()
			if err != nil {
				return mapWriteError(group[0], err)
			}
			var id uuid.UUID
			_, err = pgx.ForEachRow(rows, []any{&id}, func() error { changed[id] = true; return nil })
			if err != nil {
				return mapWriteError(group[0], err)
			}
			for _, p := range group {
				p.done, p.changed, p.a, p.b = true, changed[uuid.MustParse(p.id)], false, false
			}
		}
		return br.Close()
	}()
	if code, _ := pgCode(err); code != errSubscribers {
		return dbError(err, "write interactions")
	}
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var wanted []string
		if err := tx.QueryRow(ctx, `select array(select distinct e from webhook_subscriptions, unnest(events) e
			where active and e = any ($1))`, interactionEvents).Scan(&wanted); err != nil {
			return err
		}
		for _, p := range ps {
			if p.w.AgentState != nil {
				p.done, p.changed = true, true // recordAgentState emits its own event and treats a repeat as done
				if err := s.recordAgentState(ctx, tx, p.agent); err != nil {
					return err
				}
				continue
			}
			if err := p.scan(tx.QueryRow(ctx, p.sql, p.args...)); err != nil {
				return mapWriteError(p, err)
			}
			if err := s.emitWrite(ctx, tx, p, wanted); err != nil {
				return err
			}
		}
		return nil
	})
	return dbError(err, "write interactions")
}

func (p *preparedWrite) scan(row pgx.Row) error {
	p.a, p.b = false, false
	err := row.Scan(&p.a, &p.b)
	if errors.Is(err, pgx.ErrNoRows) {
		p.done, p.changed = true, false
		return nil
	}
	p.done, p.changed = err == nil, err == nil
	return err
}

// mapWriteError names the field a refused statement is about.
func mapWriteError(p *preparedWrite, err error) error {
	if p.w.AgentState != nil {
		return agentFKError(p.w.AgentState, err)
	}
	if p.w.Finish != nil {
		if code, _ := pgCode(err); code == pgCheckViolation {
			return cti.Invalid("ended_at", "before the interaction arrived")
		}
	}
	return interactionFKError(err)
}

// emitWrite writes the events of an applied write that a subscription wants, in the write's transaction.
func (s *Store) emitWrite(ctx context.Context, tx pgx.Tx, p *preparedWrite, wanted []string) error {
	if !p.changed {
		return nil
	}
	emit := func(typ string, at time.Time) error {
		if !slices.Contains(wanted, typ) {
			return nil
		}
		return s.emit(ctx, tx, typ, p.id, at, interactionIn(ctx, tx, p.id))
	}
	w := p.w
	switch {
	case w.Start != nil:
		return emit(cti.EventInteractionStarted, w.Start.ArrivedAt)
	case w.Update != nil:
		if p.a && optTimeArg(w.Update.AnsweredAt) != nil {
			if err := emit(cti.EventInteractionAnswered, w.Update.AnsweredAt.UTC()); err != nil {
				return err
			}
		}
		if p.b && w.Update.Recording != nil {
			return emit(cti.EventRecordingReady, s.now())
		}
	case w.Finish != nil:
		if !p.a {
			return nil
		}
		end := w.Finish.EndedAt.UTC().Truncate(time.Microsecond)
		if err := emit(cti.EventInteractionCompleted, end); err != nil {
			return err
		}
		if w.Finish.Outcome == cti.OutcomeCallbackRequested {
			return emit(cti.EventCallbackRequested, end)
		}
	}
	return nil
}

// explainNoChange says why a write changed nothing: a start found the interaction already there (a retry, fine, or another
// content: ECONFLICT), a finish found it ended otherwise (ECONFLICT), or the interaction or the disposition code does not exist.
func (s *Store) explainNoChange(ctx context.Context, p *preparedWrite) error {
	if p.w.AgentState != nil {
		return nil // a repeat of the open state
	}
	old, err := s.Interaction(ctx, p.id)
	if err != nil {
		return err
	}
	switch w := p.w; {
	case w.Start != nil:
		in := w.Start
		if old.Channel != in.Channel || old.Direction != in.Direction || old.CustomerID != in.CustomerID ||
			old.CallerNumber != in.CallerNumber || old.DialedNumber != in.DialedNumber || !old.ArrivedAt.Equal(in.ArrivedAt) {
			return &cti.Error{Code: cti.ECONFLICT, Field: "id", Message: fmt.Sprintf("interaction %s exists with other content", in.ID)}
		}
		return nil
	case w.Finish != nil:
		return cti.Errorf(cti.ECONFLICT, "interaction %s already ended as %s at %s", p.id, old.Outcome, old.EndedAt.Format(time.RFC3339))
	case w.Disposition != nil:
		return cti.Invalid("code", "%q is not a disposition of this queue", strings.TrimSpace(w.Disposition.Code))
	}
	return cti.Errorf(cti.ENOTFOUND, "interaction %s not found", p.id)
}

// LogInteractions stores many interactions with one COPY in one transaction: all or none. Missing ids are filled in.
func (s *Store) LogInteractions(ctx context.Context, ins []cti.Interaction) error {
	rows := make([][]any, len(ins))
	for i := range ins {
		r, err := interactionRow(&ins[i])
		if err != nil {
			var ce *cti.Error
			if errors.As(err, &ce) {
				ce.Message = fmt.Sprintf("interaction %d: %s", i, ce.Message)
			}
			return err
		}
		rows[i] = r
	}
	err := s.inTx(ctx, "log interactions", func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"interactions"}, interactionColumns, pgx.CopyFromRows(rows))
		if code, _ := pgCode(err); code == pgUniqueViolation {
			return cti.Errorf(cti.ECONFLICT, "an interaction of the batch exists already")
		}
		return interactionFKError(err)
	})
	return err
}
