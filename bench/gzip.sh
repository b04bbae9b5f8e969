#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gzip: lbd vs nginx requests/s on one 64 KiB text response compressed at
# gzip_comp_level 1, one worker each, same config text, in one run. Two
# rows: the response proxied from a backend (an nginx serving the file,
# uncompressed) and the file served by the proxy itself. The proxy runs on
# PROXY_CPU, wrk and the backend on LOAD_CPU; every wrk run is bounded.
#
#   bench/gzip.sh      [DURATION=5] [CONNS=16] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
make -s -C "$root" build/lbd
work=$(mktemp -d /tmp/lbd-gzbench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -QUIT "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT


# 64 KiB of text that compresses about 5:1, like HTML or JSON
mkdir -p "$work/www"
python3 - "$work/www/page.txt" <<'EOF'
import sys
out, i = [], 0
while sum(map(len, out)) < 65536:
    out.append(b'<li id="item-%d" class="row">entry %d of the list, value %x</li>\n' % (i, i * 7919 % 10007, i * 131))
    i += 1
open(sys.argv[1], 'wb').write(b''.join(out)[:65536])
EOF
chmod -R a+rX "$work/www"

nginx_static_backend "$LOAD_CPU"

conf() { # PORT NAME: the config nginx and lbd share
	cat <<EOF
daemon off;
worker_processes 1;
pid $work/$2/pid;
error_log $work/$2/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    gzip on;
    gzip_comp_level 1;
    gzip_types text/plain;
    server {
        listen 127.0.0.1:$1;
        location /proxy/ { proxy_pass http://127.0.0.1:$backend/; proxy_http_version 1.1;
                           proxy_set_header Connection ""; }
        location /static/ { alias $work/www/; }
    }
}
EOF
}

declare -A rps
for name in nginx lbd; do
	port=$(free_port)
	mkdir -p "$work/$name/logs"
	conf "$port" "$name" >"$work/$name/nginx.conf"
	bin=$NGINX_BIN
	[[ $name == lbd ]] && bin=$LBD_BIN
	taskset -c "$PROXY_CPU" "$bin" -p "$work/$name/" -c "$work/$name/nginx.conf" \
		>"$work/$name/out" 2>&1 &
	pid=$!
	pids+=($pid)
	wait_port "$port" || { echo "$name did not start: $(head -c 300 "$work/$name/out")" >&2; exit 1; }
	for row in proxy static; do
		url="http://127.0.0.1:$port/$row/page.txt"
		# the check: a gzip body that decompresses to the file
		curl -sf --max-time 5 -H 'Accept-Encoding: gzip' "$url" | gunzip | cmp -s - "$work/www/page.txt" ||
			{ echo "$name /$row/: not the gzipped file" >&2; exit 1; }
		out=$(timeout -k 5 $((DURATION + 30)) taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" \
			-d "${DURATION}s" -H 'Accept-Encoding: gzip' "$url" 2>&1 || true)
		rps[$name.$row]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
		[[ -n ${rps[$name.$row]} ]] || rps[$name.$row]=0
	done
	kill -QUIT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

printf 'gzip_comp_level 1, 64 KiB text, 1 worker on CPU %s, wrk -c %s %ss on CPU %s\n' \
	"$PROXY_CPU" "$CONNS" "$DURATION" "$LOAD_CPU"
printf '%-22s %10s %10s %10s\n' "row" "nginx" "lbd" "lbd/nginx"
for row in proxy static; do
	n=${rps[nginx.$row]} l=${rps[lbd.$row]}
	ratio=$(awk -v a="$l" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-22s %10s %10s %10s\n' "$row (req/s)" "$n" "$l" "$ratio"
done
