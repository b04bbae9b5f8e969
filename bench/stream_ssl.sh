#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# TLS terminated in `stream {}` (`listen ... ssl`, plain TCP to the
# backend), lbd against nginx in one run. A Python TLS client on LOAD_CPU
# sends MB MiB up to a sink backend (which answers the count), then asks
# the backend for MB MiB down; each proxy runs one worker on PROXY_CPU.
# Columns, per target, the best of RUNS:
#
#   up_MBps down_MBps    MiB/s of the transfer (wall clock; the Python
#                        client is often the bottleneck: compare the two
#                        targets within one run, not with other runs)
#   up_cpu down_cpu      proxy CPU seconds per GiB (/proc/PID/stat utime +
#                        stime), the number to compare on this shared box
#
#   bench/stream_ssl.sh  [TARGETS="lbd nginx"] [MB=256] [RUNS=3]
#                        [PROXY_CPU=0] [LOAD_CPU=1]
#
# Only 127.0.0.1; every process started is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=${TARGETS:-lbd nginx}
MB=${MB:-256}
RUNS=${RUNS:-3}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

bench_workdir stream-ssl-bench
tls_cert

cat >"$work/backend.py" <<'PY'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
buf = bytes(1 << 16)
def serve(c):
    first = c.recv(64)
    if first.startswith(b'down '):
        n = int(first.split()[1])
        while n > 0:
            k = c.send(buf[:min(n, len(buf))])
            n -= k
    else:
        n = len(first)
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            n += len(d)
        c.sendall(b'%d\n' % n)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

cat >"$work/client.py" <<'PY'
import socket, ssl, sys, time
port, mode, mb = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=60))
n = mb << 20
t0 = time.monotonic()
if mode == 'up':
    chunk = b'x' * (1 << 16)
    left = n
    while left > 0:
        left -= s.send(chunk[:min(left, len(chunk))])
    socket.socket.shutdown(s, socket.SHUT_WR)  # a FIN, no close_notify
    got = b""
    while not got.endswith(b'\n'):
        d = s.recv(64)
        if not d:
            break
        got += d
    assert int(got) == n, got
else:
    s.sendall(b'down %d\n' % n)
    got = 0
    while got < n:
        d = s.recv(1 << 16)
        if not d:
            break
        got += len(d)
    assert got == n, got
print('%.3f' % (time.monotonic() - t0))
PY

taskset -c "$LOAD_CPU" python3 "$work/backend.py" >"$work/backend.port" &
pids+=($!)
for _ in $(seq 100); do
	backend=$(cat "$work/backend.port")
	[[ -n $backend ]] && break
	sleep 0.05
done

nginx_conf() {
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
load_module /usr/share/nginx/modules/ngx_stream_module.so;
events { worker_connections 1024; }
stream {
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $work/crt.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        proxy_pass 127.0.0.1:$backend;
        proxy_half_close on;
    }
}
CONF
}

printf '%-8s %9s %9s %8s %8s\n' target up_MBps down_MBps up_cpu down_cpu
for target in $TARGETS; do
	start_target "$target"
	line=$target
	for mode in up down; do
		best_s=0 best_cpu=0
		for _ in $(seq "$RUNS"); do
			t0=$(proc_ticks "$pid")
			secs=$(timeout 300 taskset -c "$LOAD_CPU" python3 "$work/client.py" "$port" "$mode" "$MB")
			t1=$(proc_ticks "$pid")
			cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v mb="$MB" \
				'BEGIN{printf "%.2f", d / hz * 1024 / mb}')
			if [[ $best_s == 0 ]] || awk -v a="$secs" -v b="$best_s" 'BEGIN{exit !(a < b)}'; then
				best_s=$secs best_cpu=$cpu
			fi
		done
		line="$line $(awk -v s="$best_s" -v mb="$MB" 'BEGIN{printf "%.0f", mb / s}') $best_cpu"
	done
	read -r t u ucpu d dcpu <<<"$line"
	printf '%-8s %9s %9s %8s %8s\n' "$t" "$u" "$d" "$ucpu" "$dcpu"
	kill -QUIT "$pid" 2>/dev/null || true
	sleep 0.5
done
