#!/usr/bin/env bash
# pg.sh start|stop DIR: a throwaway PostgreSQL 15 server on loopback for the tests.
#   start prints the connection URL on stdout; stop shuts it down and removes DIR.
# As root the server runs as the 'postgres' system user (initdb refuses root).
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
case $cmd in
start)
	mkdir -p "$dir"
	# The server user must reach DIR: open the folder above it (mktemp makes it 0700), but
	# only by adding search permission, so that a parent like /tmp keeps its sticky bit
	# and stays writable for everyone.
	chmod a+x "$(dirname "$dir")"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
	port=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range (32768-)
	as_pg "$bin/initdb" -D "$dir/data" -U haven -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on" \
		start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U haven haven
	echo "postgresql://haven@127.0.0.1:$port/haven"
	;;
stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*) echo "usage: pg.sh start|stop DIR" >&2; exit 2 ;;
esac
