#!/usr/bin/env bash
# chat_statements.sh [TURNS]: what one chat turn costs PostgreSQL, counted by the server.
# Starts a throwaway PostgreSQL with pg_stat_statements, one patient onboarded, then sends
# TURNS turns (default 32) of bench/wrk/chat.lua's lines one after another (each its own
# commit group) and prints every statement the server ran with its calls per turn, then the
# statements per turn other than BEGIN and savepoint commands. Each of those is a round trip
# of the writer, but for a statement sent with haven_tx_exec_pipelined, which travels with
# the next one, and the BEGIN and savepoints, which travel with the statement after them.
# HAVEN=PATH picks the build.
turns=${1:-32}
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
bench_db postgresql
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
psql_q() { "$bin/psql" -qAtX "$DB_URL" -c "$1"; }
psql_q "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
as_pg "$bin/pg_ctl" -D "$BENCH_DIR/pg/data" -w restart >/dev/null
psql_q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
"$HAVEN" migrate --db "$DB_URL" >/dev/null
bench_start
bench_people 1
for t in hello yes; do api POST /chat/messages "$PATIENT_TOKEN" "{\"text\": \"$t\"}" >/dev/null; done
mapfile -t lines < <(sed -n '/^local lines = {/,/^}/p' "$ROOT/bench/wrk/chat.lua" | sed -n 's/^  "\(.*\)",$/\1/p')
psql_q "SELECT pg_stat_statements_reset()" >/dev/null
for i in $(seq 0 $((turns - 1))); do
	api POST /chat/messages "$PATIENT_TOKEN" "{\"text\": \"${lines[i % ${#lines[@]}]}\"}" >/dev/null
done
echo "PostgreSQL statements per chat turn ($turns turns, one at a time, HAVEN=$HAVEN):"
psql_q "SELECT to_char(calls::numeric / $turns, 'FM990.00') || E'\t' ||
	regexp_replace(left(query, 110), '\s+', ' ', 'g')
	FROM pg_stat_statements
	WHERE query !~* 'pg_stat_statements'
	ORDER BY calls DESC, query"
psql_q "SELECT 'statements per turn, without BEGIN and savepoints (COMMIT and the audit lock are once per commit group): ' ||
	to_char(sum(calls)::numeric / $turns, 'FM990.00')
	FROM pg_stat_statements
	WHERE query !~* 'pg_stat_statements|SAVEPOINT|^BEGIN$'"
