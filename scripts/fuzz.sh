#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for a bounded time (default 60 s each) on a
# scratch copy of its corpus; new crashes land in build/fuzz/crashes/.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
mkdir -p build/fuzz/crashes
for fz in build/fuzz/fuzz_*; do
	name=$(basename "$fz")
	target=${name#fuzz_}
	scratch=build/fuzz/corpus-$target
	mkdir -p "$scratch"
	cp -n tests/fuzz/corpus/"$target"/* "$scratch"/ 2>/dev/null || true
	dict=tests/fuzz/$target.dict
	echo "== $name for ${secs}s"
	"$fz" -max_total_time="$secs" -artifact_prefix=build/fuzz/crashes/"$target"- \
		${dict:+$( [ -f "$dict" ] && echo -dict="$dict")} "$scratch"
done
