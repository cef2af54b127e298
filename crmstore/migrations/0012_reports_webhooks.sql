-- Historical reports and webhooks.
--
-- agent_states: every state an agent went through, one row per stretch; the open stretch has ended_at null (at most one per agent).
-- Reports read logged-in, not-ready (by reason), on-call and wrap-up time from it; closing a wrap-up stretch adds its length to the
-- interaction's wrap_up_ms, so AHT (talk + hold + wrap-up) can be read from interactions alone.
create table agent_states (
	id          bigint generated always as identity primary key,
	agent_id    uuid not null references agents (id) on delete cascade,
	state       text not null check (state in ('not-ready', 'ready', 'reserved', 'on-call', 'wrap-up')),
	reason      text not null default '',
	call_id     uuid, -- the interaction of reserved, on-call and wrap-up (no foreign key: the state may be written first)
	started_at  timestamptz not null,
	ended_at    timestamptz,
	check (ended_at is null or ended_at >= started_at)
);
create unique index agent_states_open on agent_states (agent_id) where ended_at is null;
create index agent_states_agent on agent_states (agent_id, started_at);
create index agent_states_started on agent_states (started_at);

-- An overflow to another queue moves the interaction there; overflow_from keeps the queue it left, so the queue it left counts it
-- as offered and overflowed, as the live statistics do.
alter table interactions add column overflow_from text;
-- The reports read interactions by queue or agent and arrival time; these indexes hold every column they read, so a report is an
-- index-only scan of its range rather than a visit to each row (measured in docs/performance.md, "reports").
create index interactions_queue_report on interactions (queue, arrived_at)
	include (answered_at, ended_at, outcome, wait_ms, talk_ms, hold_ms, wrap_up_ms)
	where queue is not null;
create index interactions_agent_report on interactions (agent_id, arrived_at)
	include (answered_at, ended_at, talk_ms, hold_ms, wrap_up_ms)
	where agent_id is not null;
-- The value view reads a period of contacts of known customers.
create index interactions_customer_report on interactions (arrived_at)
	include (customer_id, queue, answered_at, disposition)
	where customer_id is not null;
create index interactions_overflow_from on interactions (overflow_from, arrived_at) where overflow_from is not null;
create index interactions_children on interactions (parent_id) where parent_id is not null;

-- Webhooks. Subscriptions name the events they want; the secret signs deliveries and is never read back through the API.
create table webhook_subscriptions (
	id          uuid primary key,
	url         text not null check (url ~ '^https?://' and length(url) <= 2000),
	secret      text not null check (length(secret) >= 16),
	events      text[] not null check (cardinality(events) > 0),
	active      boolean not null default true,
	created_at  timestamptz not null,
	updated_at  timestamptz not null
);

-- The outbox: events written in the same transaction as the change they report, so a committed change always has its event and a
-- rolled-back one never does. seq orders events; key orders deliveries (the interaction, agent or customer the event is about).
create table outbox (
	id           uuid primary key, -- the event id, sent as the Idempotency-Key
	seq          bigint generated always as identity unique,
	type         text not null,
	key          text not null,
	occurred_at  timestamptz not null,
	payload      jsonb not null
);
create index outbox_occurred on outbox (occurred_at);

-- One delivery per event and subscription, made with the event. pending → delivered, or → dead after the last attempt
-- (a dead letter, replayed by an admin back to pending).
create table webhook_deliveries (
	subscription_id  uuid not null references webhook_subscriptions (id) on delete cascade,
	event_id         uuid not null references outbox (id) on delete cascade,
	seq              bigint not null,
	key              text not null,
	state            text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
	attempts         integer not null default 0,
	next_at          timestamptz not null,
	last_status      integer not null default 0,
	last_error       text not null default '',
	delivered_at     timestamptz,
	primary key (subscription_id, event_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_at, seq) where state = 'pending';
create index webhook_deliveries_order on webhook_deliveries (subscription_id, key, seq) where state = 'pending';
create index webhook_deliveries_dead on webhook_deliveries (subscription_id, seq) where state = 'dead';
