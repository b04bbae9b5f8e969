#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What limit_rate costs a response that is NOT limited: instructions per
# request, user space only, counted by callgrind in lbd's worker event
# loop (steady on this shared machine, unlike req/s). One lbd per
# (binary, URL), h2load --h1 keep-alive requests to `return 200` and to a
# 64 KiB static file (sendfile), no limit_rate anywhere. Compare this
# tree's lbd with another build (BASE_BIN, e.g. the tree before
# limit_rate) in the same run.
#
#   BASE_BIN=/path/to/old/lbd bench/ratelimit_insn.sh [REQUESTS=20000] [CLIENTS=10]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-10}
LBD=${LBD_BIN:-$root/build/lbd}
BASE=${BASE_BIN:-}

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load is needed" >&2; exit 1; }
make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir rateinsn

port=$(free_port)
mkdir -p "$work/logs" "$work/html"
head -c 65536 /dev/zero >"$work/html/f64k"
cat >"$work/lbd.conf" <<EOF
worker_processes 1;
pid $work/logs/lbd.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        root $work/html;
        keepalive_requests 1000000;
        location = /plain { return 200 "ok"; }
    }
}
EOF

measure() { # BIN URL -> Ir per request
	callgrind_ir "$1" lbd.conf "$2"
}

for url in /plain /f64k; do
	new=$(measure "$LBD" "$url")
	if [ -n "$BASE" ]; then
		old=$(measure "$BASE" "$url")
		printf '%-7s Ir per request: base %s, this tree %s (%+d)\n' "$url" "$old" "$new" \
			$((new - old))
	else
		printf '%-7s Ir per request: %s\n' "$url" "$new"
	fi
done
