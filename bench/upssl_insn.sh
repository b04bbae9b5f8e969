#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Instructions per proxied request, user space only, counted by callgrind
# in lbd's worker event loop: h2load --h1 keep-alive requests through a
# `proxy_pass http://be` location (keepalive pool to build/demo_backend)
# for each lbd binary given, and through `proxy_pass https://be` (pool of
# TLS connections to an nginx answering over TLS) for the last. Used to
# check that the https:// support leaves the plain path's cost alone:
# give the build before it and the build after it.
#
#   bench/upssl_insn.sh [LBD_BIN...]   (default: build/lbd)
#   REQUESTS=20000 CLIENTS=10
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-10}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$root/build/lbd")

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load is needed" >&2; exit 1; }
make -s -C "$root" build/lbd build/demo_backend
. "$root/bench/lib.sh"
bench_workdir upsslinsn
tls_cert
demo_backend_start 1

tlsbe=$(free_port)
mkdir -p "$work/be/logs"
cat >"$work/be.conf" <<CONF
worker_processes 1;
pid $work/be.pid;
error_log $work/be.err;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$tlsbe ssl;
        ssl_certificate $work/crt.pem;
        ssl_certificate_key $work/key.pem;
        keepalive_requests 1000000;
        location / { return 200 "bench\n"; }
    }
}
CONF
"$NGINX_BIN" -p "$work/be/" -c "$work/be.conf" -g 'daemon off; master_process off;' \
	2>/dev/null &
pids+=($!)
wait_port "$tlsbe"

port=$(free_port)
mkdir -p "$work/logs"
cat >"$work/lbd.conf" <<EOF
worker_processes 1;
pid $work/logs/lbd.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    upstream be { server 127.0.0.1:$backend; keepalive 16; }
    upstream tls { server 127.0.0.1:$tlsbe; keepalive 16; }
    server {
        listen 127.0.0.1:$port;
        keepalive_requests 1000000;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /plain { proxy_pass http://be; }
        location /tls { proxy_pass https://tls; }
    }
}
EOF
# the same without the https location, for builds before https:// support
grep -v 'https://\|upstream tls' "$work/lbd.conf" >"$work/plain.conf"

measure() { # LBD CONF URL -> Ir per request
	callgrind_ir "$1" "$2" "$3"
}

for b in "${bins[@]}"; do
	printf 'Ir per request, proxy_pass http://be (keepalive): %s  [%s]\n' \
		"$(measure "$b" plain.conf /plain)" "$b"
done
printf 'Ir per request, proxy_pass https://be (keepalive): %s  [%s]\n' \
	"$(measure "${bins[-1]}" lbd.conf /tls)" "${bins[-1]}"
