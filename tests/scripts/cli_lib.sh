# cli_lib.sh: sourced by the command-line tests that start a server (tests/cli/*.sh):
# the binary under test, a scratch directory removed at exit (and the server stopped), a
# port, the API base URL, the database URL and the master key file, and fail().
#   . "$(dirname "$0")/../scripts/cli_lib.sh" NAME
HAVEN=${HAVEN_BIN:-build/asan/haven}
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
base=http://127.0.0.1:$port/api/v1
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
export HAVEN_KEY_FILE=$dir/haven.key
db=sqlite:$dir/haven.db
cli_test_name=$1
fail() { echo "$cli_test_name: $*" >&2; exit 1; }
