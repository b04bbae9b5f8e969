#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# HTTPS upstreams, lbd against nginx in one run: each proxy (one worker on
# PROXY_CPU, plain HTTP listener) forwards to the same TLS backend (an
# nginx answering 100 bytes over TLS 1.3, on LOAD_CPU with wrk). Rows:
#   pool     proxy_pass https://be with `keepalive 64`: TLS connections
#            reused, requests/s and the proxy's CPU microseconds per request
#   resume   no upstream keep-alive: a new TLS connection per request,
#            resumed (proxy_ssl_session_reuse on): requests/s, CPU us/req
# Every wrk run is bounded by DURATION.
#
#   bench/upssl.sh   [DURATION=5] [CONNS=20] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
CONNS=${CONNS:-20}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}

make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir upsslbench
tls_cert

# the TLS backend: nginx, 100 bytes per answer, keep-alive, tickets on
backend=$(free_port)
mkdir -p "$work/be/logs"
cat >"$work/be.conf" <<CONF
worker_processes 1;
pid $work/be.pid;
error_log $work/be.err;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$backend ssl;
        ssl_certificate $work/crt.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 1000000;
        location / { return 200 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456\n"; }
    }
}
CONF
taskset -c "$LOAD_CPU" "$NGINX_BIN" -p "$work/be/" -c "$work/be.conf" \
	-g 'daemon off; master_process off;' 2>/dev/null &
pids+=($!)
wait_port "$backend"

MODE=pool
nginx_conf() { # PORT NAME
	local ka="keepalive 64;" hdr='proxy_set_header Connection "";'
	[[ $MODE == resume ]] && ka="" && hdr=""
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream be { server 127.0.0.1:$backend; $ka }
    server {
        listen 127.0.0.1:$1;
        keepalive_requests 1000000;
        location / {
            proxy_pass https://be;
            proxy_http_version 1.1;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            $hdr
        }
    }
}
CONF
}

wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$1"; }
wrk_errors() {
	awk '/Non-2xx/ {e += $NF} /Socket errors/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) e += $i } END { print e + 0 }' <<<"$1"
}

hz=$(getconf CLK_TCK)
printf '%-8s %-7s %12s %12s %s\n' target row requests/s cpu_us/req notes
for MODE in pool resume; do
	for name in $TARGETS; do
		start_target "$name"
		taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" -d 1 "http://127.0.0.1:$port/" >/dev/null
		t0=$(proc_ticks "$pid")
		out=$(taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" -d "$DURATION" "http://127.0.0.1:$port/")
		t1=$(proc_ticks "$pid")
		rps=$(wrk_rps "$out")
		err=$(wrk_errors "$out")
		reqs=$(awk -v r="$rps" -v d="$DURATION" 'BEGIN { print r * d }')
		cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" \
			'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
		printf '%-8s %-7s %12.0f %12s %s\n' "$name" "$MODE" "$rps" "$cpu" \
			"$([[ $err != 0 ]] && echo "errors=$err")"
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
done
