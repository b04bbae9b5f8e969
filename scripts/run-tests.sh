#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test suite: unit (Criterion), fuzz corpus replay, integration
# (real lbd against real nginx on loopback). Prints each suite's result and
# ends with one summary line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

pass=0
fail=0
failed_names=()
logdir=build/test-logs
mkdir -p "$logdir"

count() { # name, passed, failed
	pass=$((pass + $2))
	fail=$((fail + $3))
	if [ "$3" -ne 0 ]; then failed_names+=("$1"); fi
}

echo "== unit tests (Criterion)"
for t in "${B:-build}"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	"$t" --jobs 2 >"$logdir/$name.log" 2>&1
	rc=$?
	synth=$(grep -a "Synthesis:" "$logdir/$name.log" | tail -1)
	p=$(echo "$synth" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$synth" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(echo "$synth" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	p=${p:-0}
	f=$((${f:-0} + ${c:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	printf '  %-28s %4d passed %4d failed\n' "$name" "$p" "$f"
	[ "$f" -ne 0 ] && tail -30 "$logdir/$name.log"
	count "$name" "$p" "$f"
done

echo "== fuzz corpus replay"
for fz in "${B:-build}"/fuzz/fuzz_*; do
	[ -x "$fz" ] || continue
	name=$(basename "$fz")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	if "$fz" -runs=0 "$corpus" >"$logdir/$name.log" 2>&1; then
		printf '  %-28s replayed %s inputs\n' "$name" "$(ls "$corpus" | wc -l)"
		count "$name" 1 0
	else
		printf '  %-28s FAILED\n' "$name"
		tail -30 "$logdir/$name.log"
		count "$name" 0 1
	fi
done

# In CI (or with LBD_FUZZ_SECONDS set), each target also fuzzes for a
# bounded time beyond its corpus: 10 s each by default.
fuzz_secs=${LBD_FUZZ_SECONDS:-}
if [ -z "$fuzz_secs" ] && [ "${CI:-}" = true ]; then fuzz_secs=10; fi
if [ -n "$fuzz_secs" ] && [ "$fuzz_secs" != 0 ]; then
	echo "== fuzzing, ${fuzz_secs}s per target"
	if FUZZ_QUIET=1 scripts/fuzz.sh "$fuzz_secs"; then
		count fuzzing 1 0
	else
		count fuzzing 0 1
	fi
fi

echo "== integration tests (lbd and nginx)"
# A sanitized lbd writes its reports here (one file per process); any
# report fails the suite even when the test itself passed.
rm -rf "$logdir/san"
mkdir -p "$logdir/san"
ASAN_OPTIONS="log_path=$PWD/$logdir/san/asan:detect_leaks=1" \
	UBSAN_OPTIONS="log_path=$PWD/$logdir/san/ubsan:print_stacktrace=1" \
	python3 tests/integ/run.py >"$logdir/integ.log" 2>&1
rc=$?
summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$logdir/integ.log" | tail -1)
p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
f=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
p=${p:-0}
f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
grep -a -E 'FAIL' "$logdir/integ.log" | head -40
printf '  %-28s %4d passed %4d failed\n' "integration" "$p" "$f"
count integration "$p" "$f"
reports=$(ls "$logdir/san" 2>/dev/null | wc -l)
if [ "$reports" -ne 0 ]; then
	echo "  sanitizer reports from lbd: $reports (in $logdir/san/)"
	head -40 "$logdir"/san/* 
	count sanitizer-reports 0 1
fi

echo
if [ "$fail" -ne 0 ]; then
	echo "failed suites: ${failed_names[*]} (logs in $logdir/)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
