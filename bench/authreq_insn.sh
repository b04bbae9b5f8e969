#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Instructions per request that auth_request adds, user space only, counted
# by callgrind in lbd's worker event loop: h2load --h1 keep-alive requests
# proxied to an nginx static backend (upstream keepalive) without
# auth_request, then with an auth location that answers `return 204`
# itself (the subrequest machinery alone), then with one that proxies to
# the same backend (a second upstream exchange per request, keepalive).
#
#   bench/authreq_insn.sh [REQUESTS=20000] [CLIENTS=10]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-10}
LBD=${LBD_BIN:-$root/build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load is needed" >&2; exit 1; }
make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir authreqinsn

mkdir -p "$work/www" "$work/logs"
printf 'app page\n' >"$work/www/app"
printf '' >"$work/www/check"
nginx_static_backend 0
port=$(free_port)
cat >"$work/lbd.conf" <<EOF
worker_processes 1;
pid $work/logs/lbd.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    upstream be { server 127.0.0.1:$backend; keepalive 16; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    server {
        listen 127.0.0.1:$port;
        keepalive_requests 1000000;
        location = /plain { proxy_pass http://be/app; }
        location = /ret {
            auth_request /_ret;
            proxy_pass http://be/app;
        }
        location = /proxied {
            auth_request /_check;
            auth_request_set \$user \$upstream_http_server;
            proxy_set_header X-User \$user;
            proxy_set_header Connection "";
            proxy_pass http://be/app;
        }
        location = /_ret { internal; return 204; }
        location = /_check {
            internal;
            proxy_pass http://be/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Connection "";
            proxy_set_header X-Original-URI \$request_uri;
        }
    }
}
EOF

plain=$(callgrind_ir "$LBD" lbd.conf /plain)
ret=$(callgrind_ir "$LBD" lbd.conf /ret)
proxied=$(callgrind_ir "$LBD" lbd.conf /proxied)
printf 'Ir per request: proxied %s, + auth_request to return 204 %s (+%s), + auth_request proxied %s (+%s)\n' \
	"$plain" "$ret" $((ret - plain)) "$proxied" $((proxied - plain))
