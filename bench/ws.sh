#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Spliced streams (issue 5, item 6), in one run: TCP streams through
# `stream {}` (kind "stream": lbd's stream server with proxy_pass to an
# upstream, nginx's stream module, HAProxy `mode tcp` with `option
# splice-auto`) and upgraded WebSockets (kind "ws": the http proxies after
# a 101, HAProxy `mode http`), through lbd's two paths (lbd-sockmap =
# `kernel_splice on`, the default; lbd-splice = `kernel_splice off`, the
# splice(2) relay), nginx and HAProxy, and direct to the backend as the
# ceiling. build/wsbench is the backend and the client (`-t`: plain TCP,
# no upgrade). Pinning: each proxy runs on PROXY_CPU (one worker), the
# client and the backend on LOAD_CPU; the kernel's own work
# (softirqs, sockmap's workqueue) runs where the kernel puts it. Columns:
#
#   p50_us p99_us   64-byte ping-pong round trip on one stream, PINGS times
#   g1              Gbit/s of one stream reading BULK_MB from the backend
#   g100            Gbit/s of STREAMS streams at once, BULK_MB among them
#   px/GiB m/GiB    CPU seconds per GiB during g1 (g100): the proxy
#                   process (/proc/PID/stat), and the machine's for the
#                   transfer: proxy + client + backend + all kernel threads
#                   (kworkers run sockmap's redirects, ksoftirqd); softirq
#                   time is in the task it interrupted (tick accounting).
#                   Not /proc/stat: on this shared, saturated machine its
#                   busy delta is the other sessions' load
#   slow_MiB        a slow reader: the backend sends SLOW_MB at full speed
#                   to a client that reads nothing for STALL_MS, then
#                   16 KiB per 10 ms for STALL_MS, then the rest; the peak
#                   (sampled every ~0.1 s) of the kernel memory of the
#                   stream's sockets (the four of a proxied stream: ss -tm
#                   rmem_alloc + wmem_queued)
#   proxy_MiB       the same for the proxy's two sockets alone
#   sockstat_MiB    the same peak from /proc/net/sockstat's TCP mem pages
#                   (machine-wide, less its value before)
#   path            lbd's path for the slow reader's stream, from `lbctl
#                   conns` while it ran (sockmap, splice; both if it switched)
#   exact           streams of VERIFY_MB (wsbench verify: every byte checked
#                   for its position), plus the slow reader's stream, that
#                   arrived byte-exact, of VERIFY_RUNS + 1
#   kern%           lbd on sockmap: the share of the target's stream bytes
#                   (all its runs, both ways) that the kernel redirected,
#                   the rest went through lbd's buffers (its "sockmap
#                   stream done" debug lines: lbd logs at debug level here)
#
# Target lbd0-sockmap (lbd0-splice) is lbd-sockmap (lbd-splice) run from
# LBD0_BIN, another build (e.g. the main branch's) to compare in one run.
#
#   bench/ws.sh   [KINDS="stream ws"] [TARGETS="direct lbd-sockmap lbd-splice nginx haproxy"]
#                 [LBD0_BIN=/work/main/build/lbd] (for the lbd0-* targets)
#                 [PINGS=20000] [BULK_MB=2048] [STREAMS=100] [SLOW_MB=64] [STALL_MS=2000]
#                 [VERIFY_RUNS=3] [VERIFY_MB=1024] [PROXY_CPU=0] [LOAD_CPU=1]
#
# Every client run is bounded by its bytes and by `timeout` (wsbench's
# sockets also time out after 30 s of silence); every process started is
# stopped on exit; only 127.0.0.1. The run ends with lbd's ratios to the
# goals of the issue (see bench/README.md, "Upgraded streams").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
KINDS=${KINDS:-stream ws}
TARGETS=${TARGETS:-direct lbd-sockmap lbd-splice nginx haproxy}
PINGS=${PINGS:-20000}
BULK_MB=${BULK_MB:-2048}
STREAMS=${STREAMS:-100}
SLOW_MB=${SLOW_MB:-64}
STALL_MS=${STALL_MS:-2000}
VERIFY_RUNS=${VERIFY_RUNS:-3}
VERIFY_MB=${VERIFY_MB:-1024}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
LBCTL_BIN=${LBCTL_BIN:-$root/build/lbctl}
LBD0_BIN=${LBD0_BIN:-/work/main/build/lbd}
WS=$root/build/wsbench

make -s -C "$root" build/lbd build/lbctl build/wsbench
. "$root/bench/lib.sh"
pin=/sys/fs/bpf/lbd-wsbench-$$
bench_workdir lbd-wsbench "$pin"

backend=$(free_port)
taskset -c "$LOAD_CPU" "$WS" server "$backend" &
srv=$!
pids+=("$srv")
wait_port "$backend"

# the configuration nginx and lbd share, for $kind; lbd adds its pin
# directory and $ks (kernel_splice on|off)
nginx_conf() { # PORT NAME
	local main="" ksl="" lvl=""
	if [[ $2 == lbd ]]; then
		main="bpf_pin_path $pin; reuseport_steering off;"
		ksl="kernel_splice $ks;"
		lvl=" debug"
	fi
	if [[ $kind == stream ]]; then
		cat <<EOF
load_module $NGINX_STREAM_MODULE;
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err$lvl;
events { worker_connections 4096; }
$main
stream {
    upstream be { server 127.0.0.1:$backend; }
    server {
        listen 127.0.0.1:$1;
        proxy_pass be;
        proxy_timeout 1h;
        $ksl
    }
}
EOF
		return
	fi
	cat <<EOF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err$lvl;
events { worker_connections 4096; }
$main
http {
    access_log off;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://127.0.0.1:$backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 3600s;
            $ksl
        }
    }
}
EOF
}

haproxy_conf() { # PORT
	local mode=tcp
	[[ $kind == ws ]] && mode=http
	cat <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode $mode
    option splice-auto
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend f
    bind 127.0.0.1:$1
    default_backend b
backend b
    server s1 127.0.0.1:$backend
EOF
}

# kthread_snap FILE: "pid ticks" (utime+stime) of every kernel thread
# (children of kthreadd); cat skips the ones that exit meanwhile
kthread_snap() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
		pid = $1; sub(/^.*\) /, ""); if ($2 == 2) print pid, $12 + $13 }' >"$1"
}

# kthread_delta FILE0 FILE1: their ticks between the two snapshots (a
# thread that started meanwhile counts whole; one that exited is lost)
kthread_delta() {
	awk 'NR == FNR { a[$1] = $2; next }
		{ d += ($1 in a && $2 >= a[$1]) ? $2 - a[$1] : $2 } END { print d + 0 }' "$1" "$2"
}

sockstat_pages() {
	awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) }' \
		/proc/net/sockstat
}

skmem_bytes() { # FILTER -> rmem_alloc + wmem_queued of the established sockets it selects
	ss -tmnH state established "( $1 )" 2>/dev/null |
		grep -o 'skmem:([^)]*)' |
		awk -F'[(),]' '{ for (i = 2; i <= NF; i++) {
				if ($i ~ /^r[0-9]/) s += substr($i, 2)
				if ($i ~ /^w[0-9]/) s += substr($i, 2) } }
			END { print s + 0 }'
}

# wsbench on LOAD_CPU, plain TCP for kind stream, bounded in time
client() {
	"${wsc[@]}" "$@"
}

# bulk_cpu STREAMS -> "gbit proxy_s/GiB machine_s/GiB"; a short stream is
# printed as WRONG (never a number)
bulk_cpu() {
	local g c0 c1 s0 s1 k
	c0=$([[ -n $pid ]] && proc_ticks "$pid" || echo 0)
	s0=$(proc_ticks "$srv")
	kthread_snap "$work/k0"
	g=$(/usr/bin/time -f '%U %S' -o "$work/client.time" \
		"${wsc[@]}" bulk "$port" $((BULK_MB << 20)) "$1" 2>"$work/bulk.err") || g=WRONG
	kthread_snap "$work/k1"
	k=$(kthread_delta "$work/k0" "$work/k1")
	s1=$(proc_ticks "$srv")
	c1=$([[ -n $pid ]] && proc_ticks "$pid" || echo 0)
	awk -v g="$g" -v c="$((c1 - c0))" -v o="$((s1 - s0 + k))" \
		-v gib="$(awk -v mb="$BULK_MB" 'BEGIN { print mb / 1024 }')" \
		-v hz="$(getconf CLK_TCK)" -v haspid="${pid:+1}" '
		NR == 1 { cl = $1 + $2 }
		END {
			px = haspid ? sprintf("%.3f", c / hz / gib) : "-"
			printf "%s %s %.3f\n", g, px, ((c + o) / hz + cl) / gib
		}' "$work/client.time"
}

# slow_reader -> "skmem_MiB proxy_MiB sockstat_MiB ok(0|1) path"; path:
# the paths lbd's `lbctl conns` showed for the stream while it ran (- for
# the others)
slow_reader() {
	local s0 spid peak=0 ppeak=0 speak=0 v ok=0 paths="" p
	s0=$(sockstat_pages)
	client slow "$port" $((SLOW_MB << 20)) "$STALL_MS" >/dev/null 2>"$work/slow.err" &
	spid=$!
	while kill -0 "$spid" 2>/dev/null; do
		v=$(skmem_bytes "sport = :$port or dport = :$port or sport = :$backend or dport = :$backend")
		((v > peak)) && peak=$v
		# the proxy's two: its client side, its upstream side
		v=$(skmem_bytes "sport = :$port or dport = :$backend")
		((v > ppeak)) && ppeak=$v
		v=$(sockstat_pages)
		((v - s0 > speak)) && speak=$((v - s0))
		if [[ $t == lbd-* ]]; then
			for p in $("$LBCTL_BIN" -s "$work/lbd/logs/lbd.sock" conns 2>/dev/null |
				awk '$1 ~ /^127\./ { print $3 }'); do
				[[ ,$paths, == *,$p,* ]] || paths=${paths:+$paths,}$p
			done
		fi
		sleep 0.1
	done
	wait "$spid" && ok=1
	awk -v p="$peak" -v pp="$ppeak" -v direct="$([[ $t == direct ]] && echo 1)" -v s="$speak" \
		-v ok="$ok" -v path="${paths:--}" 'BEGIN {
		printf "%.1f %s %.1f %d %s\n", p / 1048576,
			direct ? "-" : sprintf("%.1f", pp / 1048576), s * 4096 / 1048576, ok, path }'
}

start() { # NAME -> $port, $pid
	case $1 in
	direct)
		port=$backend
		pid=""
		;;
	lbd-sockmap | lbd-splice | lbd0-sockmap | lbd0-splice)
		ks=on
		[[ $1 == *-splice ]] && ks=off
		rm -f "$work/lbd.err"
		if [[ $1 == lbd0-* ]]; then
			LBD_BIN=$LBD0_BIN start_target lbd
		else
			start_target lbd
		fi
		;;
	*)
		start_target "$1"
		;;
	esac
}

# kernel_share -> the percentage of the bytes of lbd's sockmap streams so
# far that the kernel redirected ("sockmap stream done" lines), or -
kernel_share() {
	[[ $t == lbd*-sockmap && -f $work/lbd.err ]] || { echo -; return; }
	awk '/sockmap stream done/ {
		for (i = 1; i <= NF; i++) {
			if ($(i + 1) == "by") lbd += $i
			if ($(i + 1) ~ /^redirected/) k += $i
		} }
		END { if (lbd + k > 0) printf "%.1f\n", 100 * k / (lbd + k); else print "-" }' \
		"$work/lbd.err"
}

stop() {
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

echo "proxy on CPU $PROXY_CPU; client and backend (build/wsbench) on CPU $LOAD_CPU;" \
	"BULK_MB=$BULK_MB STREAMS=$STREAMS SLOW_MB=$SLOW_MB STALL_MS=$STALL_MS PINGS=$PINGS"
fmt='%-6s %-12s %8s %8s %6s %7s %7s %6s %7s %7s %8s %9s %12s %-8s %6s %6s\n'
# shellcheck disable=SC2059
printf "$fmt" kind target p50_us p99_us g1 px/GiB m/GiB g100 px/GiB m/GiB slow_MiB proxy_MiB sockstat_MiB path exact kern%
rows=$work/rows
for kind in $KINDS; do
	wsc=(timeout 120 taskset -c "$LOAD_CPU" "$WS")
	[[ $kind == stream ]] && wsc+=(-t)
	for t in $TARGETS; do
		if ! start "$t"; then
			printf '%-6s %-12s did not start\n' "$kind" "$t"
			stop
			continue
		fi
		pp=$(client pingpong "$port" "$PINGS" 64 2>/dev/null) || pp="failed failed"
		read -r p50 p99 <<<"$pp"
		read -r g1 px1 m1 <<<"$(bulk_cpu 1)"
		read -r g100 px100 m100 <<<"$(bulk_cpu "$STREAMS")"
		read -r slow pslow sst slow_ok path <<<"$(slow_reader)"
		ok=$slow_ok
		for _ in $(seq "$VERIFY_RUNS"); do
			client verify "$port" $((VERIFY_MB << 20)) >/dev/null 2>>"$work/verify.err" &&
				ok=$((ok + 1))
		done
		stop
		# shellcheck disable=SC2059
		printf "$fmt" "$kind" "$t" "$p50" "$p99" "$g1" "$px1" "$m1" "$g100" "$px100" "$m100" \
			"$slow" "$pslow" "$sst" "$path" "$ok/$((VERIFY_RUNS + 1))" "$(kernel_share)"
		echo "$kind $t $p50 $p99 $g1 $px1 $m1 $g100 $px100 $m100 $slow" >>"$rows"
	done
done

# the issue's goals, for lbd's rows: ping-pong p50 within 2.5x of direct;
# bulk at least HAProxy's (ratio >= 1); lbd's own CPU per GiB under 10% of
# a userspace relay's (nginx, which copies through its buffers: ratio <
# 0.10); the machine's CPU per GiB beside it
echo
echo "ratios (goal): p50/direct (<=2.5)  g1,g100/haproxy (>=1)  px/GiB,m/GiB over nginx's (px <0.10)"
awk '{ k = $1 "/" $2; for (i = 3; i <= NF; i++) v[k, i] = $i; seen[$1 " " $2] = 1 }
	function r(a, b) { return (b + 0 > 0 && a ~ /^[0-9.]+$/) ? sprintf("%.2f", a / b) : "-" }
	END {
		for (s in seen) {
			split(s, f, " ")
			if (f[2] !~ /^lbd/)
				continue
			d = f[1] "/direct"; h = f[1] "/haproxy"; n = f[1] "/nginx"; k = f[1] "/" f[2]
			printf "%-6s %-12s p50 %s  g1 %s  g100 %s  px1 %s  m1 %s  px100 %s  m100 %s\n",
				f[1], f[2], r(v[k, 3], v[d, 3]), r(v[k, 5], v[h, 5]), r(v[k, 8], v[h, 8]),
				r(v[k, 6], v[n, 6]), r(v[k, 7], v[n, 7]), r(v[k, 9], v[n, 9]),
				r(v[k, 10], v[n, 10])
		}
	}' "$rows" | sort
