#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sub_filter: lbd vs nginx on one 256 KiB HTML page with ~2,900 URLs to
# rewrite (two strings, sub_filter_once off), one worker each, same config
# text, in one run. Rows: the page proxied without sub_filter (baseline),
# proxied with it, and served from the proxy's own root with it. Reported:
# requests/s and the proxy's CPU time per request (utime+stime from
# /proc/PID/stat over the wrk run: steadier than req/s on a loaded
# machine). The proxy runs on PROXY_CPU, wrk and the backend (an nginx
# serving the file) on LOAD_CPU; every wrk run is bounded.
#
#   bench/subfilter.sh [DURATION=5] [CONNS=8] [PROXY_CPU=0] [LOAD_CPU=1]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
LBD_BIN=${LBD_BIN:-$root/build/lbd}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
make -s -C "$root" build/lbd
bench_workdir lbd-sfbench

mkdir -p "$work/www"
python3 - "$work/www" <<'EOF'
import re, sys
out, i = [], 0
while sum(map(len, out)) < 262144:
    out.append(b'<li><a href="http://app.internal:8080/item/%d">item %d</a> '
               b'<img src="http://APP.internal:8080/img/%d.png"></li>\n' % (i, i * 7919 % 10007, i))
    i += 1
page = b''.join(out)[:262144]
open(sys.argv[1] + '/page.html', 'wb').write(page)
want = re.sub(rb'(?i)http://app\.internal:8080', b'https://www.example.com', page)
open(sys.argv[1] + '/want.html', 'wb').write(want)
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
    server {
        listen 127.0.0.1:$1;
        location /plain/ { proxy_pass http://127.0.0.1:$backend/; proxy_http_version 1.1;
                           proxy_set_header Connection ""; }
        location /proxy/ { proxy_pass http://127.0.0.1:$backend/; proxy_http_version 1.1;
                           proxy_set_header Connection "";
                           sub_filter 'http://app.internal:8080' 'https://www.example.com';
                           sub_filter 'never-there-string' 'x';
                           sub_filter_once off; }
        location /static/ { alias $work/www/;
                           sub_filter 'http://app.internal:8080' 'https://www.example.com';
                           sub_filter 'never-there-string' 'x';
                           sub_filter_once off; }
    }
}
EOF
}

declare -A rps cpu
rows=(plain proxy static)
for name in nginx lbd; do
	port=$(free_port)
	mkdir -p "$work/$name/logs"
	conf "$port" "$name" >"$work/$name/nginx.conf"
	bin=$NGINX_BIN
	[[ $name == lbd ]] && bin=$LBD_BIN
	taskset -c "$PROXY_CPU" "$bin" -p "$work/$name/" -c "$work/$name/nginx.conf" \
		>"$work/$name/out" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_port "$port" || { echo "$name did not start: $(head -c 300 "$work/$name/out")" >&2; exit 1; }
	wpid=$(pgrep -P "$pid" | head -1 || true) # nginx's worker; lbd is one process
	[[ -n $wpid ]] || wpid=$pid
	for row in "${rows[@]}"; do
		url="http://127.0.0.1:$port/$row/page.html"
		ref=$work/www/want.html
		[[ $row == plain ]] && ref=$work/www/page.html
		curl -sf --max-time 5 "$url" | cmp -s - "$ref" ||
			{ echo "$name /$row/: not the expected body" >&2; exit 1; }
		t0=$(proc_ticks "$wpid")
		out=$(timeout -k 5 $((DURATION + 30)) taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" \
			-d "${DURATION}s" "$url" 2>&1 || true)
		t1=$(proc_ticks "$wpid")
		n=$(awk '/requests in/ {print $1}' <<<"$out")
		rps[$name.$row]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
		[[ -n ${rps[$name.$row]} ]] || rps[$name.$row]=0
		cpu[$name.$row]=$(awk -v t=$((t1 - t0)) -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
	done
	kill -QUIT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

printf '256 KiB page, ~2900 matches, 1 worker on CPU %s, wrk -c %s %ss on CPU %s\n' \
	"$PROXY_CPU" "$CONNS" "$DURATION" "$LOAD_CPU"
printf '%-10s %10s %10s %10s %14s %14s\n' row "nginx r/s" "lbd r/s" "lbd/nginx" "nginx us/req" "lbd us/req"
for row in "${rows[@]}"; do
	n=${rps[nginx.$row]} l=${rps[lbd.$row]}
	ratio=$(awk -v a="$l" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-10s %10s %10s %10s %14s %14s\n' "$row" "$n" "$l" "$ratio" "${cpu[nginx.$row]}" "${cpu[lbd.$row]}"
done
