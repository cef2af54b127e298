-- Report marks per statement (docs/performance.md, "PostgreSQL per call"). The engine's writes reach the database as one
-- statement per kind of write per batch (a batch's starts in one insert, its answers in one update…), so the marks are made
-- once per statement from its transition tables rather than by a plpgsql call per row: the same marks as the row triggers of
-- migrations 0013 and 0016 made (report_keys of every changed row, of the old row too when it moved; inserted only where no
-- mark exists, the one found share-locked otherwise — the rollup job's argument in docs/reports.md "Rollups" is unchanged).

-- report_touch_rows marks the buckets of the rows a statement inserted (new_rows), deleted (old_rows) or updated (both, matched
-- by id). An updated row counts when a column a report reads changed; its old buckets too when it moved (another queue,
-- overflow source, agent, parent or bucket). A row whose id changed has no match and counts on both sides.
create function report_touch_rows() returns trigger language plpgsql as $$
begin
	if tg_op = 'INSERT' then
		insert into report_dirty (kind, key, bucket)
		select k.kind, k.key, k.bucket
		from (select distinct k.* from new_rows r, lateral report_row_keys(r.queue, r.overflow_from, r.agent_id, r.parent_id,
			r.arrived_at) k) k
		where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
			for key share skip locked);
	elsif tg_op = 'DELETE' then
		insert into report_dirty (kind, key, bucket)
		select k.kind, k.key, k.bucket
		from (select distinct k.* from old_rows r, lateral report_row_keys(r.queue, r.overflow_from, r.agent_id, r.parent_id,
			r.arrived_at) k) k
		where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
			for key share skip locked);
	else
		insert into report_dirty (kind, key, bucket)
		select k.kind, k.key, k.bucket
		from (select distinct k.* from (
				select r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at from new_rows r
				where not exists (select from old_rows o where o.id = r.id and
					(o.queue, o.overflow_from, o.agent_id, o.parent_id, o.arrived_at, o.answered_at, o.ended_at, o.outcome,
						o.wait_ms, o.talk_ms, o.hold_ms, o.wrap_up_ms)
					is not distinct from (r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at, r.answered_at,
						r.ended_at, r.outcome, r.wait_ms, r.talk_ms, r.hold_ms, r.wrap_up_ms))
				union all
				select o.queue, o.overflow_from, o.agent_id, o.parent_id, o.arrived_at from old_rows o
				where not exists (select from new_rows r where r.id = o.id and
					(o.queue, o.overflow_from, o.agent_id, o.parent_id, report_bucket(o.arrived_at))
					is not distinct from (r.queue, r.overflow_from, r.agent_id, r.parent_id, report_bucket(r.arrived_at)))
			) r, lateral report_row_keys(r.queue, r.overflow_from, r.agent_id, r.parent_id, r.arrived_at) k) k
		where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
			for key share skip locked);
	end if;
	return null;
end $$;

-- report_row_keys is report_keys (migration 0013) of a row given by the columns it reads, for the set-based trigger: its queue's
-- bucket, the queue it overflowed from, its agent's, and its parent's queue and agent (a parent counts as transferred once it
-- has a child). Inlined into the caller's plan (a SQL function, not plpgsql), so a statement's rows are keyed in one pass.
create function report_row_keys(r_queue text, r_overflow_from text, r_agent_id uuid, r_parent_id uuid, r_arrived_at timestamptz)
	returns table (kind text, key text, bucket timestamptz)
	language sql stable parallel safe as $$
	select k.kind, k.key, report_bucket(r_arrived_at)
	from (values ('q', r_queue), ('q', r_overflow_from), ('a', r_agent_id::text)) k (kind, key)
	where k.key is not null
	union all
	select 'q', p.queue, report_bucket(p.arrived_at) from interactions p where p.id = r_parent_id and p.queue is not null
	union all
	select 'a', p.agent_id::text, report_bucket(p.arrived_at) from interactions p
	where p.id = r_parent_id and p.agent_id is not null
$$;

drop trigger interactions_report_insert on interactions;
drop trigger interactions_report_update on interactions;
create trigger interactions_report_insert after insert on interactions
	referencing new table as new_rows for each statement execute function report_touch_rows();
create trigger interactions_report_update after update on interactions
	referencing old table as old_rows new table as new_rows for each statement execute function report_touch_rows();
create trigger interactions_report_delete after delete on interactions
	referencing old table as old_rows for each statement execute function report_touch_rows();
drop function report_touch();
drop function report_keys(interactions);

-- The value view's row trigger (migration 0014) does nothing for a row without a customer (most calls, and every call whose
-- caller is unknown): it is no longer called for one.
drop trigger interactions_value_insert on interactions;
create trigger interactions_value_insert after insert on interactions
	for each row when (new.customer_id is not null) execute function report_value_touch();
create trigger interactions_value_delete after delete on interactions
	for each row when (old.customer_id is not null) execute function report_value_touch();
