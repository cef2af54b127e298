-- Server-side sessions of the agent desktop and the wallboard. The browser's cookie holds a random token; only its SHA-256 is kept,
-- so the table cannot be replayed as cookies. A session ends when revoked or when unused until expires_at (idle expiry).
create table sessions (
	id          uuid primary key,
	token_hash  bytea not null unique check (length(token_hash) = 32),
	agent_id    uuid not null references agents (id) on delete cascade,
	created_at  timestamptz not null,
	last_seen   timestamptz not null,
	expires_at  timestamptz not null,
	remote      text not null default '',
	user_agent  text not null default '' check (length(user_agent) <= 512),
	revoked_at  timestamptz
);
-- Force logout ends an agent's live sessions.
create index sessions_agent_live on sessions (agent_id) where revoked_at is null;
