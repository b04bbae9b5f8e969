#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# uwsgi_pass, lbd against nginx in one run: each proxy (one worker on
# PROXY_CPU) passes every request to the same uWSGI server (python3
# plugin, APP_PROCS worker processes, on LOAD_CPU with wrk) running a WSGI
# hello world, through Debian's uwsgi_params. Rows:
#   tcp      uwsgi_pass 127.0.0.1:PORT
#   unix     uwsgi_pass unix:SOCK
# A new uwsgi connection per request in both (nginx keeps none either).
# Reported: requests/s (bounded by uWSGI on this 2-core machine) and the
# proxy's CPU microseconds per request (from /proc/PID/stat), the figure to
# compare. Every wrk run is bounded by DURATION.
#
#   bench/uwsgi.sh   [DURATION=5] [CONNS=APP_PROCS] [PROXY_CPU=0] [LOAD_CPU=1] [APP_PROCS=4]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
APP_PROCS=${APP_PROCS:-4}
CONNS=${CONNS:-$APP_PROCS}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
UWSGI_BIN=${UWSGI_BIN:-/usr/bin/uwsgi}

make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir uwsgibench

cat >"$work/app.py" <<'APP'
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'hello\n']
APP
app_port=$(free_port)
for l in "127.0.0.1:$app_port" "$work/app.sock"; do
	taskset -c "$LOAD_CPU" "$UWSGI_BIN" --plugin python3 --socket "$l" --chmod-socket=666 \
		--wsgi-file "$work/app.py" --master --processes "$APP_PROCS" --die-on-term \
		--disable-logging --logto "$work/uwsgi.log" >/dev/null 2>&1 &
	pids+=($!)
done
wait_port "$app_port"
for _ in $(seq 100); do [[ -S $work/app.sock ]] && break; sleep 0.05; done

MODE=tcp
nginx_conf() { # PORT NAME
	local pass="127.0.0.1:$app_port"
	[[ $MODE == unix ]] && pass="unix:$work/app.sock"
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$1;
        keepalive_requests 1000000;
        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_pass $pass;
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
for MODE in ${MODES:-tcp unix}; do
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
