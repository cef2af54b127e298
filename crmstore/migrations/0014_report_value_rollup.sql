-- The CRM value view's rollup (docs/reports.md, "The value view"): per local day, in every zone a queue uses, the contacts of
-- known customers, their repeat contacts (24 h, 7 d) and their dispositions per queue; and the indexes its raw part reads.
--
-- A contact is repeated when the same customer's next contact — in (arrived_at, id) order, any queue — arrives within 24 h (or
-- 7 days). That flag is a fact of the contact once its next contact is known, so it adds up across days like the queue counts;
-- the ranking of customers and the distinct contacted customers per tier do not, and are read from the raw rows.
--
-- The flags change with writes to other rows: a contact inserted, deleted or moved at time a changes the next contact of the
-- same customer's contacts in [a − 7 days, a], and only theirs (an earlier one's next stays 7 days or more away). A writer
-- cannot mark their days itself: a concurrent writer's contact of the same customer is invisible to it. So it marks the
-- customer (kind c, key the customer, bucket the arrival), and the rollup job turns the mark into the days of those contacts
-- (kind v) on a snapshot taken after the write committed; a report does the same with the marks the job has not taken yet.
-- Like the other rollups, marked days are recomputed from the raw rows, never added to: a crash or a rerun cannot double-count.

alter table report_dirty drop constraint report_dirty_kind_check;
alter table report_dirty add constraint report_dirty_kind_check check (kind in ('q', 'a', 'v', 'c'));

-- Days computed by the job: a day with a row here and no mark is read from report_value_counts, which has a row per queue and
-- disposition that had contacts that day (null: none).
create table report_value_day (
	tz       text not null,
	day      timestamptz not null,
	day_end  timestamptz not null,
	primary key (tz, day)
);
create index report_value_day_day on report_value_day (day);

create table report_value_counts (
	tz           text not null,
	day          timestamptz not null,
	queue        text,
	disposition  text,
	contacts     bigint not null,
	repeat_24h   bigint not null,
	repeat_7d    bigint not null,
	foreign key (tz, day) references report_value_day on delete cascade
);
create index report_value_counts_day on report_value_counts (tz, day);

-- The value view's raw reads: a period's contacts with what the view counts (this replaces interactions_customer_report, which
-- lacked id and so made every next-contact lookup visit the row), and each customer's contacts in order (the timeline index,
-- now covering what the ranking reads, so the ranking streams through it customer by customer without a hash table).
create index interactions_value_period on interactions (arrived_at)
	include (customer_id, id, queue, answered_at, disposition)
	where customer_id is not null;
drop index interactions_customer_report;
create index interactions_timeline_value on interactions (customer_id, arrived_at desc, id desc)
	include (answered_at, queue)
	where customer_id is not null;
drop index interactions_timeline;
alter index interactions_timeline_value rename to interactions_timeline;
-- The tiers: the platinum and gold customers (the ranking joins only these: any other is standard), and the live customers
-- per tier, both counted off small indexes rather than the customers' rows.
create index customers_value_tier on customers (id) include (tier) where tier <> 'standard';
create index customers_live_tier on customers (tier) where deleted_at is null;

-- report_value_facts returns each contact of a known customer that arrived in [lo, hi) with its queue, its disposition and
-- whether it is repeated within 24 h and 7 days. The rollup job and the raw part of a report both read it: one definition.
create function report_value_facts(lo timestamptz, hi timestamptz)
	returns table (queue text, disposition text, repeat_24h int, repeat_7d int)
	language sql stable as $$
	select i.queue, i.disposition, coalesce(n.next < i.arrived_at + interval '24 hours', false)::int,
		coalesce(n.next < i.arrived_at + interval '7 days', false)::int
	from interactions i
		left join lateral (select x.arrived_at as next from interactions x
			where x.customer_id = i.customer_id and (x.arrived_at, x.id) > (i.arrived_at, i.id)
				and x.arrived_at < i.arrived_at + interval '7 days'
			order by x.arrived_at, x.id limit 1) n on true
	where i.customer_id is not null and i.arrived_at >= lo and i.arrived_at < hi
$$;

-- report_value_touch marks what a write of a contact changes: its own bucket (kind v), and, when a contact appears, goes or
-- moves in time or to another customer, the customer at that time (kind c), whose earlier contacts' flags may change.
create function report_value_touch() returns trigger language plpgsql as $$
begin
	if tg_op <> 'INSERT' and old.customer_id is not null then
		insert into report_dirty (kind, key, bucket) values ('v', '', report_bucket(old.arrived_at));
		if tg_op = 'DELETE' or (old.customer_id, old.arrived_at) is distinct from (new.customer_id, new.arrived_at) then
			insert into report_dirty (kind, key, bucket) values ('c', old.customer_id::text, old.arrived_at);
		end if;
	end if;
	if tg_op <> 'DELETE' and new.customer_id is not null then
		if tg_op = 'INSERT' or old.customer_id is null or report_bucket(old.arrived_at) <> report_bucket(new.arrived_at) then
			insert into report_dirty (kind, key, bucket) values ('v', '', report_bucket(new.arrived_at));
		end if;
		if tg_op = 'INSERT' or (old.customer_id, old.arrived_at) is distinct from (new.customer_id, new.arrived_at) then
			insert into report_dirty (kind, key, bucket) values ('c', new.customer_id::text, new.arrived_at);
		end if;
	end if;
	return null;
end $$;

create trigger interactions_value_insert after insert or delete on interactions
	for each row execute function report_value_touch();
create trigger interactions_value_update after update on interactions
	for each row when ((old.customer_id, old.arrived_at, old.queue, old.disposition)
		is distinct from (new.customer_id, new.arrived_at, new.queue, new.disposition))
	execute function report_value_touch();

-- A queue in a zone no queue used: the buckets of every contact are marked, so the job computes the days of the new zone
-- (until then reports in that zone read the raw rows).
create function report_value_touch_zone() returns trigger language plpgsql as $$
begin
	if tg_op = 'UPDATE' and old.time_zone is not distinct from new.time_zone then
		return null;
	end if;
	if exists (select 1 from queues where time_zone = new.time_zone and name <> new.name) then
		return null;
	end if;
	insert into report_dirty (kind, key, bucket)
	select distinct 'v', '', report_bucket(arrived_at) from interactions where customer_id is not null;
	return null;
end $$;
create trigger queues_report_value_zone after insert or update of time_zone on queues
	for each row execute function report_value_touch_zone();

-- Backfill: every existing contact's bucket is marked; the job computes the days.
insert into report_dirty (kind, key, bucket)
select distinct 'v', '', report_bucket(arrived_at) from interactions where customer_id is not null;
