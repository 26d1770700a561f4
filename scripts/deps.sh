#!/usr/bin/env bash
# deps.sh: installs the Debian packages Haven needs to build, test and run, when any
# is missing. As root it uses apt-get; otherwise it names what is missing and stops.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# A line may name a command after the package ("npm cmd:npm"): when that command is
# already on the PATH (say Node.js installed from elsewhere, with its own npm, which
# Debian's npm package would conflict with), the package is not needed.
missing=()
while read -r p alt; do
	[ -n "$p" ] || continue
	if [ "${alt#cmd:}" != "$alt" ] && command -v "${alt#cmd:}" >/dev/null; then
		continue
	fi
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done < <(grep -v '^#' "$here/packages.txt")
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "haven: missing Debian packages: ${missing[*]}" >&2
	echo "haven: install them with: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "haven: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
