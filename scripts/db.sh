#!/usr/bin/env bash
# The private development PostgreSQL cluster of this checkout, in .data/pg: created once, then reused.
# It listens on a unix socket in .data/run and on 127.0.0.1:$SWITCHBOARD_PGPORT (default 55432), with trust authentication for
# local connections only: it is a developer's and CI's database, never a production one.
#
# Usage: scripts/db.sh up     start it (creating it on first use) and print its URL
#        scripts/db.sh down   stop it
#        scripts/db.sh url    print its URL
#        scripts/db.sh psql   open psql on it
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/pg"
run="$root/.data/run"
port="${SWITCHBOARD_PGPORT:-55432}"
url="postgres://switchboard@127.0.0.1:$port/switchboard?sslmode=disable"

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || { echo "db.sh: PostgreSQL is not installed; run scripts/install-deps.sh postgres" >&2; exit 1; }
	echo "$d"
}

# initdb and postgres refuse to run as root, so as root the cluster belongs to the postgres system user.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

up() {
	local bin
	bin=$(bindir)
	mkdir -p "$root/.data"
	# Concurrent callers (parallel test packages) wait for each other here.
	exec 9>"$root/.data/db.lock"
	flock 9
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
		# The postgres user must be able to reach the data folder.
		chmod o+x "$root" "$root/.data"
	fi
	if [ ! -s "$data/PG_VERSION" ]; then
		rm -rf "$data"
		mkdir -p "$data" "$run"
		[ "$(id -u)" -ne 0 ] || chown postgres: "$data" "$run"
		as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
		# fsync off: this cluster holds development and test data only; speed matters more than surviving a power cut.
	fi
	mkdir -p "$run"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$run"
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		# The server must not inherit the lock, or it would hold it for its whole life.
		as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 9>&-
	fi
	local psql=("$bin/psql" -h "$run" -p "$port" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1)
	if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='switchboard'")" != 1 ]; then
		"${psql[@]}" -c "create role switchboard login createdb"
	fi
	# Tests drop their databases WITH (FORCE), which must also end an autovacuum worker busy there: that takes pg_signal_backend.
	"${psql[@]}" -c "set client_min_messages = warning" -c "grant pg_signal_backend to switchboard" >/dev/null
	if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='switchboard'")" != 1 ]; then
		"${psql[@]}" -c "create database switchboard owner switchboard"
	fi
	echo "$url"
}

down() {
	local bin
	bin=$(bindir)
	[ -s "$data/PG_VERSION" ] || exit 0
	as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
up) up ;;
down) down ;;
url) echo "$url" ;;
psql) exec "$(bindir)/psql" "$url" ;;
*)
	echo "usage: scripts/db.sh up|down|url|psql" >&2
	exit 2
	;;
esac
