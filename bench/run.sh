#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lbd vs nginx vs HAProxy, one run, same machine, same backend, same worker
# count, same load. Prints requests/s and p99 latency for small keep-alive
# responses and for a new connection per request, MB/s for 1 MiB and 64 MiB
# bodies, the backend alone as a reference row, and lbd/nginx and
# lbd/HAProxy ratios. See bench/README.md for the method and pinning.
#
# Environment (defaults in brackets):
#   DURATION=S      seconds per measured cell [10]
#   WARMUP=S        unmeasured seconds before each cell [1]
#   WORKERS=N       proxy workers: nginx worker_processes, HAProxy nbthread,
#                   lbd worker_processes [1]
#   CONNS=N         wrk connections for the small-response rows [50]
#   BIG_CONNS=N     concurrent downloads for the 1 MiB / 64 MiB rows [4]
#   PROXY_CPUS=L    taskset list for the proxy under test [0, or 0..N-1]
#   LOAD_CPUS=L     taskset list for wrk [1]
#   BACKEND_CPUS=L  taskset list for the backend behind the proxies
#                   [the proxy's, PROXY_CPUS: see bench/README.md, Pinning]
#   TARGETS="..."   subset of: backend nginx haproxy lbd [all four]
#   CELLS="..."     subset of: ka close 1m 64m [all four]
#   FOREIGN_MAX=P   flag cells (~) where other processes used > P% CPU [5]
#   ROUNDS=N        measure every cell N times, the targets in a rotated
#                   order each round; the table shows medians, and the
#                   ratios are medians of each round's ratios [1]
#   RETRIES=N       measure a flagged cell again, up to N times [1], while
#   BUDGET=S        the run stays under S seconds [280 x ROUNDS]
#   LBD_MAIN="..."  extra main-context directives for lbd only, e.g.
#                   "xdp_attach lo mode=generic; bpf_pin_path /sys/fs/bpf/lbd-bench;"
#                   (the XDP guard on the loopback path; see bench/README.md)
#   LBD_BIN NGINX_BIN HAPROXY_BIN WRK_BIN BACKEND_BIN   binaries to use
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/bench"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-1}
CONNS=${CONNS:-50}
BIG_CONNS=${BIG_CONNS:-4}
LOAD_CPUS=${LOAD_CPUS:-1}
TARGETS=${TARGETS:-backend nginx haproxy lbd}
FOREIGN_MAX=${FOREIGN_MAX:-5}
ROUNDS=${ROUNDS:-1}
RETRIES=${RETRIES:-1}
BUDGET=${BUDGET:-$((280 * ROUNDS))}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
WRK_BIN=${WRK_BIN:-wrk}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}
if [[ -z "${PROXY_CPUS:-}" ]]; then
	if [[ $WORKERS -le 1 ]]; then
		PROXY_CPUS=0
	else
		PROXY_CPUS="0-$((WORKERS - 1))"
	fi
fi
# The backend shares the proxy's CPU(s) and wrk has its own: the machine of
# a VPS with its clients remote, and the layout where the proxy's CPU, not
# wrk's, is the bottleneck (bench/README.md, "Pinning"). BACKEND_CPUS=1 is
# the layout of the runs before 2026-11-30.
BACKEND_CPUS=${BACKEND_CPUS:-$PROXY_CPUS}

# Cells: what each row fetches, with how many connections, and wrk's
# per-request timeout; "close" adds Connection: close.
read -ra cells <<<"${CELLS:-ka close 1m 64m}"
declare -A cell_path=([ka]=/bench [close]=/bench [1m]=/size/1048576 [64m]=/size/67108864)
declare -A cell_conns=([ka]=$CONNS [close]=$CONNS [1m]=$BIG_CONNS [64m]=$BIG_CONNS)
declare -A cell_timeout=([ka]=2s [close]=2s [1m]=10s [64m]=30s)
declare -A cell_big=([1m]=1 [64m]=1)
CLK_TCK=$(getconf CLK_TCK)
declare -A res=() # res[target.cell.metric]
declare -A why=() # why[target]: reason a target has no numbers
pids=()
work=""

log() { printf '%s\n' "$*" >&2; }
die() {
	log "bench: $*"
	exit 1
}

# shellcheck disable=SC2317 # called through trap
cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${pids[@]}"; do
		stop "$p"
	done
	[[ -n "$work" ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'log "bench: interrupted"; exit 130' INT TERM

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# alive PID: the process exists and is not a zombie (kill -0 succeeds on
# an unreaped child)
alive() {
	local st
	st=$(cut -d ')' -f 2 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$st" && $st != " Z"* ]]
}

# wait_port PORT PID: until PORT accepts (true) or PID dies or 10 s pass
wait_port() {
	for _ in $(seq 100); do
		port_open "$1" && return 0
		alive "$2" || return 1
		sleep 0.1
	done
	return 1
}

# stop PID: TERM, then KILL after 5 s; the PID is forgotten afterwards so
# that cleanup never signals a recycled PID
stop() {
	if kill -TERM "$1" 2>/dev/null; then
		for _ in $(seq 50); do
			alive "$1" || break
			sleep 0.1
		done
		alive "$1" && kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null || true
	forget "$1"
}

# forget PID: drop a reaped PID from the cleanup list
forget() {
	local p keep=()
	for p in "${pids[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	pids=("${keep[@]}")
}

# start_backend CPUS: starts a demo backend, sets backend_pid/backend_port
start_backend() {
	local out="$work/backend.$RANDOM.out"
	: >"$out"
	taskset -c "$1" "$BACKEND_BIN" -q -t 1 -n bench -l 127.0.0.1:0 >"$out" 2>&1 &
	backend_pid=$!
	pids+=("$backend_pid")
	for _ in $(seq 50); do
		grep -q '^listening ' "$out" && break
		sleep 0.1
	done
	backend_port=$(awk '/^listening /{n = split($3, a, ":"); print a[n]; exit}' "$out")
	[[ -n "$backend_port" ]] || die "demo backend did not start: $(cat "$out")"
}

nginx_conf() { # nginx_conf PORT UPSTREAM_PORT: the config nginx and lbd share
	cat <<EOF
worker_processes $WORKERS;

events {
    worker_connections 4096;
}

http {
    access_log off;

    upstream bench_backend {
        server 127.0.0.1:$2;
        keepalive 64;
    }

    server {
        listen 127.0.0.1:$1;

        location / {
            proxy_pass http://bench_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

haproxy_conf() { # haproxy_conf PORT UPSTREAM_PORT
	cat <<EOF
global
    nbthread $WORKERS
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend bench
    bind 127.0.0.1:$1
    default_backend bench_backend

backend bench_backend
    server b1 127.0.0.1:$2
EOF
}

# start_target NAME: starts the server under test on a free port pinned to
# PROXY_CPUS; sets target_pid/target_port, or returns 1 with why[NAME] set
start_target() {
	local name=$1 dir="$work/$1"
	mkdir -p "$dir/logs"
	target_port=$(free_port)
	case $name in
	backend)
		# the backend alone, in the proxy's seat
		start_backend "$PROXY_CPUS"
		target_pid=$backend_pid
		target_port=$backend_port
		return 0
		;;
	nginx)
		[[ -x "$NGINX_BIN" ]] || {
			why[$name]="$NGINX_BIN missing"
			return 1
		}
		{
			echo "pid $dir/nginx.pid;"
			nginx_conf "$target_port" "$upstream_port"
		} >"$dir/nginx.conf"
		taskset -c "$PROXY_CPUS" "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" \
			-e "$dir/logs/error.log" -g 'daemon off;' >"$dir/out" 2>&1 &
		;;
	haproxy)
		[[ -x "$HAPROXY_BIN" ]] || {
			why[$name]="$HAPROXY_BIN missing"
			return 1
		}
		haproxy_conf "$target_port" "$upstream_port" >"$dir/haproxy.cfg"
		taskset -c "$PROXY_CPUS" "$HAPROXY_BIN" -db -f "$dir/haproxy.cfg" >"$dir/out" 2>&1 &
		;;
	lbd)
		[[ -x "$LBD_BIN" ]] || {
			why[$name]="$LBD_BIN missing"
			return 1
		}
		{
			printf '%s\n' "${LBD_MAIN:-}"
			nginx_conf "$target_port" "$upstream_port"
		} >"$dir/lbd.conf"
		taskset -c "$PROXY_CPUS" "$LBD_BIN" -p "$dir/" -c "$dir/lbd.conf" >"$dir/out" 2>&1 &
		;;
	esac
	target_pid=$!
	pids+=("$target_pid")
	if ! wait_port "$target_port" "$target_pid"; then
		why[$name]="did not start: $(head -c 300 "$dir/out" | tr '\n' ' ')"
		stop "$target_pid"
		return 1
	fi
	# a proxy that accepts but cannot reach the backend must not be measured
	if ! curl -sf --max-time 5 -o "$dir/check" "http://127.0.0.1:$target_port/bench" ||
		[[ $(wc -c <"$dir/check") -ne 100 ]]; then
		why[$name]="answered /bench wrongly: $(head -c 200 "$dir/check" 2>/dev/null | tr '\n' ' ')"
		stop "$target_pid"
		return 1
	fi
	return 0
}

# run_wrk SECONDS OUTFILE ARGS...: wrk on LOAD_CPUS, bounded in time. It
# runs in the background under `wait`, which a trapped Ctrl-C interrupts at
# once (a foreground wrk would swallow it and the run would go on).
run_wrk() {
	local secs=$1 out=$2 w
	shift 2
	timeout -k 5 $((secs + 60)) taskset -c "$LOAD_CPUS" \
		"$WRK_BIN" -d "${secs}s" "$@" >"$out" 2>&1 &
	w=$!
	pids+=("$w")
	wait "$w" || true
	forget "$w"
}

# measure NAME CELL: one wrk run against target_port, results into res[]
measure() {
	local name=$1 cell=$2 url hdr=() out line
	url="http://127.0.0.1:$target_port${cell_path[$cell]}"
	[[ $cell == close ]] && hdr=(-H 'Connection: close')
	local args=(-t 1 -c "${cell_conns[$cell]}" --timeout "${cell_timeout[$cell]}"
		-s "$here/report.lua" "${hdr[@]}" "$url")
	if [[ $WARMUP != 0 ]]; then
		run_wrk "$WARMUP" /dev/null "${args[@]}"
	fi
	local p0 l0 f0 p1 l1 f1 foreign
	f0=$(foreign_snap)
	p0=$(cpu_ticks "$PROXY_CPUS")
	l0=$(cpu_ticks "$LOAD_CPUS")
	run_wrk "$DURATION" "$work/wrk.out" --latency "${args[@]}"
	out=$(cat "$work/wrk.out")
	p1=$(cpu_ticks "$PROXY_CPUS")
	l1=$(cpu_ticks "$LOAD_CPUS")
	f1=$(foreign_snap)
	res[$name.$cell.cpu]=$(busy_pct "$p0" "$p1")
	res[$name.$cell.loadcpu]=$(busy_pct "$l0" "$l1")
	foreign=$(foreign_pct "$f0" "$f1")
	res[$name.$cell.foreign]=$foreign
	if [[ $foreign -gt $FOREIGN_MAX ]]; then
		log "bench: $name $cell: other processes used ${foreign}% of the machine: disturbed"
	fi
	line=$(grep '^RESULT ' <<<"$out" || true)
	if [[ -z "$line" ]]; then
		log "bench: $name $cell: wrk gave no result: $(tail -n 3 <<<"$out")"
		return
	fi
	local kv k v
	declare -A r=()
	for kv in ${line#RESULT }; do
		k=${kv%%=*}
		v=${kv#*=}
		r[$k]=$v
	done
	local errs=$((r[connect] + r[read] + r[write] + r[status] + r[timeout]))
	res[$name.$cell.rps]=$(awk -v n="${r[requests]}" -v d="${r[duration_us]}" \
		'BEGIN { printf "%.0f", n / (d / 1e6) }')
	res[$name.$cell.p99]=${r[p99_us]}
	res[$name.$cell.mbs]=$(awk -v b="${r[bytes]}" -v d="${r[duration_us]}" \
		'BEGIN { printf "%.0f", b / 1e6 / (d / 1e6) }')
	res[$name.$cell.err]=$errs
	# the proxy CPUs' busy time per request (small rows) or per MB (bodies)
	res[$name.$cell.cost]=$(awk -v a="$p0" -v b="$p1" -v hz="$CLK_TCK" \
		-v n="${r[requests]}" -v by="${r[bytes]}" -v big="${cell_big[$cell]:-0}" '
		BEGIN { split(a, x); split(b, y); us = (y[1] - x[1]) * 1e6 / hz
			d = big ? by / 1e6 : n; printf "%.1f", (d > 0 ? us / d : 0) }')
	if [[ $errs -gt 0 ]]; then
		log "bench: $name $cell: errors: connect ${r[connect]} read ${r[read]}" \
			"write ${r[write]} status ${r[status]} timeout ${r[timeout]}" \
			"(of ${r[requests]} requests)"
	fi
}

# cpu_ticks LIST: "busy total" jiffies summed over the CPUs of a taskset
# list such as 0 or 0-1,3
cpu_ticks() {
	local part want=" "
	IFS=, read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		if [[ $part == *-* ]]; then
			want+="$(seq -s ' ' "${part%-*}" "${part#*-}") "
		else
			want+="$part "
		fi
	done
	awk -v want="$want" '$1 ~ /^cpu[0-9]+$/ && index(want, " " substr($1, 4) " ") {
		t = 0; for (i = 2; i <= 9; i++) t += $i
		busy += t - $5 - $6; tot += t }
		END { print busy + 0, tot + 0 }' /proc/stat
}

# busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": percent busy between two samples
busy_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y)
		t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# foreign_snap: "busy total ours kthreads" in clock ticks since boot: CPU
# busy (user+nice+system, all CPUs) and total, the CPU time of this script
# and its descendants, and that of kernel threads. Other sessions' load is
# busy - ours - kthreads: it tells a cell disturbed by a neighbour.
foreign_snap() {
	{
		head -n 1 /proc/stat
		cat /proc/[0-9]*/stat 2>/dev/null || true # some exit meanwhile
	} | awk -v root="$$" '
	NR == 1 { busy = $2 + $3 + $4; for (i = 2; i <= 9; i++) total += $i; next }
	{
		# comm may hold spaces and parentheses: fields start after ") S "
		rest = substr($0, match($0, /\) [A-Za-z] /) + 2)
		split(rest, f, " ")
		ppid[$1] = f[2]
		t[$1] = f[12] + f[13] + f[14] + f[15]
	}
	END {
		mine[root] = 1
		do {
			grew = 0
			for (p in ppid)
				if (!(p in mine) && (ppid[p] in mine)) { mine[p] = 1; grew = 1 }
		} while (grew)
		for (p in mine) ours += t[p]
		for (p in ppid) if (p == 2 || ppid[p] == 2) kt += t[p]
		print busy, total, ours + 0, kt + 0
	}'
}

# foreign_pct SNAP0 SNAP1: percent of the machine used by others in between
foreign_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y)
		t = y[2] - x[2]
		o = (y[1] - x[1]) - (y[3] - x[3]) - (y[4] - x[4])
		printf "%.0f", (t > 0 && o > 0 ? 100 * o / t : 0) }'
}

# cpu_idle: percent of all CPUs idle over one second, before we start
cpu_idle() {
	local s0 s1
	s0=$(head -n 1 /proc/stat)
	sleep 1
	s1=$(head -n 1 /proc/stat)
	awk -v a="$s0" -v b="$s1" 'BEGIN {
		n = split(a, x); split(b, y); t = 0
		for (i = 2; i <= n; i++) t += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6])
		printf "%.0f", t ? 100 * idle / t : 100 }'
}

# --- checks ---------------------------------------------------------------
command -v "$WRK_BIN" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found"
[[ -x "$BACKEND_BIN" ]] || die "$BACKEND_BIN missing: run make first"
for t in $TARGETS; do
	case $t in
	backend | nginx | haproxy | lbd) ;;
	*) die "unknown target '$t' in TARGETS" ;;
	esac
done
for c in "${cells[@]}"; do
	[[ -n "${cell_path[$c]:-}" ]] || die "unknown cell '$c' in CELLS"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number"
work=$(mktemp -d /tmp/lbd-bench.XXXXXX)

idle=$(cpu_idle)
ncpu=$(nproc)
log "bench: $ncpu CPUs, ${idle}% idle before start; proxy on CPU $PROXY_CPUS," \
	"wrk on CPU $LOAD_CPUS, backend on CPU $BACKEND_CPUS; $WORKERS worker(s);" \
	"${DURATION}s per cell"
if [[ $idle -lt 90 ]]; then
	log "bench: WARNING: the machine is busy (${idle}% idle): numbers will be low and noisy"
fi

# The one backend every proxy forwards to.
start_backend "$BACKEND_CPUS"
upstream_pid=$backend_pid
upstream_port=$backend_port

# Cell by cell, the targets back to back: a slow spell of the host then
# hits the numbers being compared alike. Each target runs alone (started
# fresh, warmed up, measured, stopped), so an idle one costs the others
# nothing. With ROUNDS > 1 each cell is measured that many times, the
# targets' order rotated every round so none is always first.
read -ra order <<<"$TARGETS"
metrics_all=(rps p99 mbs cpu loadcpu foreign err cost)
for c in "${cells[@]}"; do
	for ((round = 1; round <= ROUNDS; round++)); do
		k=$(((round - 1) % ${#order[@]}))
		for t in "${order[@]:k}" "${order[@]:0:k}"; do
			[[ -n "${why[$t]:-}" ]] && continue
			if ! start_target "$t"; then
				log "bench: $t: n/a (${why[$t]})"
				continue
			fi
			if [[ $ROUNDS -gt 1 ]]; then
				log "bench: $t $c (round $round of $ROUNDS) ..."
			else
				log "bench: $t $c ..."
			fi
			tries=0
			while :; do
				for m in "${metrics_all[@]}"; do unset "res[$t.$c.$m]"; done
				measure "$t" "$c"
				[[ ${res[$t.$c.foreign]:-0} -le $FOREIGN_MAX ]] && break
				((tries++ < RETRIES)) || break
				# stay inside the time budget
				((SECONDS + WARMUP + DURATION + 5 < BUDGET)) || break
				log "bench: $t $c: measuring again"
			done
			stop "$target_pid"
			for m in "${metrics_all[@]}"; do
				[[ -n "${res[$t.$c.$m]:-}" ]] && res[$t.$c.$m@$round]=${res[$t.$c.$m]}
			done
		done
	done
done
stop "$upstream_pid"

# --- report ---------------------------------------------------------------
# median V...: the middle value (the mean of the two middle ones)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1; if ($1 ~ /\./) f = 1 }
		END { if (NR == 0) exit
		v = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf (f ? "%.1f" : "%.0f"), v }'
}

# round_vals TARGET CELL METRIC: the values of every round that has one
round_vals() {
	local r
	for ((r = 1; r <= ROUNDS; r++)); do
		[[ -n "${res[$1.$2.$3@$r]:-}" ]] && printf '%s ' "${res[$1.$2.$3@$r]}"
	done
	return 0
}

# The table's value of a cell: the median of its rounds; a round's errors
# or disturbance flag the cell.
for c in "${cells[@]}"; do
	for t in $TARGETS; do
		for m in rps p99 mbs cpu loadcpu cost; do
			read -ra vals <<<"$(round_vals "$t" "$c" "$m")"
			if [[ ${#vals[@]} -gt 0 ]]; then
				res[$t.$c.$m]=$(median "${vals[@]}")
			else
				unset "res[$t.$c.$m]"
			fi
		done
		read -ra vals <<<"$(round_vals "$t" "$c" err)"
		res[$t.$c.err]=$(printf '%s\n' 0 "${vals[@]}" | sort -g | tail -n 1)
		read -ra vals <<<"$(round_vals "$t" "$c" foreign)"
		res[$t.$c.foreign]=$(printf '%s\n' 0 "${vals[@]}" | sort -g | tail -n 1)
	done
done

# round_ratios CELL METRIC OTHER: lbd/OTHER in every round both measured
round_ratios() {
	local r a b
	for ((r = 1; r <= ROUNDS; r++)); do
		a=${res[lbd.$1.$2@$r]:-}
		b=${res[$3.$1.$2@$r]:-}
		[[ -n "$a" && -n "$b" && "$b" != 0 ]] &&
			awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f ", a / b }'
	done
	return 0
}
# cell_val TARGET CELL METRIC: formatted value or n/a
cell_val() {
	local v=${res[$1.$2.$3]:-}
	if [[ -z "$v" ]]; then
		printf 'n/a'
	elif [[ $3 == p99 ]]; then
		awk -v u="$v" 'BEGIN { printf "%.2f ms", u / 1000 }'
	elif [[ $3 == cpu ]]; then
		printf '%s/%s' "$v" "${res[$1.$2.loadcpu]}"
	else
		printf '%s' "$v"
	fi
	[[ -n "$v" && ${res[$1.$2.err]:-0} -gt 0 ]] && printf '!'
	[[ -n "$v" && ${res[$1.$2.foreign]:-0} -gt $FOREIGN_MAX ]] && printf '~'
	return 0
}

# ratio CELL METRIC OTHER: lbd/OTHER, the median of the rounds' ratios
ratio() {
	[[ $2 == cpu ]] && return 0
	local rs
	read -ra rs <<<"$(round_ratios "$1" "$2" "$3")"
	if [[ ${#rs[@]} -eq 0 ]]; then
		printf 'n/a'
	else
		printf '%s\n' "${rs[@]}" | sort -g | awk '{ a[NR] = $1 } END {
			printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
	fi
}

declare -A label=([ka]="keep-alive, 100 B" [close]="new conn/request, 100 B"
	[1m]="1 MiB bodies" [64m]="64 MiB bodies")
declare -A col=([backend]=backend [nginx]=nginx [haproxy]=HAProxy [lbd]=lbd)

printf '\n'
printf '%-26s %-7s %12s %12s %12s %12s %10s %12s\n' "" "" "${col[backend]}" \
	"${col[nginx]}" "${col[haproxy]}" "${col[lbd]}" "lbd/nginx" "lbd/HAProxy"
for c in "${cells[@]}"; do
	if [[ $c == ka || $c == close ]]; then
		metrics=(rps p99 cpu cost)
	else
		metrics=(mbs cpu cost)
	fi
	for m in "${metrics[@]}"; do
		case $m in
		rps) unit="req/s" ;;
		p99) unit="p99" ;;
		mbs) unit="MB/s" ;;
		cpu) unit="CPU%" ;;
		cost) unit="us/req" ;;
		esac
		[[ $m == cost && -n ${cell_big[$c]:-} ]] && unit="us/MB"
		name=${label[$c]}
		[[ $m != rps && $m != mbs ]] && name=""
		printf '%-26s %-7s %12s %12s %12s %12s %10s %12s\n' "$name" "$unit" \
			"$(cell_val backend "$c" "$m")" "$(cell_val nginx "$c" "$m")" \
			"$(cell_val haproxy "$c" "$m")" "$(cell_val lbd "$c" "$m")" \
			"$(ratio "$c" "$m" nginx)" "$(ratio "$c" "$m" haproxy)"
	done
done
printf '\n'
printf 'wrk -t 1 -c %s (small) / -c %s (bodies), %ss per cell after %ss warm-up;' \
	"$CONNS" "$BIG_CONNS" "$DURATION" "$WARMUP"
printf ' MB/s = 10^6 bytes read per second; p99 ratios: lower is better\n'
printf '! = the cell had errors; ~ = other processes took more than %s%% of the machine\n' \
	"$FOREIGN_MAX"
printf 'CPU%% = busy %% of the proxy CPUs / of the wrk CPUs during the cell: a proxy\n'
printf 'CPU well under 100 means the client side, not the proxy, set the pace\n'
printf 'us/req, us/MB = busy time of the proxy CPUs per request or per MB (of all\n'
printf 'tasks there: with BACKEND_CPUS on them, the backend'"'"'s too); lower is better\n'
printf 'proxy CPU %s, wrk CPU %s, backend CPU %s, %s worker(s), %s%% idle at start\n' \
	"$PROXY_CPUS" "$LOAD_CPUS" "$BACKEND_CPUS" "$WORKERS" "$idle"
if [[ $ROUNDS -gt 1 ]]; then
	printf '%s rounds: each number is the median of its rounds; a ratio is the median\n' "$ROUNDS"
	printf 'of the rounds'"'"' ratios (each round'"'"'s targets measured within a minute).\n'
	printf 'Per round, lbd/nginx and lbd/HAProxy:\n'
	for c in "${cells[@]}"; do
		m=rps
		[[ $c == 1m || $c == 64m ]] && m=mbs
		u="req/s"
		[[ $m == mbs ]] && u="MB/s"
		printf '  %-24s %-7s nginx: %s  HAProxy: %s\n' "${label[$c]}" "$u" \
			"$(round_ratios "$c" "$m" nginx)" "$(round_ratios "$c" "$m" haproxy)"
		if [[ $m == rps ]]; then
			printf '  %-24s %-7s nginx: %s  HAProxy: %s\n' "" p99 \
				"$(round_ratios "$c" p99 nginx)" "$(round_ratios "$c" p99 haproxy)"
		fi
		u="us/req"
		[[ $m == mbs ]] && u="us/MB"
		printf '  %-24s %-7s nginx: %s  HAProxy: %s\n' "" "$u" \
			"$(round_ratios "$c" cost nginx)" "$(round_ratios "$c" cost haproxy)"
	done
fi
for t in $TARGETS; do
	[[ -n "${why[$t]:-}" ]] && printf '%s: n/a: %s\n' "$t" "${why[$t]}"
done
exit 0
