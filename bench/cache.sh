#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Proxy cache hits: lbd vs nginx in one run, same machine, same config text,
# one worker each. Every request is a HIT (the objects are fetched once
# before the clock starts and checked to come back with
# X-Cache: HIT), so the backend is idle while measuring. Prints requests/s
# and MB/s for a 1 KiB and a 1 MiB object, and the lbd/nginx ratios.
#
# Environment (defaults in brackets):
#   DURATION=S    seconds per measured cell [5]
#   WARMUP=S      unmeasured seconds before each cell [1]
#   CONNS=N       wrk connections for the 1 KiB cell [50]
#   BIG_CONNS=N   wrk connections for the 1 MiB cell [4]
#   PROXY_CPUS=L  taskset list for the proxy [0]
#   LOAD_CPUS=L   taskset list for wrk and the backend [1]
#   LBD_BIN NGINX_BIN WRK_BIN BACKEND_BIN   binaries to use
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
BIG_CONNS=${BIG_CONNS:-4}
PROXY_CPUS=${PROXY_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-wrk}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

pids=()
work=$(mktemp -d /tmp/lbd-bench-cache.XXXXXX)
chmod 755 "$work" # nginx workers run as nobody
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
die() {
	echo "bench/cache: $*" >&2
	exit 1
}
command -v "$WRK_BIN" >/dev/null || die "wrk not found"
[[ -x "$LBD_BIN" && -x "$BACKEND_BIN" ]] || die "run make first"


# backend
taskset -c "$LOAD_CPUS" "$BACKEND_BIN" -q -t 1 -n bench -l 127.0.0.1:0 >"$work/backend.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	grep -q '^listening ' "$work/backend.out" && break
	sleep 0.1
done
bport=$(awk '/^listening /{n = split($3, a, ":"); print a[n]; exit}' "$work/backend.out")
[[ -n "$bport" ]] || die "backend did not start"

conf() { # conf PREFIX PORT
	cat <<C
daemon off;
master_process on;
worker_processes 1;
pid $1/logs/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    proxy_cache_path $1/cache levels=1:2 keys_zone=bench:10m max_size=1g;
    upstream b { server 127.0.0.1:$bport; keepalive 16; }
    server {
        listen 127.0.0.1:$2;
        location / {
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_valid 200 1h;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
C
}

declare -A rps mbs
for target in nginx lbd; do
	bin=$NGINX_BIN
	[[ $target == lbd ]] && bin=$LBD_BIN
	prefix="$work/$target"
	mkdir -p "$prefix/conf" "$prefix/logs"
	port=$(free_port)
	conf "$prefix" "$port" >"$prefix/conf/nginx.conf"
	taskset -c "$PROXY_CPUS" "$bin" -p "$prefix/" -c conf/nginx.conf >"$prefix/logs/out" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	for cell in 1k 1m; do
		path=/size/1024
		conns=$CONNS
		[[ $cell == 1m ]] && path=/size/1048576 && conns=$BIG_CONNS
		url="http://127.0.0.1:$port$path"
		curl -s -o /dev/null "$url"
		xc=$(curl -s -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
		[[ $xc == HIT ]] || die "$target: $path is not a HIT ($xc)"
		taskset -c "$LOAD_CPUS" "$WRK_BIN" -t 1 -c "$conns" -d "${WARMUP}s" "$url" >/dev/null 2>&1
		out=$(taskset -c "$LOAD_CPUS" "$WRK_BIN" -t 1 -c "$conns" -d "${DURATION}s" --timeout 10s \
			-s "$root/bench/report.lua" "$url" 2>&1)
		line=$(grep '^RESULT' <<<"$out") || die "$target $cell: wrk failed: $out"
		req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
		us=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$line")
		bytes=$(sed -E 's/.* bytes=([0-9]+).*/\1/' <<<"$line")
		bad=$(sed -E 's/.*status=([0-9]+).*/\1/' <<<"$line")
		[[ $bad == 0 ]] || echo "bench/cache: $target $cell: $bad non-2xx answers" >&2
		rps[$target.$cell]=$(awk -v r="$req" -v u="$us" 'BEGIN{printf "%.0f", r * 1e6 / u}')
		mbs[$target.$cell]=$(awk -v b="$bytes" -v u="$us" 'BEGIN{printf "%.1f", b / u}')
	done
	kill -QUIT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

printf '%-22s %12s %12s %12s %12s %8s %8s\n' "cache hits (1 worker)" "nginx req/s" "lbd req/s" \
	"nginx MB/s" "lbd MB/s" "req x" "MB/s x"
for cell in 1k 1m; do
	label="1 KiB object"
	[[ $cell == 1m ]] && label="1 MiB object"
	printf '%-22s %12s %12s %12s %12s %8s %8s\n' "$label" "${rps[nginx.$cell]}" \
		"${rps[lbd.$cell]}" "${mbs[nginx.$cell]}" "${mbs[lbd.$cell]}" \
		"$(awk -v a="${rps[lbd.$cell]}" -v b="${rps[nginx.$cell]}" 'BEGIN{printf "%.2f", a / b}')" \
		"$(awk -v a="${mbs[lbd.$cell]}" -v b="${mbs[nginx.$cell]}" 'BEGIN{printf "%.2f", a / b}')"
done
