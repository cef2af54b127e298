#!/bin/bash
# load-pgcpu.sh BINARY [LOAD FLAGS...] runs `BINARY load FLAGS` and prints the CPU time PostgreSQL spent on the run: the user and
# system time of the server processes connected to the run's throwaway database (sbload_*), sampled every 0.3 s from /proc (the
# server must run on this machine), so other databases' work on a shared cluster does not count. docs/performance.md,
# "PostgreSQL per call".
set -euo pipefail
bin=$1
shift
url=${DATABASE_URL:-postgres://switchboard@127.0.0.1:55432/switchboard?sslmode=disable}
psql=(psql "$url" -At -v ON_ERROR_STOP=1)
before=$("${psql[@]}" -c "select coalesce(string_agg(datname, ','), '') from pg_database where datname like 'sbload_%'")
ticks=$(mktemp)
trap 'rm -f "$ticks"' EXIT
# One psql session answers every sample: a psql (and a server backend) started per sample cost the run's CPU and latency.
coproc SAMPLER { "${psql[@]}" 2>&1; }
ask() { # ask SQL prints the rows of one query
	printf '%s;\nselect '"'"'--end--'"'"';\n' "$1" >&"${SAMPLER[1]}"
	local line
	while IFS= read -r line <&"${SAMPLER[0]}" && [ "$line" != "--end--" ]; do
		echo "$line"
	done
}
"$bin" load --database-url "$url" "$@" &
run=$!
db=""
while kill -0 "$run" 2>/dev/null; do
	if [ -z "$db" ]; then
		db=$(ask "select datname from pg_database where datname like 'sbload_%'
			and not (datname = any(string_to_array('$before', ','))) order by oid limit 1")
	else
		for pid in $(ask "select pid from pg_stat_activity where datname = '$db'"); do
			read -ra f <"/proc/$pid/stat" 2>/dev/null && echo "$pid $((f[13] + f[14]))" >>"$ticks"
		done
	fi
	sleep 0.3
done
exec {SAMPLER[1]}>&-
wait "$run" || true
awk -v db="$db" -v hz="$(getconf CLK_TCK)" '{last[$1] = $2} END {s = 0; for (p in last) s += last[p]; printf "PostgreSQL CPU for %s: %.2f s (setup included)\n", db, s / hz}' "$ticks"
