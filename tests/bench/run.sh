#!/usr/bin/env bash
# tests/bench/run.sh: runs every benchmark (tests/bench/*.sh but this one and
# lib.sh; BENCH=name runs one) and writes docs/BENCHMARKS.md: the machine, the
# date, then each benchmark's section. A section not run this time is kept
# from the previous results in build/bench/, else from the docs/BENCHMARKS.md
# written before (each section follows a line <!-- bench: NAME -->), so that
# BENCH=name in a fresh tree keeps the other sections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build/bench
mkdir -p "$out"
for b in "$here"/*.sh; do
	name=$(basename "$b" .sh)
	[ -e "$out/$name.md" ] || [ ! -e "$top/docs/BENCHMARKS.md" ] && continue
	# the marked section, without its trailing blank lines
	awk -v n="$name" '/^<!-- bench: /{p = ($3 == n); next} p{a[++k] = $0} END{while (k > 0 && a[k] == "") k--; for (i = 1; i <= k; i++) print a[i]}' \
		"$top/docs/BENCHMARKS.md" >"$out/$name.md"
	[ -s "$out/$name.md" ] || rm -f "$out/$name.md"
done
for b in "$here"/*.sh; do
	name=$(basename "$b" .sh)
	case $name in run | lib) continue ;; esac
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ] && continue
	echo "== bench: $name" >&2
	if "$b" >"$out/$name.md.new"; then
		mv "$out/$name.md.new" "$out/$name.md"
		cat "$out/$name.md"
	else
		echo "bench $name failed" >&2
		rm -f "$out/$name.md.new"
		exit 1
	fi
done
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` (tests/bench/run.sh); each section says what it measures and"
	echo "against which peer, measured in the same run. Targets come from the issues."
	echo
	echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), "
	echo "$(free -g | awk '/Mem:/{print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r). Date: $(date -u +%Y-%m-%d)."
	for f in "$out"/*.md; do
		echo
		echo "<!-- bench: $(basename "$f" .md) -->"
		cat "$f"
	done
} >"$top/docs/BENCHMARKS.md"
echo "wrote docs/BENCHMARKS.md" >&2
