#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Response buffering: lbd vs nginx, proxy_buffering on and off, same config
# text, one worker each, in one run. Two figures per cell:
#   hold   a client reading a 16 MiB answer at about RATE MiB/s: how long
#          the upstream is busy with it ($upstream_response_time) against
#          how long the client takes ($request_time), from the access log
#   req/s  wrk, CONNS fast clients, a 1 MiB answer (the cost of buffering
#          when clients keep up)
# Then request bodies, proxy_request_buffering on and off: wrk, CONNS
# clients each POSTing 1 MiB (the backend reads and discards it): req/s and
# the proxy's CPU time per request (utime+stime from /proc, ms).
# The proxy runs on PROXY_CPU, wrk, the client and the backend on LOAD_CPU.
#
#   bench/buffering.sh   [DURATION=5] [CONNS=8] [RATE=8] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
RATE=${RATE:-8}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
[[ -x $LBD_BIN && -x $BACKEND_BIN ]] || { echo "run make first" >&2; exit 1; }
bench_workdir lbd-bench-buffering
demo_backend_start "$LOAD_CPU"

MODE=on
RBUF=on
nginx_conf() { # PORT NAME
	cat <<EOF
worker_processes 1;
pid $work/$2/pid;
error_log $work/$2/error.log;
events { worker_connections 4096; }
http {
    log_format t '\$request_uri \$upstream_response_time \$request_time';
    access_log $work/$2/access.log t;
    upstream b { server 127.0.0.1:$backend; keepalive 16; }
    server {
        listen 127.0.0.1:$1;
        proxy_temp_path $work/$2/proxy_temp;
        client_body_temp_path $work/$2/client_body_temp;
        client_max_body_size 2m;
        location / { proxy_pass http://b; proxy_http_version 1.1;
                     proxy_set_header Connection ""; proxy_buffering $MODE;
                     proxy_request_buffering $RBUF; }
    }
}
EOF
}

slow_client() { # PORT: read 16 MiB at RATE MiB/s
	taskset -c "$LOAD_CPU" python3 - "$1" "$RATE" <<'EOF'
import socket, sys, time
port, rate = int(sys.argv[1]), float(sys.argv[2]) * (1 << 20)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect(('127.0.0.1', port))
s.sendall(b'GET /size/16777216?slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
t0, n = time.monotonic(), 0
while True:
    d = s.recv(65536)
    if not d:
        break
    n += len(d)
    ahead = n / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
EOF
}

printf '%-6s %-4s %14s %14s %10s %8s\n' target buf 'upstream(s)' 'client(s)' 'req/s' 'MB/s'
for target in nginx lbd; do
	for MODE in on off; do
		start_target "$target"
		slow_client "$port"
		sleep 0.3 # the access log line is written after the last byte
		read -r up rt < <(awk '/\?slow/ {u = $2; r = $3} END {print u, r}' "$work/$target/access.log")
		out=$(taskset -c "$LOAD_CPU" timeout $((DURATION + 10)) wrk -t1 -c"$CONNS" \
			-d"${DURATION}s" "http://127.0.0.1:$port/size/1048576")
		rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
		mbs=$(awk '/^Transfer\/sec/ {v = $2; if (v ~ /GB/) v *= 1024; sub(/[A-Za-z]+$/, "", v); print v}' <<<"$out")
		printf '%-6s %-4s %14s %14s %10s %8s\n' "$target" "$MODE" "$up" "$rt" "$rps" "$mbs"
		kill -QUIT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
done

# Request bodies: 1 MiB POSTs, proxy_request_buffering on / off.
cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
echo
printf '%-6s %-7s %10s %8s %14s\n' target reqbuf 'req/s' 'MB/s' 'cpu ms/req'
MODE=on
for target in nginx lbd; do
	for RBUF in on off; do
		start_target "$target"
		c0=$(proc_ticks "$pid")
		out=$(taskset -c "$LOAD_CPU" timeout $((DURATION + 10)) wrk -t1 -c"$CONNS" \
			-d"${DURATION}s" -s "$work/post.lua" "http://127.0.0.1:$port/bench")
		c1=$(proc_ticks "$pid")
		rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
		n=$(awk '/requests in/ {print $1}' <<<"$out")
		mbs=$(awk -v r="$rps" 'BEGIN {printf "%.0f", r * 1.048576}')
		cpu=$(awk -v t=$((c1 - c0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN {printf "%.3f", n ? t * 1000 / hz / n : 0}')
		printf '%-6s %-7s %10s %8s %14s\n' "$target" "$RBUF" "$rps" "$mbs" "$cpu"
		kill -QUIT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
done
