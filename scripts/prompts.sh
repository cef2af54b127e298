#!/usr/bin/env bash
# Regenerates the project's prompts from ivr/sounds/prompts.txt with espeak-ng and sox (Debian packages, installed when missing).
# The generated files are committed, so neither a build nor a test needs these tools; run this after editing a prompt's text.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
list="$root/ivr/sounds/prompts.txt"
out="$root/ivr/sounds/sb"

if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq espeak-ng sox >/dev/null
fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$list" | grep -v '^$' | while IFS='|' read -r name text; do
	espeak-ng -v en-us -s 155 -w "$tmp/$name.wav" "$text"
	# 8 kHz mono µ-law, raw: what Asterisk's format_pcm reads as <name>.ulaw; a short fade avoids clicks.
	sox -q "$tmp/$name.wav" -r 8000 -c 1 -e u-law -t raw "$out/$name.ulaw" fade 0.01 0 0.02
done
echo "prompts: $(ls "$out" | wc -l) files in ${out#$root/}"
