-- SPDX-License-Identifier: MIT
-- wrk hook for bench/run.sh: after a run, print one machine-readable line
-- with exact counts instead of wrk's rounded, unit-suffixed summary.
-- Only done() is defined, so wrk keeps its pre-built request (no per-request
-- Lua cost). Latencies are in microseconds.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"RESULT requests=%d duration_us=%d bytes=%d p99_us=%d " ..
		"connect=%d read=%d write=%d status=%d timeout=%d\n",
		summary.requests, summary.duration, summary.bytes,
		latency:percentile(99), e.connect, e.read, e.write, e.status,
		e.timeout))
end
