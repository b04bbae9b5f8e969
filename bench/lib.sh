# SPDX-License-Identifier: MIT
# Shared pieces of the bench/ scripts (sourced, not run).
#
#   bench_workdir PREFIX [PATH...]   a work directory ($work) and the list of
#                                     started processes ($pids), both cleaned
#                                     up at exit (with PATHs, e.g. BPF pins)
#   free_port                         a free TCP port on 127.0.0.1
#   wait_port PORT                    until PORT accepts (5 s at most)
#   proc_ticks PID                    utime+stime of PID, in clock ticks
#   demo_backend_start CPU            build/demo_backend on CPU -> $backend
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
