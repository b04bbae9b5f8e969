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
# details: what a failed suite printed that should still be on the last
# screen (CI shows only the tail of this script's output).
details=()
logdir=build/test-logs
mkdir -p "$logdir"

# section TITLE: a suite's header, with the seconds since the start.
section() {
	echo "== $1 (at ${SECONDS}s)"
}

count() { # name, passed, failed
	pass=$((pass + $2))
	fail=$((fail + $3))
	if [ "$3" -ne 0 ]; then failed_names+=("$1"); fi
}

# unit_suite DIR LABEL: every Criterion binary in DIR.
unit_suite() {
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")$2
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
		if [ "$f" -ne 0 ]; then
			tail -30 "$logdir/$name.log"
			details+=("$name: $(grep -a -E '\[FAIL\]|\[----\].*:[0-9]+:' "$logdir/$name.log" | head -6)")
		fi
		count "$name" "$p" "$f"
	done
}

section "unit tests (Criterion)"
unit_suite "${B:-build}" ""

section "fuzz corpus replay"
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
		details+=("$name: $(grep -a -m3 -E 'ERROR|SUMMARY|Running:' "$logdir/$name.log")")
		count "$name" 0 1
	fi
done

# In CI (or with LBD_FUZZ_SECONDS set), each target also fuzzes for a
# bounded time beyond its corpus: 6 s each by default (make fuzz: 60 s).
fuzz_secs=${LBD_FUZZ_SECONDS:-}
if [ -z "$fuzz_secs" ] && [ "${CI:-}" = true ]; then fuzz_secs=6; fi
if [ -n "$fuzz_secs" ] && [ "$fuzz_secs" != 0 ]; then
	section "fuzzing, ${fuzz_secs}s per target"
	stamp=$logdir/fuzzing.start
	touch "$stamp"
	FUZZ_QUIET=1 FUZZ_JOBS=$(nproc 2>/dev/null || echo 1) scripts/fuzz.sh "$fuzz_secs" \
		>"$logdir/fuzzing.lines"
	rc=$?
	cat "$logdir/fuzzing.lines"
	if [ "$rc" -eq 0 ]; then
		count fuzzing 1 0
	else
		count fuzzing 0 1
		details+=("$(grep -av 'no crash' "$logdir/fuzzing.lines")")
		# each new input that failed, small enough to quote: base64,
		# so the tail of a CI log is enough to replay it
		for a in $(find build/fuzz/crashes -type f -newer "$stamp" -size -4k); do
			details+=("$a (base64): $(base64 -w0 "$a")")
		done
	fi
fi

# Integration tests at a time: they mostly wait (timers, timeouts, the
# peer), ~30 % of two cores busy at 3, ~70 % at 6 (86 % for the sanitizer
# build's lbd), and the suites take 40 % less time at 6.
INTEG_JOBS=${INTEG_JOBS:-6}

# integ_suite LABEL [VAR=VALUE...]: the integration suite (run.py) with the
# environment given; a sanitized lbd's reports fail it even when every test
# passed.
integ_suite() {
	local label=$1 san="$logdir/san$1"
	shift
	rm -rf "$san"
	mkdir -p "$san"
	env "$@" ASAN_OPTIONS="log_path=$PWD/$san/asan:detect_leaks=1" \
		UBSAN_OPTIONS="log_path=$PWD/$san/ubsan:print_stacktrace=1" \
		python3 tests/integ/run.py -j "$INTEG_JOBS" $INTEG_ARGS >"$logdir/integ$label.log" 2>&1
	rc=$?
	summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$logdir/integ$label.log" | tail -1)
	p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	grep -a -E 'FAIL' "$logdir/integ$label.log" | head -40
	[ "$f" -ne 0 ] && details+=("$(grep -a -E 'FAIL' "$logdir/integ$label.log" | head -5)")
	printf '  %-28s %4d passed %4d failed\n' "integration$label" "$p" "$f"
	count "integration$label" "$p" "$f"
	reports=$(ls "$san" 2>/dev/null | wc -l)
	if [ "$reports" -ne 0 ]; then
		echo "  sanitizer reports from lbd: $reports (in $san/)"
		head -40 "$san"/*
		details+=("sanitizer$label: $(cat "$san"/* | grep -a -m3 -E 'ERROR|SUMMARY|runtime error')")
		count "sanitizer-reports$label" 0 1
	fi
}

section "integration tests (lbd and nginx)"
# testssl's audit of lbd's TLS defaults (80 s) runs once: in the sanitizer
# run when there is one.
INTEG_ARGS=
[ -n "${SAN_B:-}" ] && INTEG_ARGS="-x test_testssl"
integ_suite ""
INTEG_ARGS=

# SAN_B: a sanitizer build (make SANITIZE=address,undefined; CI builds
# one): its unit tests, and the integration suite against its lbd.
if [ -n "${SAN_B:-}" ]; then
	section "unit tests, $SAN_B (ASan+UBSan)"
	unit_suite "$SAN_B" " (asan)"
	section "integration tests, $SAN_B/lbd (ASan+UBSan)"
	integ_suite "-asan" TARGETS=lbd LBD="$PWD/$SAN_B/lbd"
fi

echo "(${SECONDS}s)"
if [ "$fail" -ne 0 ]; then
	for d in "${details[@]}"; do
		printf '%s\n' "$d"
	done
	echo "failed suites: ${failed_names[*]} (logs in $logdir/)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
