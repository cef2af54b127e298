-- Less work per call for PostgreSQL (docs/performance.md, "PostgreSQL per call"): the same marks from fewer reads.

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
