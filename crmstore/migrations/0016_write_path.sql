-- The call write path, cheaper for PostgreSQL (docs/performance.md, "PostgreSQL per call").
--
-- Marks. A write inserted a mark for each bucket it changed, so a quarter hour still filling gathered one mark per write
-- (hundreds of thousands at 300 calls/s) and the rollup job spent most of its time deleting duplicates. Now a write inserts
-- a mark only when its bucket has none, and otherwise locks the one it found (FOR KEY SHARE: writers never wait on each
-- other) until it commits. The job locks the marks it takes (FOR UPDATE, waiting for those writers) before it reads the rows
-- on a new snapshot, so a write that relied on a mark has committed before the job reads, and its change is in the bucket
-- the job computes (docs/reports.md, "Rollups"). A mark the job has locked is skipped (SKIP LOCKED): the writer inserts its
-- own, which the job does not see and so leaves. Two writers that find no mark at the same time both insert one: duplicates
-- are rare and harmless (the job takes every mark of a bucket).
create or replace function report_touch() returns trigger language plpgsql as $$
declare
	-- An update that leaves the row's buckets as they were (a finish, wrap-up time) marks the new row's alone.
	moved boolean := tg_op = 'DELETE' or (tg_op = 'UPDATE' and
		(old.queue, old.overflow_from, old.agent_id, old.parent_id, report_bucket(old.arrived_at)) is distinct from
		(new.queue, new.overflow_from, new.agent_id, new.parent_id, report_bucket(new.arrived_at)));
begin
	insert into report_dirty (kind, key, bucket)
	select k.kind, k.key, k.bucket
	from (select * from report_keys(old) where moved
		union
		select * from report_keys(new) where tg_op <> 'DELETE') k
	where not exists (select from report_dirty d where d.kind = k.kind and d.key = k.key and d.bucket = k.bucket
		for key share skip locked);
	return null;
end $$;

-- interactions_agent (agent, arrived_at desc) repeats interactions_agent_report (agent, arrived_at, which also serves the
-- foreign key from agents and reads in either direction): one index less to write on every change of an agent's interaction.
drop index interactions_agent;
