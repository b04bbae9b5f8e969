#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# TLS termination, lbd against nginx and HAProxy in one run: each with one
# worker pinned to PROXY_CPU, the same ECDSA P-256 certificate, proxying
# to the same backend (build/demo_backend, HTTP/1.1 keep-alive pool);
# wrk on LOAD_CPU. Rows:
#   handshakes  every request on a new TLS connection (Connection: close),
#               resumption off everywhere: full handshakes per second, and
#               the proxy's CPU microseconds per handshake
#   keepalive   HTTPS keep-alive requests per second (HTTP/1.1)
# Prints the ratios lbd/nginx and lbd/HAProxy per row. Every wrk run is
# bounded by DURATION.
#
#   bench/tls.sh   [DURATION=5] [CONNS=50] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx haproxy}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

make -s -C "$root" build/lbd build/demo_backend
. "$root/bench/lib.sh"
bench_workdir tlsbench

tls_cert

demo_backend_start "$LOAD_CPU"

# the configuration nginx and lbd share: TLS 1.3 for both (nginx 1.22's
# default stops at 1.2), no resumption (tickets off, no session cache), so
# every new connection is a full handshake for all three
nginx_conf() { # PORT NAME
	tls_nginx_conf "$1" "$2" 256 ssl "        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        keepalive_requests 1000000;"
}

haproxy_conf() { # PORT
	tls_haproxy_conf "$1" no-tls-tickets "    tune.ssl.cachesize 0"
}


# wrk_rps OUTPUT -> requests/s; wrk_errors OUTPUT -> non-2xx + socket errors
wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$1"; }
wrk_errors() {
	awk '/Non-2xx/ {e += $NF} /Socket errors/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) e += $i } END { print e + 0 }' <<<"$1"
}

declare -A hs ka cpu kcpu
printf '%-8s %14s %18s %14s %12s %s\n' target handshakes/s cpu_us/handshake keepalive/s cpu_us/req notes
for t in $TARGETS; do
	if ! start_target "$t"; then
		printf '%-8s did not start\n' "$t"
		continue
	fi
	url="https://127.0.0.1:$port/bench"
	taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNS" -d1s "$url" >/dev/null 2>&1 || true
	c0=$(proc_ticks "$pid")
	o1=$(taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNS" -d"${DURATION}s" -H 'Connection: close' \
		"$url" 2>&1) || true
	c1=$(proc_ticks "$pid")
	o2=$(taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNS" -d"${DURATION}s" "$url" 2>&1) || true
	c2=$(proc_ticks "$pid")
	hs[$t]=$(wrk_rps "$o1")
	ka[$t]=$(wrk_rps "$o2")
	cpu[$t]=$(awk -v a="$c0" -v b="$c1" -v r="${hs[$t]:-0}" -v d="$DURATION" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { n = r * d; printf "%.1f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')
	kcpu[$t]=$(awk -v a="$c1" -v b="$c2" -v r="${ka[$t]:-0}" -v d="$DURATION" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { n = r * d; printf "%.1f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')
	note=""
	e1=$(wrk_errors "$o1")
	e2=$(wrk_errors "$o2")
	[[ $e1 == 0 && $e2 == 0 ]] || note="! errors: $e1 handshake row, $e2 keep-alive row"
	printf '%-8s %14s %18s %14s %12s %s\n' "$t" "${hs[$t]:-failed}" "${cpu[$t]}" "${ka[$t]:-failed}" \
		"${kcpu[$t]}" "$note"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
for row in hs ka; do
	declare -n m=$row
	awk -v r="$row" -v l="${m[lbd]:-0}" -v n="${m[nginx]:-0}" -v h="${m[haproxy]:-0}" 'BEGIN {
		printf "%-10s lbd/nginx %.2f   lbd/haproxy %.2f\n", (r == "hs" ? "handshakes" : "keepalive"),
			(n > 0 ? l / n : 0), (h > 0 ? l / h : 0) }'
done
