#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gunzip: lbd vs nginx requests/s and CPU per request on one 64 KiB text
# answer stored gzipped (about 7:1) and inflated for clients that send no
# Accept-Encoding, one worker each, same config text, in one run. Two
# rows: the answer proxied from a backend (an nginx with gzip_static
# always, so it answers with Content-Encoding: gzip) and the .gz file
# served by the proxy itself (gzip_static always). The proxy runs on
# PROXY_CPU, wrk and the backend on LOAD_CPU; every wrk run is bounded.
#
#   bench/gunzip.sh    [DURATION=5] [CONNS=16] [PROXY_CPU=0] [LOAD_CPU=1]
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
bench_workdir lbd-gunzipbench

# 64 KiB of text that compresses about 7:1, like HTML or JSON; only the
# .gz exists
mkdir -p "$work/www"
python3 - "$work/www/page.txt" <<'EOF'
import gzip, sys
out, i = [], 0
while sum(map(len, out)) < 65536:
    out.append(b'<li id="item-%d" class="row">entry %d of the list, value %x</li>\n' % (i, i * 7919 % 10007, i * 131))
    i += 1
body = b''.join(out)[:65536]
open(sys.argv[1], 'wb').write(body)
open(sys.argv[1] + '.gz', 'wb').write(gzip.compress(body, 6))
EOF
mv "$work/www/page.txt" "$work/page.txt"
chmod -R a+rX "$work/www"

backend=$(free_port)
mkdir -p "$work/backend/logs"
cat >"$work/backend/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/backend/nginx.pid;
error_log $work/backend/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    server { listen 127.0.0.1:$backend; location / { root $work/www; gzip_static always; } }
}
EOF
taskset -c "$LOAD_CPU" "$NGINX_BIN" -p "$work/backend/" -c "$work/backend/nginx.conf" &
pids+=($!)
wait_port "$backend"

conf() { # PORT NAME: the config nginx and lbd share
	cat <<EOF
daemon off;
worker_processes 1;
pid $work/$2/pid;
error_log $work/$2/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    gunzip on;
    server {
        listen 127.0.0.1:$1;
        location /proxy/ { proxy_pass http://127.0.0.1:$backend/; proxy_http_version 1.1;
                           proxy_set_header Connection ""; }
        location /static/ { alias $work/www/; gzip_static always; }
    }
}
EOF
}

declare -A rps cpu
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
	# nginx works in its worker, lbd in its one process
	wpid=$pid
	[[ $name == nginx ]] && wpid=$(pgrep -P "$pid" | head -1)
	for row in proxy static; do
		url="http://127.0.0.1:$port/$row/page.txt"
		# the check: the plain text, byte for byte
		curl -sf --max-time 5 "$url" | cmp -s - "$work/page.txt" ||
			{ echo "$name /$row/: not the plain file" >&2; exit 1; }
		t0=$(proc_ticks "$wpid")
		out=$(timeout -k 5 $((DURATION + 30)) taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" \
			-d "${DURATION}s" "$url" 2>&1 || true)
		t1=$(proc_ticks "$wpid")
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		rps[$name.$row]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
		[[ -n ${rps[$name.$row]} ]] || rps[$name.$row]=0
		# CPU microseconds per request (clock ticks of 10 ms)
		cpu[$name.$row]=$(awk -v t=$((t1 - t0)) -v n="${reqs:-0}" \
			'BEGIN { if (n > 0) printf "%.0f", t * 10000 / n; else print "-" }')
	done
	kill -QUIT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

printf 'gunzip, 64 KiB text from a 9 KiB gzip, 1 worker on CPU %s, wrk -c %s %ss on CPU %s\n' \
	"$PROXY_CPU" "$CONNS" "$DURATION" "$LOAD_CPU"
printf '%-16s %10s %10s %10s %14s %12s\n' "row" "nginx" "lbd" "lbd/nginx" "nginx us/req" "lbd us/req"
for row in proxy static; do
	n=${rps[nginx.$row]} l=${rps[lbd.$row]}
	ratio=$(awk -v a="$l" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-16s %10s %10s %10s %14s %12s\n' "$row (req/s)" "$n" "$l" "$ratio" \
		"${cpu[nginx.$row]}" "${cpu[lbd.$row]}"
done
