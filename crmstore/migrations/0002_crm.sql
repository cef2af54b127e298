-- The CRM: staff and queue configuration, customers with their numbers and addresses, interactions, call scripts, audit log.
-- Keys are UUIDv7 made by the application (time-ordered, so btree inserts stay at the right edge). Times are timestamptz (UTC).
-- Name-like keys of configuration (skills, queues, codes) are short lower-case slugs, referenced directly.

create table skills (
	name  text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
	label text not null
);

create table queues (
	name                 text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
	strategy             text not null default 'longest-idle'
	                     check (strategy in ('longest-idle', 'fewest-calls', 'round-robin', 'best-proficiency')),
	sl_target            real not null default 0.8 check (sl_target > 0 and sl_target <= 1),
	sl_threshold_ms      integer not null default 20000 check (sl_threshold_ms > 0),
	wrap_up_ms           integer not null default 15000 check (wrap_up_ms >= 0),
	ring_timeout_ms      integer not null default 15000 check (ring_timeout_ms > 0),
	max_wait_ms          integer not null default 600000 check (max_wait_ms > 0),
	overflow             text references queues (name) check (overflow is distinct from name),
	max_length           integer not null default 0 check (max_length >= 0),
	escalation           jsonb not null default '[]' check (jsonb_typeof(escalation) = 'array'),
	time_zone            text not null default 'Asia/Shanghai' check (time_zone <> ''),
	require_disposition  boolean not null default false,
	updated_at           timestamptz not null
);

create table agents (
	id             uuid primary key,
	login          text not null unique check (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	display_name   text not null check (display_name <> ''),
	password_hash  text not null,
	role           text not null check (role in ('agent', 'supervisor', 'admin')),
	endpoint       text not null check (endpoint = 'webrtc' or endpoint ~ '^[A-Za-z]+/.+$'),
	disabled       boolean not null default false,
	created_at     timestamptz not null,
	updated_at     timestamptz not null
);

create table agent_skills (
	agent_id     uuid not null references agents (id) on delete cascade,
	skill        text not null references skills (name) on update cascade,
	proficiency  smallint not null check (proficiency between 1 and 10),
	primary key (agent_id, skill)
);

create table queue_members (
	queue     text not null references queues (name) on update cascade on delete cascade,
	agent_id  uuid not null references agents (id) on delete cascade,
	primary key (queue, agent_id)
);
create index queue_members_agent on queue_members (agent_id);

create table dispositions (
	queue     text references queues (name) on update cascade on delete cascade, -- null: every queue
	code      text not null check (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
	label     text not null check (label <> ''),
	position  integer not null default 0,
	unique nulls not distinct (queue, code)
);

create table reason_codes (
	code      text primary key check (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
	label     text not null check (label <> ''),
	position  integer not null default 0
);

create table customers (
	id              uuid primary key,
	name            text not null check (name <> '' and length(name) <= 200),
	company         text not null default '' check (length(company) <= 200),
	language        text not null default '' check (length(language) <= 35),
	tier            text not null default 'standard' check (tier in ('platinum', 'gold', 'standard')),
	tags            text[] not null default '{}',
	notes           text not null default '',
	fields          jsonb not null default '{}' check (jsonb_typeof(fields) = 'object'),
	owner_agent_id  uuid references agents (id) on delete set null,
	created_at      timestamptz not null,
	updated_at      timestamptz not null,
	version         bigint not null default 1 check (version > 0),
	deleted_at      timestamptz
);
-- Prefix search on name and company; "C" collation so one btree serves both LIKE 'abc%' and ORDER BY.
create index customers_name_prefix on customers ((lower(name) collate "C"), id) where deleted_at is null;
create index customers_company_prefix on customers ((lower(company) collate "C"), id) where deleted_at is null and company <> '';
-- Typo-tolerant fallback (pg_trgm similarity).
create index customers_name_trgm on customers using gin (lower(name) gin_trgm_ops) where deleted_at is null;

create table customer_phones (
	e164         text collate "C" primary key check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
	customer_id  uuid not null references customers (id) on delete cascade,
	kind         text not null default 'mobile' check (kind in ('mobile', 'work', 'home')),
	position     smallint not null default 0
);
-- The primary keys (btree, "C" collation) serve both exact lookup and prefix search of numbers and addresses.
create index customer_phones_customer on customer_phones (customer_id);

create table customer_emails (
	address      text collate "C" primary key check (address = lower(address) and address ~ '^[^@\s]+@[^@\s]+$' and length(address) <= 254),
	customer_id  uuid not null references customers (id) on delete cascade,
	position     smallint not null default 0
);
create index customer_emails_customer on customer_emails (customer_id);

create table scripts (
	id          uuid primary key,
	queue       text not null references queues (name) on update cascade on delete cascade,
	tier        text check (tier in ('platinum', 'gold', 'standard')), -- null: every tier
	version     integer not null check (version > 0),
	title       text not null,
	body        text not null,
	created_at  timestamptz not null,
	unique nulls not distinct (queue, tier, version)
);

create table interactions (
	id               uuid primary key,
	channel          text not null check (channel in ('phone', 'webrtc', 'callback')),
	direction        text not null check (direction in ('inbound', 'outbound')),
	customer_id      uuid references customers (id),
	caller_number    text not null default '',
	dialed_number    text not null default '',
	queue            text references queues (name) on update cascade,
	agent_id         uuid references agents (id),
	arrived_at       timestamptz not null,
	queued_at        timestamptz,
	offered_at       timestamptz,
	answered_at      timestamptz,
	ended_at         timestamptz,
	ivr_ms           bigint not null default 0 check (ivr_ms >= 0),
	wait_ms          bigint not null default 0 check (wait_ms >= 0),
	talk_ms          bigint not null default 0 check (talk_ms >= 0),
	hold_ms          bigint not null default 0 check (hold_ms >= 0),
	wrap_up_ms       bigint not null default 0 check (wrap_up_ms >= 0),
	outcome          text check (outcome in ('answered', 'abandoned', 'overflowed', 'voicemail', 'callback-requested', 'failed')),
	ivr_path         jsonb not null default '[]' check (jsonb_typeof(ivr_path) = 'array'),
	inputs           jsonb not null default '{}' check (jsonb_typeof(inputs) = 'object'),
	disposition      text,
	notes            text not null default '',
	recording_file   text,
	recording_size   bigint check (recording_size >= 0),
	recording_sha256 text check (recording_sha256 ~ '^[0-9a-f]{64}$'),
	recording_ms     bigint check (recording_ms >= 0),
	parent_id        uuid references interactions (id),
	channel_id       text not null default '',
	bridge_id        text not null default '',
	script_id        uuid references scripts (id),
	script_version   integer,
	check (ended_at is null or ended_at >= arrived_at),
	check ((ended_at is null) = (outcome is null)),
	check ((recording_file is null) = (recording_size is null))
);
-- The timeline: a customer's interactions newest first, keyset-paginated on (arrived_at, id).
create index interactions_timeline on interactions (customer_id, arrived_at desc, id desc) where customer_id is not null;
create index interactions_agent on interactions (agent_id, arrived_at desc) where agent_id is not null;

create table audit_log (
	id      uuid primary key,
	at      timestamptz not null,
	actor   text not null,
	action  text not null check (action <> ''),
	target  text not null default '',
	remote  text not null default '',
	detail  jsonb
);
create index audit_log_at on audit_log (at desc);
create index audit_log_actor on audit_log (actor, at desc);
