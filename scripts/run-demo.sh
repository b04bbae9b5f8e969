#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make run`: start three demo backends (backend-a/b/c on 127.0.0.1:3001-3003)
# and lbd on examples/quickstart.conf (127.0.0.1:8080, prefix build/run/),
# print what to try, and stop everything on Ctrl-C.
#
# Environment:
#   CONF=FILE        configuration (default examples/quickstart.conf)
#   LBD_BIN=PATH     the daemon (default build/lbd)
#   PROXY_CMD='...'  run this instead of lbd, through bash; $LBD_PREFIX and
#                    $LBD_CONF hold the prefix and the configuration, e.g.
#                    PROXY_CMD='nginx -p "$LBD_PREFIX" -c "$LBD_CONF" -e "$LBD_PREFIX/logs/error.log" -g "daemon off;"'
#   DEMO_CHECK=1     start, check every route once, stop (no waiting)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run="$root/build/run"
backend_bin="${BACKEND_BIN:-$root/build/demo_backend}"
lbd_bin="${LBD_BIN:-$root/build/lbd}"
export LBD_PREFIX="$run/"
export LBD_CONF="${CONF:-$root/examples/quickstart.conf}"
listen=127.0.0.1:8080
names=(backend-a backend-b backend-c)
ports=(3001 3002 3003)
pids=()

say() { printf '%s\n' "$*"; }
die() {
	printf 'run-demo: %s\n' "$*" >&2
	exit 1
}

# alive PID: the process exists and is not a zombie (kill -0 succeeds on
# an unreaped child)
alive() {
	local st
	st=$(cut -d ')' -f 2 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$st" && $st != " Z"* ]]
}

# shellcheck disable=SC2317 # called through trap
cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	# give them 3 s to exit cleanly, then insist
	for _ in $(seq 30); do
		local any=0
		for p in "${pids[@]}"; do
			alive "$p" && any=1
		done
		[[ $any -eq 0 ]] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'say ""; say "stopping"; exit 0' INT TERM

# port_busy PORT: true when something accepts on 127.0.0.1:PORT
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

[[ -x "$backend_bin" ]] || die "$backend_bin missing: run make first"
if [[ -z "${PROXY_CMD:-}" ]]; then
	[[ -x "$lbd_bin" ]] || die "$lbd_bin missing: run make first"
fi
[[ -r "$LBD_CONF" ]] || die "cannot read $LBD_CONF"
for port in "${ports[@]}" 8080; do
	port_busy "$port" && die "127.0.0.1:$port is already in use (another make run?)"
done

mkdir -p "$run/logs" "$run/html/static"
cat >"$run/html/static/hello.txt" <<'EOF'
Hello from lbd: this file was served from html/static/ under the prefix,
without touching any backend.
EOF

for i in "${!names[@]}"; do
	name=${names[$i]}
	out="$run/$name.out"
	: >"$out"
	"$backend_bin" -l "127.0.0.1:${ports[$i]}" -n "$name" >"$out" 2>"$run/logs/$name.log" &
	pids+=($!)
	echo $! >"$run/$name.pid"
done
# each backend prints "listening NAME ADDR:PORT" once its socket is bound
for i in "${!names[@]}"; do
	name=${names[$i]}
	for _ in $(seq 50); do
		grep -q '^listening ' "$run/$name.out" && break
		alive "${pids[$i]}" || break
		sleep 0.1
	done
	grep -q '^listening ' "$run/$name.out" ||
		die "$name did not start: $(cat "$run/logs/$name.log")"
done

if [[ -n "${PROXY_CMD:-}" ]]; then
	proxy_desc="$PROXY_CMD"
	bash -c "exec $PROXY_CMD" >"$run/logs/proxy.out" 2>&1 &
else
	proxy_desc="$lbd_bin -p $LBD_PREFIX -c $LBD_CONF"
	"$lbd_bin" -p "$LBD_PREFIX" -c "$LBD_CONF" >"$run/logs/proxy.out" 2>&1 &
fi
proxy_pid=$!
pids+=("$proxy_pid")
for _ in $(seq 100); do
	port_busy 8080 && break
	alive "$proxy_pid" || break
	sleep 0.1
done
if ! port_busy 8080; then
	say "run-demo: the proxy did not come up on $listen: $proxy_desc" >&2
	cat "$run/logs/proxy.out" >&2 || true
	tail -n 20 "$run/logs/error.log" >&2 2>/dev/null || true
	exit 1
fi

rel=${run#"$root/"}
cat <<EOF

lbd demo is up: $proxy_desc
  backends: backend-a 127.0.0.1:3001, backend-b 127.0.0.1:3002, backend-c 127.0.0.1:3003
  logs:     tail -f $rel/logs/access.log $rel/logs/backend-*.log

Try:
  curl http://127.0.0.1:8080/                              # round robin: run it 3 times, see a, b, c
  curl -H 'Host: app.localhost' http://127.0.0.1:8080/     # by host name: same upstream, balanced over a, b, c
  curl -H 'Host: api.localhost' http://127.0.0.1:8080/x    # by host name: always backend-b
  curl http://127.0.0.1:8080/api/users                     # by path: backend-c sees /users (prefix stripped)
  curl http://127.0.0.1:8080/api/headers                   # what the proxy adds: X-Real-IP, X-Forwarded-For...
  for i in \$(seq 6); do curl -s http://127.0.0.1:8080/weighted/; done   # weights 3:2:1
  curl http://127.0.0.1:8080/static/hello.txt              # a file from $rel/html/static/, no backend
  curl -sI http://127.0.0.1:8080/size/1048576              # 1 MiB from a backend, headers only
  kill \$(cat $rel/backend-b.pid); curl http://127.0.0.1:8080/   # failover: b is skipped

Ctrl-C stops the proxy and the backends.
EOF

if [[ -n "${DEMO_CHECK:-}" ]]; then
	fail=0
	check() { # check DESCRIPTION EXPECTED-SUBSTRING CURL-ARGS...
		local what=$1 want=$2 got
		shift 2
		got=$(curl -s --max-time 5 "$@" 2>&1 || true)
		if [[ "$got" == *"$want"* ]]; then
			say "ok   $what"
		else
			say "FAIL $what: wanted '$want', got '$got'"
			fail=1
		fi
	}
	check "default server answers" '"backend":"backend-' http://127.0.0.1:8080/
	seen=""
	for _ in 1 2 3 4 5 6; do
		seen+=$(curl -s --max-time 5 -H 'Host: app.localhost' http://127.0.0.1:8080/)
	done
	for name in "${names[@]}"; do
		if [[ "$seen" == *"\"backend\":\"$name\""* ]]; then
			say "ok   app.localhost reaches $name"
		else
			say "FAIL app.localhost never reached $name"
			fail=1
		fi
	done
	check "api.localhost -> backend-b" '"backend":"backend-b"' -H 'Host: api.localhost' http://127.0.0.1:8080/x
	check "/api/users -> backend-c sees /users" '"backend":"backend-c","port":3003,"method":"GET","path":"/users"' http://127.0.0.1:8080/api/users
	check "X-Real-IP passed" '"x-real-ip":"127.0.0.1"' http://127.0.0.1:8080/api/headers
	check "/weighted/ strips its prefix" '"path":"/"' http://127.0.0.1:8080/weighted/
	check "/static/hello.txt from disk" 'Hello from lbd' http://127.0.0.1:8080/static/hello.txt
	check "access log written" 'upstream=127.0.0.1:300' "file://$run/logs/access.log"
	exit "$fail"
fi

# Stay in the foreground until Ctrl-C or until the proxy exits. A backend
# may die (that is the failover demo); the proxy carries on without it.
set +e
wait "$proxy_pid"
rc=$?
# Ctrl-C reaches the proxy too and it may exit before this shell's trap runs
[[ $rc -eq 0 || $rc -eq 130 ]] && exit 0
say "run-demo: the proxy exited (status $rc); stopping the backends" >&2
tail -n 5 "$run/logs/proxy.out" >&2 2>/dev/null
exit 1
