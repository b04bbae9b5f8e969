#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Instructions per HTTP/2 request, user space only, counted by callgrind:
# the setup of bench/h2.sh (one worker, the same ECDSA P-256 certificate,
# build/demo_backend through an HTTP/1.1 keep-alive pool), each proxy run
# under valgrind --tool=callgrind, a 2,000-request warm-up, counters
# zeroed, then h2load -n REQUESTS -c CLIENTS -m STREAMS. Prints Ir per
# request in all and without the TLS handshakes (CLIENTS full handshakes
# fall inside the measured run). Far steadier than req/s or CPU time on a
# shared machine (this VM has no hardware counters for perf); one caveat:
# callgrind counts each iteration of `rep stos`/`rep movs` as an
# instruction, so big memset/memcpy weigh more than they cost.
#
#   bench/h2_insn.sh [REQUESTS=20000] [CLIENTS=50] [STREAMS=10] [TARGETS="lbd nginx haproxy"]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-50}
STREAMS=${STREAMS:-10}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGETS=${TARGETS:-lbd nginx haproxy}
LBD=${LBD_BIN:-$root/build/lbd}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
make -s -C "$root" build/lbd build/demo_backend
. "$root/bench/lib.sh"
bench_workdir h2insn

tls_cert
demo_backend_start "$LOAD_CPU"

# each proxy binary behind a callgrind wrapper; lbd counts only inside its
# workers' event loops (not start-up)
wrap() { # NAME BINARY [callgrind options]
	local name=$1 bin=$2
	shift 2
	cat >"$work/vg-$name" <<W
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/cg.$name $* $bin "\$@"
W
	chmod +x "$work/vg-$name"
}
wrap lbd "$LBD" --collect-atstart=no --toggle-collect=ev_run
wrap nginx "${NGINX_BIN:-/usr/sbin/nginx}"
wrap haproxy "${HAPROXY_BIN:-/usr/sbin/haproxy}"
LBD_BIN=$work/vg-lbd
NGINX_BIN=$work/vg-nginx
HAPROXY_BIN=$work/vg-haproxy

nginx_conf() { # PORT NAME (as bench/h2.sh) (50 x 10 streams in flight: no upstream connection churn)
	tls_nginx_conf "$1" "$2" 1024 "ssl http2" "        keepalive_requests 100000;"
}

haproxy_conf() { # PORT
	tls_haproxy_conf "$1" "alpn h2,http/1.1"
}

printf '%-8s %12s %14s %16s %s\n' target requests Ir_per_req Ir_per_req_exTLS notes
for t in $TARGETS; do
	# valgrind starts slowly: start_target's 5 s wait may not be enough
	start_target "$t" || wait_port "$port" || wait_port "$port" ||
		{ printf '%-8s did not start\n' "$t"; continue; }
	taskset -c "$LOAD_CPU" h2load -n 2000 -c "$CLIENTS" -m "$STREAMS" \
		"https://127.0.0.1:$port/bench" >/dev/null 2>&1 || true
	callgrind_control -z "$pid" >/dev/null 2>&1
	out=$(taskset -c "$LOAD_CPU" h2load -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" \
		"https://127.0.0.1:$port/bench" 2>&1) || true
	callgrind_control -d "$pid" >/dev/null 2>&1
	ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# the dump taken right after the measured run (not the one at exit)
	f=$(ls "$work/cg.$t".[0-9]* 2>/dev/null | head -1 || true)
	[[ -n $f ]] || { printf '%-8s no callgrind dump\n' "$t"; continue; }
	total=$(sed -n 's/^summary: //p' "$f")
	tls=$(callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
		awk '/SSL_do_handshake/ && !h { gsub(",", "", $1); h = $1 } END { print h + 0 }' ||
		true)
	note=""
	[[ "$ok" == "$REQUESTS" ]] || note="! not all 2xx"
	awk -v t="$t" -v n="$REQUESTS" -v a="$total" -v h="${tls:-0}" -v note="$note" 'BEGIN {
		printf "%-8s %12d %14.0f %16.0f %s\n", t, n, a / n, (a - h) / n, note }'
	rm -f "$work/cg.$t".*
done
