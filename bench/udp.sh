#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP proxying (`listen ... udp`): the proxy's CPU time (utime+stime from
# /proc) per 1000 datagrams relayed both ways, lbd against nginx 1.22, same
# config, one worker each, same run. A Python client on its own CPU keeps
# $CLIENTS sockets each with one datagram in flight (64 bytes) to a Python
# echo backend through the proxy, $COUNT round trips per case:
#   session    one session per client socket for the whole run
#   per-dgram  proxy_requests 1 + proxy_responses 1: every datagram is a
#              new session (pick, connect, log line), DNS-like
# Usage: bench/udp.sh            (LBD_BIN, NGINX_BIN, COUNT, CLIENTS)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
LBD_BIN=${LBD_BIN:-build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
COUNT=${COUNT:-100000}
CLIENTS=${CLIENTS:-32}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
pin=/sys/fs/bpf/lbd-bench-udp-$$
bench_workdir lbd-bench-udp "$pin"

cat >"$work/echo.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)
EOF
cat >"$work/load.py" <<'EOF'
import selectors, socket, sys, time
port, count, clients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sel = selectors.EpollSelector()
socks = []
for i in range(clients):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.setblocking(False)
    c.connect(('127.0.0.1', port))
    sel.register(c, selectors.EVENT_READ)
    socks.append(c)
msg = b'x' * 64
sent = got = 0
for c in socks:
    c.send(msg); sent += 1
deadline = time.monotonic() + 120
while got < count and time.monotonic() < deadline:
    ev = sel.select(1.0)
    if not ev:  # a datagram was lost: send again on every socket
        for c in socks:
            c.send(msg); sent += 1
        continue
    for key, _ in ev:
        c = key.fileobj
        try:
            while True:
                c.recv(65536); got += 1
                if sent < count + clients:
                    c.send(msg); sent += 1
        except BlockingIOError:
            pass
print(got)
EOF

backend=$(python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
taskset -c "$LOAD_CPU" python3 "$work/echo.py" "$backend" &
pids+=("$!")

run() { # NAME BIN MODE
	local name=$1 bin=$2 mode=$3 uport tport extra=""
	uport=$(free_port)
	tport=$(free_port)
	[[ $mode == per-dgram ]] && extra="proxy_requests 1; proxy_responses 1;"
	local main=""
	[[ $name == lbd ]] && main="bpf_pin_path $pin;"
	mkdir -p "$work/$name/logs"
	cat >"$work/$name/nginx.conf" <<CONF
load_module /usr/share/nginx/modules/ngx_stream_module.so;
$main
daemon off;
worker_processes 1;
pid $work/$name/nginx.pid;
error_log $work/$name/error.log error;
events { worker_connections 4096; }
stream {
    log_format s "\$remote_addr \$protocol \$status \$bytes_sent \$bytes_received \$upstream_addr";
    access_log $work/$name/stream.log s;
    server { listen 127.0.0.1:$tport; return ok; }
    server { listen 127.0.0.1:$uport udp; proxy_pass 127.0.0.1:$backend; $extra }
}
CONF
	taskset -c "$PROXY_CPU" "$bin" -p "$work/$name/" -c "$work/$name/nginx.conf" \
		>"$work/$name/out" 2>&1 &
	local ppid=$!
	pids+=("$ppid")
	wait_port "$tport" || { cat "$work/$name/out" "$work/$name/error.log" >&2; exit 1; }
	# nginx: the worker does the work; lbd: one process
	local wpid=$ppid
	if [[ $name == nginx* ]]; then
		sleep 0.3
		wpid=$(pgrep -P "$ppid" | head -1)
	fi
	local t0 t1 got
	t0=$(proc_ticks "$wpid")
	got=$(taskset -c "$LOAD_CPU" python3 "$work/load.py" "$uport" "$COUNT" "$CLIENTS")
	t1=$(proc_ticks "$wpid")
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	local hz
	hz=$(getconf CLK_TCK)
	awk -v n="$name" -v m="$mode" -v g="$got" -v d=$((t1 - t0)) -v hz="$hz" \
		'BEGIN { printf "%-6s %-9s %7d round trips  %6.1f ms CPU / 1000\n",
			n, m, g, d * 1000 / hz / (g / 1000) }'
}

for mode in session per-dgram; do
	run lbd "$LBD_BIN" "$mode"
	run nginx "$NGINX_BIN" "$mode"
done
