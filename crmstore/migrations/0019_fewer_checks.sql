-- Less work per call for PostgreSQL (docs/performance.md, "PostgreSQL per call"): the same marks and the same integrity from
-- fewer reads, foreign-key checks and row locks.

-- Report marks (migration 0017's report_touch_rows, the same marks). A transfer's parent counts too, so the trigger read the
-- parents of the statement's rows from interactions, twice, even when there were none (nearly every statement): a plan kept
-- for a table that was small when it was made scans the whole table for an empty list of ids, and a fresh database
-- (switchboard load, a new install) read most of interactions on every write. Now interactions is read only when some row
-- has a parent, once, and a parent's queue and agent join the rows' own as a row without overflow source or parent. The
-- marks come from one pass over the rows (a row gives its queue, the queue it overflowed from and its agent) instead of three.
create or replace function report_touch_rows() returns trigger language plpgsql as $$
declare
	rs report_row[];
	parents uuid[];
begin
	if tg_op = 'INSERT' then
		rs := array(select row(r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at)::report_row from new_rows r);
	elsif tg_op = 'DELETE' then
		rs := array(select row(r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at)::report_row from old_rows r);
	else
		rs := array(
			select row(r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at)::report_row
			from new_rows r left join old_rows o on o.id = r.id
			where o.id is null or (o.queue, o.overflow_from, o.agent_id, o.parent_id, o.arrived_at, o.answered_at, o.ended_at,
					o.outcome, o.wait_ms, o.talk_ms, o.hold_ms, o.wrap_up_ms)
				is distinct from (r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at, r.answered_at, r.ended_at,
					r.outcome, r.wait_ms, r.talk_ms, r.hold_ms, r.wrap_up_ms)
			union all
			select row(o.queue, o.overflow_from, o.agent_id, o.parent_id, o.arrived_at)::report_row
			from old_rows o left join new_rows r on r.id = o.id
			where r.id is null or (o.queue, o.overflow_from, o.agent_id, o.parent_id, report_bucket(o.arrived_at))
				is distinct from (r.queue, r.overflow_from, r.agent_id, r.parent_id, report_bucket(r.arrived_at)));
	end if;
	if cardinality(rs) = 0 then
		return null;
	end if;
	-- A parent counts as transferred once it has a child: its queue's and its agent's buckets (report_keys, migration 0013).
	parents := array(select distinct r.parent_id from unnest(rs) r where r.parent_id is not null);
	if cardinality(parents) > 0 then
		rs := rs || array(select row(p.queue, null, p.agent_id, null, p.arrived_at)::report_row from interactions p
			where p.id = any(parents));
	end if;
	insert into report_dirty (kind, key, bucket)
	select k.kind, k.key, k.bucket
	from (select distinct m.kind, m.key, report_bucket(r.arrived_at) as bucket
		from unnest(rs) r, lateral (values ('q', r.queue), ('q', r.overflow_from), ('a', r.agent_id::text)) m (kind, key)
		where m.key is not null) k
	where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
		for key share skip locked);
	return null;
end $$;

-- agent_state_history's foreign key to agents goes. Every state change inserts a closed stretch, and the check of each (3.6 a
-- call) read the agent and locked its row (a WAL record and a dirtied page of agents every time). A closed stretch is only
-- ever written by moving its agent's open stretch out of agent_state_open, in the statement that locks and rewrites or
-- deletes that row (crmstore/agentstates.go), and agent_state_open's foreign key holds the agent: the history names an agent
-- that exists because its open stretch did. What the foreign key did besides is kept by triggers: deleting an agent deletes
-- its history (on delete cascade; truncating agents, which needs cascade, truncates it too), and an agent with history keeps
-- its id (no action).
alter table agent_state_history drop constraint agent_state_history_agent_id_fkey;

create function agents_history_cascade() returns trigger language plpgsql as $$
begin
	delete from agent_state_history h where h.agent_id in (select id from gone);
	return null;
end $$;
create trigger agents_history_cascade after delete on agents
	referencing old table as gone for each statement execute function agents_history_cascade();

create function agents_history_truncate() returns trigger language plpgsql as $$
begin
	truncate agent_state_history;
	return null;
end $$;
create trigger agents_history_truncate after truncate on agents
	for each statement execute function agents_history_truncate();

create function agents_history_keep_id() returns trigger language plpgsql as $$
begin
	if exists (select 1 from agent_state_history h where h.agent_id = old.id) then
		raise exception using errcode = 'foreign_key_violation', constraint = 'agent_state_history_agent_id_fkey',
			message = format('agent %s has state history: its id cannot change', old.id);
	end if;
	return new;
end $$;
create trigger agents_history_keep_id before update of id on agents
	for each row when (old.id is distinct from new.id) execute function agents_history_keep_id();
