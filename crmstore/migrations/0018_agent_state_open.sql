-- Agent states: the closed stretches in a table written once, the open stretch in a table of its own, updated in place.
--
-- agent_states kept both: closing a stretch set ended_at, which is in the predicate of agent_states_open, so the close was never
-- a HOT update (a new row version and an entry in every index), and the next stretch added entries to every index too. Now a
-- state change inserts the closed stretch into agent_state_history (one heap row, one index entry) and rewrites the agent's row
-- of agent_state_open, whose only index is its key: no indexed column changes, and with room left on each page the update is
-- HOT. agent_state_open's primary key is the one-open-stretch-per-agent guarantee agent_states_open was.
--
-- The view agent_states (the history and the open stretches with ended_at null, the old table's columns) is what readers use:
-- the reports, tests, admin queries. Writes go to the tables (crmstore/agentstates.go). A stretch keeps its id from the day it
-- opens: ids come from one sequence, in the order the stretches opened, as the old identity column's did.
create sequence agent_state_ids as bigint;
select setval('agent_state_ids', coalesce((select max(id) from agent_states), 0) + 1, false);

create table agent_state_history (
	id          bigint not null,
	agent_id    uuid not null references agents (id) on delete cascade,
	state       text not null check (state in ('not-ready', 'ready', 'reserved', 'on-call', 'wrap-up')),
	reason      text not null default '',
	call_id     uuid, -- the interaction of reserved, on-call and wrap-up (no foreign key: the state may be written first)
	started_at  timestamptz not null,
	ended_at    timestamptz not null,
	check (ended_at >= started_at),
	-- the reports and the replay check read an agent's stretches by start time (agent_states_agent before)
	primary key (agent_id, started_at, id)
);

create table agent_state_open (
	agent_id    uuid primary key references agents (id) on delete cascade,
	id          bigint not null default nextval('agent_state_ids'), -- changes with every stretch; not indexed, so the update stays HOT
	state       text not null check (state in ('not-ready', 'ready', 'reserved', 'on-call', 'wrap-up')),
	reason      text not null default '',
	call_id     uuid,
	started_at  timestamptz not null
) with (fillfactor = 50); -- a row's next version finds room on its page: the update is HOT, and the page is pruned in place
alter sequence agent_state_ids owned by agent_state_open.id;

insert into agent_state_history (id, agent_id, state, reason, call_id, started_at, ended_at)
	select id, agent_id, state, reason, call_id, started_at, ended_at from agent_states where ended_at is not null;
insert into agent_state_open (agent_id, id, state, reason, call_id, started_at)
	select agent_id, id, state, reason, call_id, started_at from agent_states where ended_at is null;
drop table agent_states;

create view agent_states as
	select id, agent_id, state, reason, call_id, started_at, ended_at from agent_state_history
	union all
	select id, agent_id, state, reason, call_id, started_at, null::timestamptz from agent_state_open;
