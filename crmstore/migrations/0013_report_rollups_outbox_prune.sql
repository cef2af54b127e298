-- Report rollups: per queue and per agent, per 15 minutes of UTC (docs/reports.md, "Rollups"); and an index to prune the outbox.
--
-- A 15-minute UTC bucket lies inside one 15-minute, hour, day or week interval of any zone whose offset is a multiple of 15 minutes
-- (every zone in use today: whole hours, India's :30, Nepal's and Chatham's :45), so the buckets add up exactly to any report
-- interval. A report checks this bucket by bucket (report_aligned) and reads the raw rows of a bucket that fails it.
--
-- The rollups are refreshed by a background job (Store.RefreshReports), not in the transaction that writes an interaction:
-- every change to a row a report reads marks its buckets in report_dirty (a trigger, in the writer's transaction, insert-only so
-- concurrent writers never wait on one another); the job deletes marks and recomputes their buckets from the raw rows in one
-- statement. Recomputing, not adding, makes the job idempotent: a crash, a rerun or a late edit (a disposition or wrap-up
-- written after the call ended) can neither double-count nor miss a row. Reports read the raw rows of every bucket still
-- marked, so they are exact whether or not the job has caught up.

-- report_bucket returns the 15-minute UTC bucket of t.
create function report_bucket(t timestamptz) returns timestamptz
	language sql immutable parallel safe
	return date_bin('15 minutes', t, timestamptz '2000-01-03 00:00:00+00');

-- report_aligned reports whether the bucket starting at u falls in one 15-minute interval of zone tz: it starts on a local
-- quarter hour and the zone's offset does not change within it.
create function report_aligned(u timestamptz, tz text) returns boolean
	language sql stable parallel safe
	return extract(epoch from (u at time zone tz))::bigint % 900 = 0
		and ((u + interval '15 minutes') at time zone tz) - (u at time zone tz) = interval '15 minutes';

create table report_queue_15m (
	queue            text not null,
	bucket           timestamptz not null,
	offered          bigint not null,
	answered         bigint not null,
	in_sl            bigint not null,
	abandoned        bigint not null,
	short_abandoned  bigint not null,
	overflowed       bigint not null,
	handled          bigint not null,
	callbacks        bigint not null,
	transfers        bigint not null,
	wait_ms          bigint not null,
	talk_ms          bigint not null,
	hold_ms          bigint not null,
	wrap_ms          bigint not null,
	primary key (queue, bucket)
);

create table report_agent_15m (
	agent_id   uuid not null,
	bucket     timestamptz not null,
	calls      bigint not null, -- every interaction of the agent, answered or not: a report shows the interval
	answered   bigint not null,
	handled    bigint not null,
	transfers  bigint not null,
	talk_ms    bigint not null,
	hold_ms    bigint not null,
	wrap_ms    bigint not null,
	primary key (agent_id, bucket)
);

-- Buckets changed since the job last recomputed them: kind q (key: a queue) or a (key: an agent id).
create table report_dirty (
	id      bigint generated always as identity primary key,
	kind    text not null check (kind in ('q', 'a')),
	key     text not null,
	bucket  timestamptz not null
);
create index report_dirty_key on report_dirty (kind, key, bucket);

-- report_keys returns the buckets an interaction counts in: its queue's, the queue it overflowed from, its agent's, and its
-- parent's (a parent counts as transferred once it has a child).
-- plpgsql, not SQL: its plans are cached for the session, where a SQL function's would be made again on every write.
create function report_keys(r interactions) returns table (kind text, key text, bucket timestamptz)
	language plpgsql stable as $$
begin
	bucket := report_bucket(r.arrived_at);
	if r.queue is not null then
		kind := 'q'; key := r.queue; return next;
	end if;
	if r.overflow_from is not null then
		kind := 'q'; key := r.overflow_from; return next;
	end if;
	if r.agent_id is not null then
		kind := 'a'; key := r.agent_id::text; return next;
	end if;
	if r.parent_id is not null then
		return query
			select 'q'::text, p.queue, report_bucket(p.arrived_at) from interactions p where p.id = r.parent_id and p.queue is not null
			union all
			select 'a'::text, p.agent_id::text, report_bucket(p.arrived_at) from interactions p
			where p.id = r.parent_id and p.agent_id is not null;
	end if;
end $$;

create function report_touch() returns trigger language plpgsql as $$
begin
	if tg_op = 'INSERT' then
		insert into report_dirty (kind, key, bucket) select distinct * from report_keys(new);
	elsif tg_op = 'DELETE' then
		insert into report_dirty (kind, key, bucket) select distinct * from report_keys(old);
	else
		insert into report_dirty (kind, key, bucket) select * from report_keys(old) union select * from report_keys(new);
	end if;
	return null;
end $$;

create trigger interactions_report_insert after insert or delete on interactions
	for each row execute function report_touch();
-- Only changes to what a report reads mark buckets: notes, recordings and the like do not.
create trigger interactions_report_update after update on interactions
	for each row when ((old.queue, old.overflow_from, old.agent_id, old.parent_id, old.arrived_at, old.answered_at, old.ended_at,
		old.outcome, old.wait_ms, old.talk_ms, old.hold_ms, old.wrap_up_ms)
		is distinct from (new.queue, new.overflow_from, new.agent_id, new.parent_id, new.arrived_at, new.answered_at, new.ended_at,
		new.outcome, new.wait_ms, new.talk_ms, new.hold_ms, new.wrap_up_ms))
	execute function report_touch();

-- In service level depends on the queue's threshold: a new threshold marks every bucket of the queue.
-- A new time zone does too, so the queue's days are computed again in the new zone.
create function report_touch_queue() returns trigger language plpgsql as $$
begin
	insert into report_dirty (kind, key, bucket) select 'q', queue, bucket from report_queue_15m where queue = new.name;
	return null;
end $$;
create trigger queues_report_threshold after update of sl_threshold_ms, time_zone on queues
	for each row when ((old.sl_threshold_ms, old.time_zone) is distinct from (new.sl_threshold_ms, new.time_zone))
	execute function report_touch_queue();

-- Days: the buckets of a local day summed, per queue in the queue's zone and per agent in every zone a queue uses, so a day or
-- week report over years reads one row a day. A day is kept only when every bucket in it lies in one quarter hour of that local
-- date (report_day_ok); a report uses a day only when none of its buckets is marked. day_end is the next local midnight.
create table report_queue_day (
	tz               text not null,
	day              timestamptz not null,
	day_end          timestamptz not null,
	like report_queue_15m,
	primary key (queue, tz, day)
);
alter table report_queue_day drop column bucket;

create table report_agent_day (
	tz       text not null,
	day      timestamptz not null,
	day_end  timestamptz not null,
	like report_agent_15m,
	primary key (agent_id, tz, day)
);
alter table report_agent_day drop column bucket;

create function report_day_ok(day timestamptz, day_end timestamptz, tz text) returns boolean
	language sql stable parallel safe
	return report_bucket(day) = day and report_bucket(day_end) = day_end and day < day_end
		and (select bool_and(report_aligned(b, tz) and date_trunc('day', b at time zone tz) = date_trunc('day', day at time zone tz))
			from generate_series(day, day_end - interval '15 minutes', interval '15 minutes') b);

-- report_queue_facts returns what each interaction of queue q that arrived in [lo, hi) adds to a queue report, every count 0 or 1
-- (docs/reports.md, "Counts"): the queue's own interactions, and those that overflowed from it. The rollup and the raw part of a
-- report both sum these, so there is one definition.
create function report_queue_facts(q text, lo timestamptz, hi timestamptz, short_ms bigint)
	returns table (arrived_at timestamptz, offered int, answered int, in_sl int, abandoned int, short_abandoned int, overflowed int,
		handled int, callbacks int, transfers int, wait_ms bigint, talk_ms bigint, hold_ms bigint, wrap_ms bigint)
	language sql stable as $$
	select i.arrived_at, 1,
		(i.answered_at is not null)::int,
		(i.answered_at is not null and i.wait_ms <= s.sl_threshold_ms)::int,
		(i.outcome is not distinct from 'abandoned')::int,
		(i.outcome is not distinct from 'abandoned' and i.wait_ms < short_ms)::int,
		(i.outcome is not distinct from 'overflowed')::int,
		(i.answered_at is not null and i.ended_at is not null)::int,
		(i.outcome is not distinct from 'callback-requested')::int,
		exists (select 1 from interactions c where c.parent_id = i.id)::int,
		case when i.answered_at is not null then i.wait_ms else 0 end,
		case when i.answered_at is not null and i.ended_at is not null then i.talk_ms else 0 end,
		case when i.answered_at is not null and i.ended_at is not null then i.hold_ms else 0 end,
		case when i.answered_at is not null and i.ended_at is not null then i.wrap_up_ms else 0 end
	from interactions i join queues s on s.name = q
	where i.queue = q and i.arrived_at >= lo and i.arrived_at < hi
	union all
	select i.arrived_at, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0
	from interactions i join queues s on s.name = q
	where i.overflow_from = q and i.arrived_at >= lo and i.arrived_at < hi
$$;

-- report_agent_facts is report_queue_facts for agent a's interactions.
create function report_agent_facts(a uuid, lo timestamptz, hi timestamptz)
	returns table (arrived_at timestamptz, calls int, answered int, handled int, transfers int, talk_ms bigint, hold_ms bigint,
		wrap_ms bigint)
	language sql stable as $$
	select i.arrived_at, 1,
		(i.answered_at is not null)::int,
		(i.answered_at is not null and i.ended_at is not null)::int,
		exists (select 1 from interactions c where c.parent_id = i.id)::int,
		case when i.answered_at is not null and i.ended_at is not null then i.talk_ms else 0 end,
		case when i.answered_at is not null and i.ended_at is not null then i.hold_ms else 0 end,
		case when i.answered_at is not null and i.ended_at is not null then i.wrap_up_ms else 0 end
	from interactions i
	where i.agent_id = a and i.arrived_at >= lo and i.arrived_at < hi
$$;

-- report_queue_buckets and report_agent_buckets sum the facts of [lo, hi) into rollup rows.
create function report_queue_buckets(q text, lo timestamptz, hi timestamptz, short_ms bigint) returns setof report_queue_15m
	language sql stable as $$
	select q, report_bucket(f.arrived_at), count(*), sum(f.answered), sum(f.in_sl), sum(f.abandoned), sum(f.short_abandoned),
		sum(f.overflowed), sum(f.handled), sum(f.callbacks), sum(f.transfers), sum(f.wait_ms)::bigint, sum(f.talk_ms)::bigint,
		sum(f.hold_ms)::bigint, sum(f.wrap_ms)::bigint
	from report_queue_facts(q, lo, hi, short_ms) f
	group by 2
$$;

create function report_agent_buckets(a uuid, lo timestamptz, hi timestamptz) returns setof report_agent_15m
	language sql stable as $$
	select a, report_bucket(f.arrived_at), count(*), sum(f.answered), sum(f.handled), sum(f.transfers), sum(f.talk_ms)::bigint,
		sum(f.hold_ms)::bigint, sum(f.wrap_ms)::bigint
	from report_agent_facts(a, lo, hi) f
	group by 2
$$;

-- Backfill: the rollups of every existing interaction (5000: cti.ShortAbandon in milliseconds); the days follow from the
-- buckets, as Store.RefreshReports computes them.
insert into report_queue_15m
select b.* from queues q, lateral report_queue_buckets(q.name, '-infinity', 'infinity', 5000) b;
insert into report_agent_15m
select b.* from agents a, lateral report_agent_buckets(a.id, '-infinity', 'infinity') b;
insert into report_dirty (kind, key, bucket)
select 'q', queue, bucket from report_queue_15m union all select 'a', agent_id::text, bucket from report_agent_15m;

-- Pruning the outbox deletes events with their deliveries (PruneOutbox): the deliveries of an event are found by its id.
create index webhook_deliveries_event on webhook_deliveries (event_id);
