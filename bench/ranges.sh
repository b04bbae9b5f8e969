#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Byte ranges on static files: lbd vs nginx in one run, same machine, same
# config text, one worker each. Cells: one 64 KiB range from the middle of
# a 64 MiB file, a multipart answer of three 4 KiB parts from it, and the
# whole 64 KiB file as the baseline. Prints requests/s and the proxy's CPU
# per request (utime+stime from /proc, microseconds), and the lbd/nginx
# ratios. Every answer is checked once (status and length) before the clock.
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

bench_workdir lbd-bench-ranges
mkdir -p "$work/www"
head -c $((64 << 20)) /dev/urandom >"$work/www/big.bin"
head -c 65536 /dev/urandom >"$work/www/small.bin"

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
    }
}
CONF
}

cells=("single|/big.bin|bytes=33554432-33619967|206"
	"multi|/big.bin|bytes=0-4095,33554432-33558527,-4096|206"
	"whole|/small.bin||200")

declare -A rps cpu
for target in lbd nginx; do
	start_target "$target"
	for cell in "${cells[@]}"; do
		IFS='|' read -r name path range want <<<"$cell"
		hdr=()
		[[ -n $range ]] && hdr=(-H "Range: $range")
		got=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "http://127.0.0.1:$port$path")
		[[ $got == "$want" ]] || { echo "$target $name: got $got, want $want" >&2; exit 1; }
		t0=$(proc_ticks "$pid")
		out=$(taskset -c "$LOAD_CPUS" "$WRK_BIN" -t 1 -c "$CONNS" -d "${DURATION}s" \
			"${hdr[@]}" "http://127.0.0.1:$port$path")
		t1=$(proc_ticks "$pid")
		n=$(awk '/requests in/{print $1}' <<<"$out")
		rps[$target,$name]=$(awk -v n="$n" -v d="$DURATION" 'BEGIN{printf "%.0f", n / d}')
		cpu[$target,$name]=$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
	done
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
done

printf '%-8s %12s %12s %8s %14s %14s %8s\n' cell lbd_req/s nginx_req/s ratio \
	lbd_us/req nginx_us/req ratio
for cell in "${cells[@]}"; do
	name=${cell%%|*}
	printf '%-8s %12s %12s %8s %14s %14s %8s\n' "$name" "${rps[lbd,$name]}" \
		"${rps[nginx,$name]}" \
		"$(awk -v a="${rps[lbd,$name]}" -v b="${rps[nginx,$name]}" 'BEGIN{printf "%.2f", a / b}')" \
		"${cpu[lbd,$name]}" "${cpu[nginx,$name]}" \
		"$(awk -v a="${cpu[lbd,$name]}" -v b="${cpu[nginx,$name]}" 'BEGIN{printf "%.2f", a / b}')"
done
