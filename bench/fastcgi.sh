#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# FastCGI, lbd against nginx in one run: each proxy (one worker on
# PROXY_CPU) passes every request to the same php-fpm 8.2 (pm static,
# FPM_CHILDREN children, on LOAD_CPU with wrk) running a hello-world
# script. Rows:
#   unix     fastcgi_pass unix:SOCK, a new FastCGI connection per request
#   keep     fastcgi_pass to an upstream with `keepalive FPM_CHILDREN` over TCP and
#            fastcgi_keep_conn on: connections reused
# Reported: requests/s (bounded by php-fpm on this 2-core machine) and the
# proxy's CPU microseconds per request (from /proc/PID/stat), the figure to
# compare. Every wrk run is bounded by DURATION.
#
#   bench/fastcgi.sh   [DURATION=5] [CONNS=FPM_CHILDREN] [PROXY_CPU=0] [LOAD_CPU=1] [FPM_CHILDREN=4]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
FPM_CHILDREN=${FPM_CHILDREN:-4}
CONNS=${CONNS:-$FPM_CHILDREN}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
FPM_BIN=${FPM_BIN:-/usr/sbin/php-fpm8.2}

make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir fcgibench

mkdir -p "$work/www"
printf '<?php echo "hello\\n";\n' >"$work/www/hello.php"
fpm_port=$(free_port)
cat >"$work/fpm.conf" <<CONF
[global]
pid = $work/fpm.pid
error_log = $work/fpm.log
daemonize = no
[unix]
listen = $work/php.sock
listen.mode = 0666
user = root
group = root
pm = static
pm.max_children = $FPM_CHILDREN
[tcp]
listen = 127.0.0.1:$fpm_port
user = root
group = root
pm = static
pm.max_children = $FPM_CHILDREN
CONF
taskset -c "$LOAD_CPU" "$FPM_BIN" -R -F -y "$work/fpm.conf" >/dev/null 2>&1 &
pids+=($!)
wait_port "$fpm_port"
for _ in $(seq 100); do [[ -S $work/php.sock ]] && break; sleep 0.05; done

MODE=unix
nginx_conf() { # PORT NAME
	local pass="unix:$work/php.sock" keep=""
	[[ $MODE == keep ]] && pass=php && keep="fastcgi_keep_conn on;"
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream php { server 127.0.0.1:$fpm_port; keepalive $FPM_CHILDREN; }
    server {
        listen 127.0.0.1:$1;
        keepalive_requests 1000000;
        root $work/www;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi.conf;
            fastcgi_pass $pass;
            $keep
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
for MODE in ${MODES:-unix keep}; do
	for name in $TARGETS; do
		start_target "$name"
		taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" -d 1 "http://127.0.0.1:$port/hello.php" >/dev/null
		t0=$(proc_ticks "$pid")
		out=$(taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" -d "$DURATION" "http://127.0.0.1:$port/hello.php")
		t1=$(proc_ticks "$pid")
		rps=$(wrk_rps "$out")
		err=$(wrk_errors "$out")
		reqs=$(awk -v r="$rps" -v d="$DURATION" 'BEGIN { print r * d }')
		cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" \
			'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
		printf '%-8s %-7s %12.0f %12s %s\n' "$name" "$MODE" "$rps" "$cpu" \
			"$([[ $err != 0 ]] && echo "errors=$err")"
		[[ $err != 0 && -n ${KEEP_ERR:-} ]] && cp "$work/$name.err" "$KEEP_ERR.$name.$MODE"
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
done
# A php-fpm child serves one connection at a time: with fastcgi_keep_conn,
# connections beyond pm.max_children wait in php-fpm's backlog while the
# pooled ones keep the children (wrk timeouts with nginx and lbd alike), so
# CONNS defaults to FPM_CHILDREN.
