#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# CPU time lbd spends per active health check, by kind: a plain http
# check (status line only), one with a `match` reading a body, and checks
# over TLS to an nginx answering over TLS, with the server's session
# resumed (proxy_ssl_session_reuse on, the default) and without. One
# upstream of one server checked every 20 ms for SECONDS; lbd's CPU time
# (every thread, from /proc/PID/task/*/schedstat, in ns) divided by the
# checks lbctl counted. Workers take no request meanwhile.
#
#   bench/hc_cost.sh            SECONDS=10
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_RUN=${SECONDS:-10}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD=${LBD:-$root/build/lbd}
make -s -C "$root" build/lbd build/lbctl
. "$root/bench/lib.sh"
bench_workdir hccost
tls_cert

be=$(free_port)
tlsbe=$(free_port)
mkdir -p "$work/be/logs"
cat >"$work/be.conf" <<CONF
worker_processes 1;
pid $work/be.pid;
error_log $work/be.err;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$be;
        listen 127.0.0.1:$tlsbe ssl;
        ssl_certificate $work/crt.pem;
        ssl_certificate_key $work/key.pem;
        location / { return 200 "status: ok\n"; }
    }
}
CONF
"$NGINX_BIN" -p "$work/be/" -c "$work/be.conf" -g 'daemon off; master_process off;' \
	2>/dev/null &
pids+=($!)
wait_port "$be"
wait_port "$tlsbe"

cpu_ns() { # PID -> ns of CPU over every thread
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s}'
}

run() { # NAME SCHEME BACKEND_PORT HC_PARAMS LOCATION_EXTRA
	local name=$1 scheme=$2 bport=$3 hc=$4 extra=$5 port pid c0 c1 n0 n1
	port=$(free_port)
	rm -rf "$work/logs"
	mkdir -p "$work/logs"
	cat >"$work/lbd.conf" <<EOF
worker_processes 1;
pid $work/logs/lbd.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    match ok { status 200; body ~ "status: ok"; }
    upstream be { health_check interval=20ms $hc; server 127.0.0.1:$bport; }
    server {
        listen 127.0.0.1:$port;
        location / { proxy_pass $scheme://be; $extra }
    }
}
EOF
	"$LBD" -p "$work/" -c "$work/lbd.conf" >/dev/null 2>&1 &
	pid=$!
	pids+=($pid)
	wait_port "$port"
	sleep 1
	checks() {
		"$root/build/lbctl" -s "$work/logs/lbd.sock" upstream list be --json |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(s["checks"] for g in (d if isinstance(d,list) else d.get("upstreams",[d])) for s in g["servers"]))'
	}
	n0=$(checks)
	c0=$(cpu_ns "$pid")
	sleep "$SECONDS_RUN"
	c1=$(cpu_ns "$pid")
	n1=$(checks)
	kill -QUIT "$pid"
	wait "$pid" 2>/dev/null || true
	printf '%-22s %6d checks  %8.1f us CPU/check\n' "$name" $((n1 - n0)) \
		"$(echo "($c1 - $c0) / 1000 / ($n1 - $n0)" | bc -l)"
}

run "http (status line)" http "$be" "uri=/" ""
run "http match=ok (body)" http "$be" "match=ok" ""
run "https, session reused" https "$tlsbe" "uri=/" ""
run "https, no reuse" https "$tlsbe" "uri=/" "proxy_ssl_session_reuse off;"
grep -q "is unhealthy" "$work/logs/error.log" && { echo "a check failed" >&2; exit 1; } || true
