#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Instructions per request that `if` blocks add, user space only, counted
# by callgrind in lbd's worker event loop: one lbd, h2load --h1 keep-alive
# requests to a location that answers `return 200` directly, then to one
# that first tests four ifs (a caseless regex on $http_user_agent, = on
# $request_method, $arg_debug, !-f on $request_filename: a stat(2)),
# none true. Callgrind counts are steady on this shared machine, unlike
# req/s.
#
#   bench/if_insn.sh [REQUESTS=20000] [CLIENTS=10]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-10}
LBD=${LBD_BIN:-$root/build/lbd}

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load is needed" >&2; exit 1; }
make -s -C "$root" build/lbd
. "$root/bench/lib.sh"
bench_workdir ifinsn

port=$(free_port)
mkdir -p "$work/logs" "$work/html"
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
        location = /if {
            if (\$http_user_agent ~* (bot|crawler|spider)) { return 403; }
            if (\$request_method = POST) { return 405; }
            if (\$arg_debug) { add_header X-Debug 1; }
            if (!-f \$request_filename) { set \$missing 1; }
            return 200 "ok";
        }
    }
}
EOF

# count ONE URL's requests: a fresh lbd under callgrind per URL
measure() { # URL -> Ir per request
	callgrind_ir "$LBD" lbd.conf "$1"
}

plain=$(measure /plain)
withif=$(measure /if)
printf 'Ir per request: return 200 %s, four false ifs then return 200 %s (+%s)\n' \
	"$plain" "$withif" $((withif - plain))
