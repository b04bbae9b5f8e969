#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# HTTP/2 over TLS: h2load with CLIENTS clients x STREAMS concurrent streams
# (bounded: REQUESTS requests in all) against lbd, nginx and HAProxy in one
# run, each with one worker pinned to PROXY_CPU, the same ECDSA P-256
# certificate, proxying to the same backend (build/demo_backend through an
# HTTP/1.1 keep-alive pool). Prints req/s per target, the proxy's CPU
# time and instructions per request (perf stat on the proxy process around
# the measured h2load run; CPU from /proc when perf is missing) and the
# ratios lbd/nginx and lbd/HAProxy.
#
#   bench/h2.sh   [REQUESTS=50000] [CLIENTS=50] [STREAMS=10] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-50000}
CLIENTS=${CLIENTS:-50}
STREAMS=${STREAMS:-10}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx haproxy}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

make -s -C "$root" build/lbd build/demo_backend
. "$root/bench/lib.sh"
bench_workdir h2bench

tls_cert

demo_backend_start "$LOAD_CPU"

# the config nginx and lbd share
nginx_conf() { # PORT NAME (50 x 10 streams in flight: no upstream connection churn)
	tls_nginx_conf "$1" "$2" 1024 "ssl http2" "        keepalive_requests 100000;"
}

haproxy_conf() { # PORT
	tls_haproxy_conf "$1" "alpn h2,http/1.1"
}


have_perf=0
perf stat -e task-clock true >/dev/null 2>&1 && have_perf=1

declare -A rps
printf '%-8s %12s %10s %10s %14s %s\n' target req_per_s cpu_us/req kinsn/req 2xx notes
for t in $TARGETS; do
	if ! start_target "$t"; then
		printf '%-8s did not start\n' "$t"
		continue
	fi
	# warm-up: fills the upstream pool
	taskset -c "$LOAD_CPU" h2load -n 2000 -c "$CLIENTS" -m "$STREAMS" \
		"https://127.0.0.1:$port/bench" >/dev/null 2>&1 || true
	t0=$(proc_ticks "$pid")
	if ((have_perf)); then
		perf stat -x, -e task-clock,instructions -p "$pid" -o "$work/perf.$t" &
		perf_pid=$!
		sleep 0.2 # perf attached
	fi
	out=$(taskset -c "$LOAD_CPU" h2load -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" \
		"https://127.0.0.1:$port/bench" 2>&1) || true
	t1=$(proc_ticks "$pid")
	cpu=$(awk -v a="$t0" -v b="$t1" -v n="$REQUESTS" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
	insn=-
	if ((have_perf)); then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		# task-clock is in ms (msec unit), instructions a count
		cpu=$(awk -F, -v n="$REQUESTS" '$3 == "task-clock" { printf "%.1f", $1 * 1000 / n }' \
			"$work/perf.$t")
		insn=$(awk -F, -v n="$REQUESTS" '$3 ~ /^instructions/ && $1 ~ /^[0-9]/ {
			printf "%.0f", $1 / n / 1000 }' "$work/perf.$t")
		[[ -n $insn ]] || insn=-
	fi
	r=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
	ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
	proto=$(sed -n 's/^Application protocol: //p' <<<"$out")
	note=""
	[[ "$ok" == "$REQUESTS" ]] || note="! not all 2xx"
	[[ "$proto" == h2 ]] || note="$note ! protocol ${proto:-none}"
	rps[$t]=${r:-0}
	printf '%-8s %12s %10s %10s %14s %s\n' "$t" "${r:-failed}" "$cpu" "$insn" \
		"${ok:-0}/$REQUESTS" "$note"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
awk -v l="${rps[lbd]:-0}" -v n="${rps[nginx]:-0}" -v h="${rps[haproxy]:-0}" 'BEGIN {
	printf "lbd/nginx %.2f   lbd/haproxy %.2f\n", (n > 0 ? l / n : 0), (h > 0 ? l / h : 0) }'
