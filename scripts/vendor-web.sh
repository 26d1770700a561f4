#!/usr/bin/env bash
# vendor-web.sh: copies the web pages' third-party files from npm into web/vendor.
# Today that is uPlot (charts), pinned with its integrity hash in package-lock.json.
#
#   scripts/vendor-web.sh           # npm ci, then copy into web/vendor
#   scripts/vendor-web.sh --check   # npm ci, then fail if web/vendor differs
#
# The copies are committed, so `make run` needs neither Node nor the network on the
# server; `make test` runs --check, so web/vendor can never drift from the lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
files=(
	"node_modules/uplot/dist/uPlot.esm.js:web/vendor/uPlot.esm.js"
	"node_modules/uplot/dist/uPlot.min.css:web/vendor/uPlot.min.css"
	"node_modules/uplot/LICENSE:web/vendor/uPlot.LICENSE.txt"
)
status=0
for pair in "${files[@]}"; do
	from=${pair%%:*} to=${pair#*:}
	if [ "${1:-}" = "--check" ]; then
		if ! cmp -s "$from" "$to"; then
			echo "vendor-web: $to differs from $from (run scripts/vendor-web.sh)" >&2
			status=1
		fi
	else
		mkdir -p "$(dirname "$to")"
		cp "$from" "$to"
	fi
done
exit $status
