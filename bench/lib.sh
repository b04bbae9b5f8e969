# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared pieces of the bench/ scripts (sourced, not run).
#
#   bench_workdir PREFIX [PATH...]   a work directory ($work) and the list of
#                                     started processes ($pids), both cleaned
#                                     up at exit (with PATHs, e.g. BPF pins)
#   free_port                         a free TCP port on 127.0.0.1
#   wait_port PORT                    until PORT accepts (5 s at most)
#   proc_ticks PID                    utime+stime of PID, in clock ticks
#   demo_backend_start CPU            build/demo_backend on CPU -> $backend
#   tls_cert                          an ECDSA P-256 certificate: $work/crt.pem,
#                                     key.pem, and haproxy.pem (both in one)
#   tls_nginx_conf PORT NAME KEEPALIVE LISTEN_PARAMS SERVER_LINES
#                                     the TLS proxy config nginx and lbd share
#   tls_haproxy_conf PORT BIND_PARAMS [GLOBAL_LINES]
#                                     HAProxy's equivalent
#   start_target NAME                 lbd, nginx or haproxy on PROXY_CPU with
#                                     the caller's nginx_conf PORT NAME /
#                                     haproxy_conf PORT -> $port, $pid

bench_cleanup_paths=()
bench_cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work" "${bench_cleanup_paths[@]}"
}

bench_workdir() {
	work=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$work" # nginx workers run as nobody
	shift
	bench_cleanup_paths=("$@")
	pids=()
	trap bench_cleanup EXIT
}

# callgrind_ir BIN CONF URL -> instructions per request of lbd BIN run on
# $work/CONF under callgrind (counted inside ev_run only), for $REQUESTS
# requests from h2load (--h1, $CLIENTS clients) to 127.0.0.1:$port URL.
callgrind_ir() {
	local bin=$1 conf=$2 url=$3 out=$work/cg.$RANDOM
	valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
		--toggle-collect=ev_run "$bin" -p "$work/" -c "$work/$conf" \
		>"$work/vg.log" 2>&1 &
	local vpid=$!
	pids+=($vpid)
	wait_port "$port" || { sleep 2; wait_port "$port"; }
	h2load --h1 -n "$REQUESTS" -c "$CLIENTS" "http://127.0.0.1:$port$url" >"$work/h2load.out"
	grep -q "succeeded, 0 failed" "$work/h2load.out" || { cat "$work/h2load.out" >&2; exit 1; }
	kill -QUIT "$vpid"
	wait "$vpid" 2>/dev/null || true
	local ir
	ir=$(awk '/^summary:/{print $2}' "$out"*)
	echo $((ir / REQUESTS))
}

# nginx_static_backend CPU -> $backend: an nginx ($NGINX_BIN) on CPU
# serving $work/www as it is, the backend of the body-filter benchmarks.
nginx_static_backend() {
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
    server { listen 127.0.0.1:$backend; location / { root $work/www; } }
}
EOF
	taskset -c "$1" "$NGINX_BIN" -p "$work/backend/" -c "$work/backend/nginx.conf" &
	pids+=($!)
	wait_port "$backend"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

proc_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

demo_backend_start() {
	taskset -c "$1" "$BACKEND_BIN" -q -t 1 -n bench -l 127.0.0.1:0 >"$work/backend.out" 2>&1 &
	pids+=($!)
	backend=""
	for _ in $(seq 100); do
		backend=$(awk '/^listening /{n = split($3, a, ":"); print a[n]; exit}' "$work/backend.out")
		[[ -n $backend ]] && return 0
		sleep 0.05
	done
	echo "backend did not start" >&2
	exit 1
}

tls_cert() {
	openssl req -x509 -nodes -days 2 -subj /CN=localhost -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -keyout "$work/key.pem" -out "$work/crt.pem" 2>/dev/null
	cat "$work/crt.pem" "$work/key.pem" >"$work/haproxy.pem"
}

tls_nginx_conf() {
	cat <<CONF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream be {
        server 127.0.0.1:$backend;
        keepalive $3;
    }
    server {
        listen 127.0.0.1:$1 $4;
        ssl_certificate $work/crt.pem;
        ssl_certificate_key $work/key.pem;
$5
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
}

tls_haproxy_conf() {
	cat <<CONF
global
    nbthread 1
    maxconn 4096
${3:-}
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:$1 ssl crt $work/haproxy.pem $2
    default_backend b
backend b
    server s1 127.0.0.1:$backend
CONF
}

start_target() {
	local name=$1
	port=$(free_port)
	mkdir -p "$work/$name/logs"
	case $name in
	nginx)
		nginx_conf "$port" "$name" >"$work/$name.conf"
		taskset -c "$PROXY_CPU" "$NGINX_BIN" -p "$work/$name/" -c "$work/$name.conf" \
			-g 'daemon off; master_process off;' 2>/dev/null &
		;;
	haproxy)
		haproxy_conf "$port" >"$work/$name.cfg"
		taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$work/$name.cfg" 2>/dev/null &
		;;
	lbd)
		nginx_conf "$port" "$name" >"$work/$name.conf"
		taskset -c "$PROXY_CPU" "$LBD_BIN" -p "$work/$name/" -c "$work/$name.conf" \
			2>"$work/$name.out" &
		;;
	esac
	pid=$!
	pids+=("$pid")
	wait_port "$port"
}
