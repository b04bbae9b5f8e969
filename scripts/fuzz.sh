#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for a bounded time (default 60 s each) on a
# scratch copy of its corpus, with its dictionary; new crashes land in
# build/fuzz/crashes/. Every target runs even when one fails; the exit
# status is non-zero when any did.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 10 h1 ctl
#   FUZZ_QUIET=1: one line per target, libFuzzer's output in build/test-logs/
#   FUZZ_JOBS=N (with FUZZ_QUIET): N targets at a time (run-tests.sh: nproc)
#   (run-tests.sh does this in CI: CI=true runs every target 6 s).
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
bdir=${B:-build}
logdir=build/test-logs
mkdir -p build/fuzz/crashes "$logdir"
jobs=${FUZZ_JOBS:-1}
# run_one FUZZER: one target for $secs; in quiet mode its line goes to
# build/test-logs/fuzzrun_TARGET.line and its status is the exit code.
run_one() {
	local fz=$1 name target scratch dict log runs
	name=$(basename "$fz")
	target=${name#fuzz_}
	scratch=build/fuzz/corpus-$target
	mkdir -p "$scratch"
	cp -n tests/fuzz/corpus/"$target"/* "$scratch"/ 2>/dev/null || true
	dict=tests/fuzz/$target.dict
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
		-artifact_prefix=build/fuzz/crashes/"$target"-)
	[ -f "$dict" ] && args+=(-dict="$dict")
	if [ -z "${FUZZ_QUIET:-}" ]; then
		echo "== $name for ${secs}s"
		"$fz" "${args[@]}" "$scratch"
		return
	fi
	log=$logdir/fuzzrun_$target.log
	if "$fz" "${args[@]}" "$scratch" >"$log" 2>&1; then
		runs=$(grep -a '^Done [0-9]* runs' "$log" | sed 's/Done \([0-9]*\) runs.*/\1/')
		printf '  %-28s %ss, %s runs, no crash\n' "$name" "$secs" "${runs:-?}" >"$log.line"
		return 0
	fi
	{
		printf '  %-28s CRASH (see %s, build/fuzz/crashes/)\n' "$name" "$log"
		grep -a -m5 -E 'ERROR|SUMMARY|Test unit written' "$log"
	} >"$log.line"
	return 1
}

# line_file FUZZER: where run_one leaves its line in quiet mode.
line_file() {
	local n
	n=$(basename "$1")
	echo "$logdir/fuzzrun_${n#fuzz_}.log.line"
}

targets=()
for fz in "$bdir"/fuzz/fuzz_*; do
	[ -x "$fz" ] || continue
	target=$(basename "$fz")
	target=${target#fuzz_}
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$target"; then
		continue
	fi
	targets+=("$fz")
done

failed=0
if [ -z "${FUZZ_QUIET:-}" ] || [ "$jobs" -le 1 ]; then
	for fz in "${targets[@]}"; do
		run_one "$fz" || failed=1
		[ -n "${FUZZ_QUIET:-}" ] && cat "$(line_file "$fz")"
	done
	exit $failed
fi
# FUZZ_JOBS targets at a time (quiet mode only: the lines come in order)
running=0
for fz in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
	run_one "$fz" &
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
for fz in "${targets[@]}"; do
	cat "$(line_file "$fz")"
done
exit $failed
