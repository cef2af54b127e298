-- Report marks per statement (docs/performance.md, "PostgreSQL per call"). The engine's writes reach the database as one
-- statement per kind of write per batch (a batch's starts in one insert, its answers in one update…), so the marks are made
-- once per statement from its transition tables rather than by a plpgsql call per row: the same marks as the row triggers of
-- migrations 0013 and 0016 made (report_keys of every changed row, of the old row too when it moved; inserted only where no
-- mark exists, the one found share-locked otherwise — the rollup job's argument in docs/reports.md "Rollups" is unchanged).

-- report_row is what report_keys reads of a row.
create type report_row as (queue text, overflow_from text, agent_id uuid, parent_id uuid, arrived_at timestamptz);

-- report_touch_rows marks the buckets of the rows a statement inserted (new_rows), deleted (old_rows) or updated (both, matched
-- by id). An updated row counts when a column a report reads changed; its old buckets too when it moved (another queue,
-- overflow source, agent, parent or bucket). A row whose id changed has no match and counts on both sides.
--
-- A statement that reads a transition table is planned again on every call, so those stay small; the marks are inserted by
-- a statement over an array, whose plan is kept.
create function report_touch_rows() returns trigger language plpgsql as $$
declare
	rs report_row[];
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
	-- report_keys (migration 0013) of every row: its queue's bucket, the queue it overflowed from, its agent's, and its parent's
	-- queue and agent (a parent counts as transferred once it has a child). The parents are found by "= any" of their ids, so
	-- the plan reads them through the primary key whatever the planner thinks of the table's size.
	insert into report_dirty (kind, key, bucket)
	select k.kind, k.key, k.bucket
	from (select distinct * from (
			select 'q' as kind, r.queue as key, report_bucket(r.arrived_at) as bucket from unnest(rs) r where r.queue is not null
			union all
			select 'q', r.overflow_from, report_bucket(r.arrived_at) from unnest(rs) r where r.overflow_from is not null
			union all
			select 'a', r.agent_id::text, report_bucket(r.arrived_at) from unnest(rs) r where r.agent_id is not null
			union all
			select 'q', p.queue, report_bucket(p.arrived_at) from interactions p
			where p.id = any(array(select r.parent_id from unnest(rs) r where r.parent_id is not null)) and p.queue is not null
			union all
			select 'a', p.agent_id::text, report_bucket(p.arrived_at) from interactions p
			where p.id = any(array(select r.parent_id from unnest(rs) r where r.parent_id is not null)) and p.agent_id is not null
		) k) k
	where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
		for key share skip locked);
	return null;
end $$;

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

-- no_event_subscribers fails (SQLSTATE SB001) when an active webhook subscription wants one of events: the guard of the
-- pipelined batch of interaction writes, which writes no events (crmstore/interactions.go). A function rather than an anonymous
-- block, so its statement is planned once per connection rather than on every batch.
create function no_event_subscribers(events text[]) returns void language plpgsql stable as $$
begin
	if exists (select 1 from webhook_subscriptions w where w.active and w.events && no_event_subscribers.events) then
		raise exception using errcode = 'SB001', message = 'a webhook subscription wants these events';
	end if;
end $$;

-- No statement reads agent_states by time alone (a report reads an agent's stretches through agent_states_agent), and each
-- state change wrote this index twice (the new stretch, and the closed one's new version): it goes.
drop index agent_states_started;
