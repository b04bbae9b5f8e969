#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Upgraded streams (WebSockets) through lbd's two paths (sockmap, splice(2)
# relay), nginx and HAProxy, and direct to the backend as the ceiling, in
# one run: 64-byte ping-pong round trip p50/p99 on one stream, and one
# bulk stream's Gbit/s with the proxy's CPU seconds per GiB. The proxy runs
# on PROXY_CPU, the client and the backend (build/wsbench) on LOAD_CPU.
#
#   bench/ws.sh            [PINGS=20000] [BULK_MB=2048] [PROXY_CPU=0] [LOAD_CPU=1]
#                          [VERIFY_RUNS=3] [VERIFY_MB=1024]
#
# The last column, exact, counts streams of VERIFY_MB (wsbench verify: every
# byte checked for its position) that arrived byte-exact, of VERIFY_RUNS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
PINGS=${PINGS:-20000}
BULK_MB=${BULK_MB:-2048}
VERIFY_RUNS=${VERIFY_RUNS:-3}
VERIFY_MB=${VERIFY_MB:-1024}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
WS=$root/build/wsbench

make -s -C "$root" build/lbd build/wsbench
work=$(mktemp -d /tmp/lbd-wsbench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work" /sys/fs/bpf/lbd-wsbench
}
trap cleanup EXIT


backend=$(free_port)
taskset -c "$LOAD_CPU" "$WS" server "$backend" &
pids+=($!)
wait_port "$backend"

nginx_conf() { # PORT EXTRA
	cat <<EOF
worker_processes 1;
pid $work/\$name.pid;
error_log $work/\$name.err;
events { worker_connections 4096; }
$2
http {
    access_log off;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://127.0.0.1:$backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 3600s;
            $3
        }
    }
}
EOF
}

start() { # NAME -> sets port, pid
	local name=$1
	port=$(free_port)
	mkdir -p "$work/$name/logs"
	case $name in
	direct)
		port=$backend
		pid=""
		return 0
		;;
	nginx)
		nginx_conf "$port" "" "" | sed "s/\\\$name/$name/g" >"$work/$name.conf"
		taskset -c "$PROXY_CPU" "$NGINX_BIN" -p "$work/$name/" -c "$work/$name.conf" \
			-g 'daemon off; master_process off;' 2>/dev/null &
		;;
	haproxy)
		cat >"$work/$name.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend f
    bind 127.0.0.1:$port
    default_backend b
backend b
    server s1 127.0.0.1:$backend
EOF
		taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$work/$name.cfg" 2>/dev/null &
		;;
	lbd-sockmap | lbd-splice)
		local ks=on
		[[ $name == lbd-splice ]] && ks=off
		nginx_conf "$port" "bpf_pin_path /sys/fs/bpf/lbd-wsbench; reuseport_steering off;" \
			"kernel_splice $ks;" | sed "s/\\\$name/$name/g" >"$work/$name.conf"
		taskset -c "$PROXY_CPU" "$LBD_BIN" -p "$work/$name/" -c "$work/$name.conf" 2>/dev/null &
		;;
	esac
	pid=$!
	pids+=("$pid")
	wait_port "$port"
}

printf '%-12s %12s %12s %12s %16s %6s\n' target p50_us p99_us bulk_gbit_s proxy_cpu_s/GiB exact
for t in direct lbd-sockmap lbd-splice nginx haproxy; do
	start "$t" || {
		printf '%-12s did not start\n' "$t"
		continue
	}
	pp=$(taskset -c "$LOAD_CPU" "$WS" pingpong "$port" "$PINGS" 64 2>&1) || pp="failed failed"
	c0=$([[ -n $pid ]] && proc_ticks "$pid" || echo 0)
	# a wrong byte count is printed as such (never a number)
	gb=$(taskset -c "$LOAD_CPU" "$WS" bulk "$port" $((BULK_MB << 20)) 2>&1) ||
		gb="WRONG:${gb##*: }"
	c1=$([[ -n $pid ]] && proc_ticks "$pid" || echo 0)
	cpu=$(awk -v a="$c0" -v b="$c1" -v mb="$BULK_MB" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f", (b - a) / hz / (mb / 1024) }')
	[[ -z $pid ]] && cpu=-
	read -r p50 p99 <<<"$pp"
	ok=0
	for _ in $(seq "$VERIFY_RUNS"); do
		taskset -c "$LOAD_CPU" "$WS" verify "$port" $((VERIFY_MB << 20)) >/dev/null 2>&1 &&
			ok=$((ok + 1))
	done
	printf '%-12s %12s %12s %12s %16s %6s\n' "$t" "$p50" "$p99" "$gb" "$cpu" "$ok/$VERIFY_RUNS"
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
done
