#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for a bounded time (default 60 s each) on a
# scratch copy of its corpus, with its dictionary; new crashes land in
# build/fuzz/crashes/. Every target runs even when one fails; the exit
# status is non-zero when any did.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 10 h1 ctl
#   FUZZ_QUIET=1: one line per target, libFuzzer's output in build/test-logs/
#   (run-tests.sh does this in CI: CI=true runs every target 10 s).
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
bdir=${B:-build}
logdir=build/test-logs
mkdir -p build/fuzz/crashes "$logdir"
failed=0
for fz in "$bdir"/fuzz/fuzz_*; do
	[ -x "$fz" ] || continue
	name=$(basename "$fz")
	target=${name#fuzz_}
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$target"; then
		continue
	fi
	scratch=build/fuzz/corpus-$target
	mkdir -p "$scratch"
	cp -n tests/fuzz/corpus/"$target"/* "$scratch"/ 2>/dev/null || true
	dict=tests/fuzz/$target.dict
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
		-artifact_prefix=build/fuzz/crashes/"$target"-)
	[ -f "$dict" ] && args+=(-dict="$dict")
	if [ -n "${FUZZ_QUIET:-}" ]; then
		log=$logdir/fuzzrun_$target.log
		if "$fz" "${args[@]}" "$scratch" >"$log" 2>&1; then
			runs=$(grep -a '^Done [0-9]* runs' "$log" | sed 's/Done \([0-9]*\) runs.*/\1/')
			printf '  %-28s %ss, %s runs, no crash\n' "$name" "$secs" "${runs:-?}"
		else
			printf '  %-28s CRASH (see %s, build/fuzz/crashes/)\n' "$name" "$log"
			grep -a -m5 -E 'ERROR|SUMMARY|Test unit written' "$log"
			failed=1
		fi
	else
		echo "== $name for ${secs}s"
		"$fz" "${args[@]}" "$scratch" || failed=1
	fi
done
exit $failed
