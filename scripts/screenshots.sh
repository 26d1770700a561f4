#!/usr/bin/env bash
# screenshots.sh: regenerates docs/screenshots/*.png, the main pages at desktop (1280 px)
# and phone (390 px) widths, by running the end-to-end flows in chromium with
# SCREENSHOTS_DIR set (tests/web/run.sh starts the server and makes the accounts).
#   make build/haven && scripts/screenshots.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SCREENSHOTS_DIR="$root/docs/screenshots" "$root/tests/web/run.sh"
