#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Directory listings (autoindex): lbd vs nginx in one run, same machine,
# same config text, one worker each. Cells: html and json listings of a
# 3000-entry directory, an html listing of a 20-entry one. Prints
# requests/s and the proxy's CPU per request (utime+stime from /proc,
# microseconds), the lbd/nginx ratios, and each proxy's peak RSS (VmHWM,
# KiB) after a 100000-entry listing. Every answer is checked once (status
# and the body equal between the two) before the clock.
#
# Environment (defaults in brackets):
#   DURATION=S    seconds per measured cell [5]
#   CONNS=N       wrk connections [8]
#   PROXY_CPU=N   the proxy's CPU [0]
#   LOAD_CPUS=L   taskset list for wrk [1]
#   LBD_BIN NGINX_BIN WRK_BIN   binaries to use
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-wrk}
command -v "$WRK_BIN" >/dev/null || { echo "wrk not found" >&2; exit 1; }
[[ -x $LBD_BIN ]] || { echo "run make first" >&2; exit 1; }

bench_workdir lbd-bench-autoindex
mkdir -p "$work/www/many" "$work/www/few" "$work/www/huge"
python3 - "$work/www" <<'PY'
import os, sys
w = sys.argv[1]
for d, n in (('many', 3000), ('few', 20), ('huge', 100000)):
    for i in range(n):
        p = os.path.join(w, d, 'entry-%06d-%s.dat' % (i, 'x' * (i % 30)))
        with open(p, 'wb') as f:
            f.truncate(i * 37)
        os.utime(p, (1600000000 + i, 1600000000 + i))
PY

nginx_conf() { # PORT NAME
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$1;
        root $work/www;
        autoindex on;
        location /j/ { alias $work/www/; autoindex_format json; }
    }
}
CONF
}

cells=("html3000|/many/" "json3000|/j/many/" "html20|/few/")

declare -A rps cpu rss
for target in lbd nginx; do
	start_target "$target"
	for cell in "${cells[@]}"; do
		IFS='|' read -r name path <<<"$cell"
		curl -sf -o "$work/$target.$name" "http://127.0.0.1:$port$path"
		t0=$(proc_ticks "$pid")
		out=$(taskset -c "$LOAD_CPUS" "$WRK_BIN" -t 1 -c "$CONNS" -d "${DURATION}s" \
			"http://127.0.0.1:$port$path")
		t1=$(proc_ticks "$pid")
		n=$(awk '/requests in/{print $1}' <<<"$out")
		rps[$target,$name]=$(awk -v n="$n" -v d="$DURATION" 'BEGIN{printf "%.0f", n / d}')
		cpu[$target,$name]=$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
	done
	curl -sf -o /dev/null "http://127.0.0.1:$port/huge/"
	# nginx: the worker is the process started (master_process off)
	rss[$target]=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
done
for cell in "${cells[@]}"; do
	name=${cell%%|*}
	cmp -s "$work/lbd.$name" "$work/nginx.$name" || { echo "$name: bodies differ" >&2; exit 1; }
done

printf '%-9s %12s %12s %8s %14s %14s %8s\n' cell lbd_req/s nginx_req/s ratio \
	lbd_us/req nginx_us/req ratio
for cell in "${cells[@]}"; do
	name=${cell%%|*}
	printf '%-9s %12s %12s %8s %14s %14s %8s\n' "$name" "${rps[lbd,$name]}" \
		"${rps[nginx,$name]}" \
		"$(awk -v a="${rps[lbd,$name]}" -v b="${rps[nginx,$name]}" 'BEGIN{printf "%.2f", a / b}')" \
		"${cpu[lbd,$name]}" "${cpu[nginx,$name]}" \
		"$(awk -v a="${cpu[lbd,$name]}" -v b="${cpu[nginx,$name]}" 'BEGIN{printf "%.2f", a / b}')"
done
echo "peak RSS after a 100000-entry listing (KiB): lbd ${rss[lbd]}, nginx ${rss[nginx]}"
