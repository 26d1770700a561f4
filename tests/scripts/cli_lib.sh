# cli_lib.sh: sourced by the command-line tests that start a server (tests/cli/*.sh):
# the binary under test, a scratch directory removed at exit (and the server stopped), a
# port, the API base URL, the database URL and the master key file, fail() and
# wait_for_server().
#   . "$(dirname "$0")/../scripts/cli_lib.sh" NAME
HAVEN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
# Below Linux's ephemeral range (32768-60999), so no outgoing connection holds it.
port=$((20000 + RANDOM % 12000))
base=http://127.0.0.1:$port/api/v1
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
export HAVEN_KEY_FILE=$dir/haven.key
db=sqlite:$dir/haven.db
cli_test_name=$1
fail() { echo "$cli_test_name: $*" >&2; exit 1; }
# Waits until the server just started in the background ($pid, logging to
# $dir/server.log) answers /healthz on $port; fails with the end of its log when it exits
# first or does not answer within 10 s.
wait_for_server() {
	for _ in $(seq 1 200); do
		curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return 0
		kill -0 "$pid" 2>/dev/null ||
			fail "the server exited: $(tail -n 5 "$dir/server.log" 2>/dev/null)"
		sleep 0.05
	done
	fail "the server did not answer /healthz within 10 s: $(tail -n 5 "$dir/server.log" 2>/dev/null)"
}
