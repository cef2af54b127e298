#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs, only when they are missing: quiet, idempotent and fast when all is present.
# Usage: scripts/install-deps.sh [postgres] [chromium]   (no argument: everything)
set -euo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(postgres chromium)

missing=()
for w in "${want[@]}"; do
	case "$w" in
	postgres)
		# initdb lives in a versioned folder on Debian; pg_trgm ships with the server package since PostgreSQL 10.
		ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
		;;
	chromium)
		command -v chromium >/dev/null 2>&1 || missing+=(chromium)
		# The desk speaks Simplified Chinese: without a CJK font, screenshots of the browser tests show empty boxes.
		{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n1)" ]; } || missing+=(fonts-noto-cjk)
		;;
	*)
		echo "install-deps: unknown component '$w' (known: postgres, chromium)" >&2
		exit 2
		;;
	esac
done
[ ${#missing[@]} -gt 0 ] || exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
