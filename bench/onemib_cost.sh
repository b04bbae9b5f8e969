#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What a proxied 1 MiB response costs the client (wrk) and the backend, per
# MiB delivered, for lbd, nginx and HAProxy, from counts rather than
# wall-clock rates (see bench/README.md, "1 MiB bodies: where the client's
# CPU goes"). The layout is bench/run.sh's 1 MiB row: proxy on CPU 0, wrk
# (-t 1 -c 4, GET /size/1048576) and build/demo_backend on CPU 1, the
# proxies with run.sh's configs. Counted per target:
#
#   - syscalls by kind, context switches, task-clock of wrk, the backend
#     and the proxy (perf stat -p, syscall tracepoints);
#   - packets put on lo in each process's context and on each CPU
#     (net:net_dev_xmit; over 1000 bytes = a data segment), wake-ups,
#     context switches, IPIs and softirqs per CPU (perf stat -a -A);
#   - per leg: TCP segments and bytes (ss -ti of every socket before and
#     after; ss counts segments in MSS units, and on lo a 64 KiB skb is 2
#     of them), bytes queued in the sockets (ss -tm every 0.2 s);
#   - busy and softirq time per CPU (/proc/stat; rates, which other
#     sessions' load inflates), and the bytes wrk read (/proc/PID/io).
#
# Run as root, the script re-runs itself in a private network namespace
# (unshare -n, loopback only), so the namespace's TCP counters (nstat)
# count this benchmark alone; otherwise they include other sessions'
# loopback traffic and are left out.
#
# Per target: start it, let wrk run WARMUP seconds, then count for
# DURATION seconds (perf enabled, sockets sampled), stop wrk with SIGSTOP
# (its sockets stay open for the second sample), stop counting, kill wrk.
# Bounded: DURATION + WARMUP seconds of load per target, `timeout` on all.
#
#   bench/onemib_cost.sh                 # TARGETS="nginx haproxy lbd"
#   TARGETS="haproxy lbd2 lbd" LBD2_BIN=/tmp/lbd.old bench/onemib_cost.sh
#   BODY=67108864 bench/onemib_cost.sh   # the 64 MiB row instead
#   RECORD=1 bench/onemib_cost.sh        # also: top symbols on wrk's CPU
#   KEEP=/tmp/dir                        # keep the raw counts
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-4}
BODY=${BODY:-1048576}
TARGETS=${TARGETS:-nginx haproxy lbd}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BACKEND_CPU=${BACKEND_CPU:-1}
LBD_BIN=${LBD_BIN:-$root/build/lbd}
LBD2_BIN=${LBD2_BIN:-}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
BACKEND_BIN=${BACKEND_BIN:-$root/build/demo_backend}

if [[ -z ${ONEMIB_NETNS:-} && $EUID -eq 0 ]] && unshare -n true 2>/dev/null; then
	exec unshare -n env ONEMIB_NETNS=1 "$0" "$@"
fi
if [[ -n ${ONEMIB_NETNS:-} ]]; then
	ip link set lo up
fi

for t in perf wrk ss taskset; do
	command -v $t >/dev/null || { echo "onemib_cost: $t is needed" >&2; exit 1; }
done
. "$root/bench/lib.sh"
bench_workdir onemib

nginx_conf() { # PORT NAME: the config nginx and lbd share (bench/run.sh's)
	cat <<EOF
worker_processes 1;
pid $work/$2.pid;
error_log $work/$2.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream bench_backend {
        server 127.0.0.1:$backend;
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

haproxy_conf() { # PORT (bench/run.sh's)
	cat <<EOF
global
    nbthread 1
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
    server b1 127.0.0.1:$backend
EOF
}

# descendants PID -> PID and all its descendants, comma-separated
descendants() {
	local list=$1 p kids
	# shellcheck disable=SC2013 # the children files hold space-separated pids
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		kids=$(descendants "$p")
		list+=",$kids"
	done
	echo "$list"
}

EVENTS="task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter"
for s in read write readv writev recvfrom sendto recvmsg sendmsg splice \
	epoll_wait epoll_pwait ioctl epoll_ctl setsockopt; do
	EVENTS+=",syscalls:sys_enter_$s"
done

# what happens on each CPU, whoever runs there: wake-ups, the IPIs that
# carry them to a halted CPU (a VM exit each in a guest), softirqs
CPU_EVENTS="sched:sched_wakeup,sched:sched_switch,ipi:ipi_send_cpu"
CPU_EVENTS+=",irq_vectors:reschedule_entry,irq_vectors:call_function_single_entry,irq:softirq_entry"

# perf_start NAME PERF-ARGS...: perf stat, disabled, controlled via fifo
perf_start() {
	local name=$1
	shift
	mkfifo "$work/$name.ctl" "$work/$name.ack"
	timeout -k 2 $((DURATION + WARMUP + 60)) perf stat -x, "$@" -D -1 \
		--control "fifo:$work/$name.ctl,$work/$name.ack" -o "$work/$name.perf" &
	pids+=($!)
	eval "perfpid_$name=$!"
	exec {fd}<>"$work/$name.ctl"
	eval "ctl_$name=$fd"
	exec {fd}<>"$work/$name.ack"
	eval "ack_$name=$fd"
}

perf_cmd() { # NAME enable|disable
	local c a
	eval "c=\$ctl_$1 a=\$ack_$1"
	echo "$2" >&"$c"
	read -r -t 5 _ <&"$a" || true
}

perf_stop() { # NAME
	local p
	eval "p=\$perfpid_$1"
	kill -INT "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# sock_snap FILE: one line per TCP socket: "local peer bytes_sent
# bytes_received segs_out segs_in data_segs_out data_segs_in"
sock_snap() {
	ss -tinH >"$1.raw" # rcv_rtt, rcv_space, rcvmss ... as ss prints them (KEEP)
	awk '
	/^[A-Z-]+ / { key = $4 " " $5; next }
	key != "" {
		bs = br = so = si = dso = dsi = 0
		for (i = 1; i <= NF; i++) {
			split($i, kv, ":")
			if (kv[1] == "bytes_sent") bs = kv[2]
			else if (kv[1] == "bytes_received") br = kv[2]
			else if (kv[1] == "segs_out") so = kv[2]
			else if (kv[1] == "segs_in") si = kv[2]
			else if (kv[1] == "data_segs_out") dso = kv[2]
			else if (kv[1] == "data_segs_in") dsi = kv[2]
		}
		print key, bs, br, so, si, dso, dsi
		key = ""
	}' "$1.raw" >"$1"
}

nstat_snap() { # FILE
	if [[ -n ${ONEMIB_NETNS:-} ]]; then
		nstat -az 2>/dev/null | awk 'NR > 1 { print $1, $2 }' >"$1"
	else
		: >"$1"
	fi
}

# measure NAME: the counts of one target into $work/NAME.*
measure() {
	local name=$1 bin
	port=$(free_port)
	case $name in
	nginx)
		nginx_conf "$port" nginx >"$work/nginx.conf"
		taskset -c "$PROXY_CPU" "$NGINX_BIN" -p "$work/" -c "$work/nginx.conf" \
			-e "$work/nginx.err" -g 'daemon off;' 2>/dev/null &
		;;
	haproxy)
		haproxy_conf "$port" >"$work/haproxy.cfg"
		taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$work/haproxy.cfg" 2>/dev/null &
		;;
	lbd | lbd2)
		bin=$LBD_BIN
		[[ $name == lbd2 ]] && bin=$LBD2_BIN
		nginx_conf "$port" "$name" >"$work/$name.conf"
		taskset -c "$PROXY_CPU" "$bin" -p "$work/" -c "$work/$name.conf" \
			2>"$work/$name.out" &
		;;
	*)
		echo "onemib_cost: unknown target $name" >&2
		exit 1
		;;
	esac
	local ppid=$!
	pids+=("$ppid")
	wait_port "$port" || { echo "onemib_cost: $name did not start" >&2; exit 1; }
	sleep 0.2
	local proxy_pids
	proxy_pids=$(descendants "$ppid")

	timeout -k 2 $((DURATION + WARMUP + 30)) taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" \
		-d $((DURATION + WARMUP + 20))s --timeout 10s \
		"http://127.0.0.1:$port/size/$BODY" >"$work/$name.wrk" 2>&1 &
	local tpid=$! wpid=""
	pids+=("$tpid")
	for _ in $(seq 50); do
		wpid=$(pgrep -P "$(pgrep -P $tpid)" -x wrk 2>/dev/null || true)
		[[ -z $wpid ]] && wpid=$(pgrep -P $tpid -x wrk 2>/dev/null || true)
		[[ -n $wpid ]] && break
		sleep 0.05
	done
	[[ -n $wpid ]] || { echo "onemib_cost: wrk did not start" >&2; exit 1; }
	# packets put on lo in each process's context (softirqs included):
	# over 1000 bytes a data segment, else an ACK or a request
	local xmit=(-e net:net_dev_xmit --filter 'len > 1000' -e net:net_dev_xmit --filter 'len <= 1000')
	perf_start wrk -e "$EVENTS" "${xmit[@]}" -p "$wpid"
	perf_start be -e "$EVENTS" "${xmit[@]}" -p "$backend_pids"
	perf_start px -e "$EVENTS" "${xmit[@]}" -p "$proxy_pids"
	perf_start cpu -e "$CPU_EVENTS" "${xmit[@]}" -a -A
	sleep "$WARMUP"

	perf_cmd wrk enable
	perf_cmd be enable
	perf_cmd px enable
	perf_cmd cpu enable
	sock_snap "$work/$name.ss0"
	nstat_snap "$work/$name.ns0"
	local rchar0 rchar1
	rchar0=$(awk '$1 == "rchar:" { print $2 }' "/proc/$wpid/io")
	local st0 st1
	st0=$(grep '^cpu[0-9]' /proc/stat)
	# RECORD=1: where CPU 1's time goes (perf record, cpu-clock samples)
	local rec=""
	if [[ -n ${RECORD:-} ]]; then
		timeout -k 2 $((DURATION + 10)) perf record -q -C "$LOAD_CPU" -F 999 \
			-o "$work/$name.rec" -- sleep "$DURATION" 2>/dev/null &
		rec=$!
	fi
	# bytes queued in the sockets of each leg, sampled every 0.2 s
	local i
	for ((i = 0; i < DURATION * 5; i++)); do
		ss -tnmH
		sleep 0.2
	done >"$work/$name.q"
	kill -STOP "$wpid"
	if [[ -n $rec ]]; then
		wait "$rec" || true
		perf report -i "$work/$name.rec" --no-children --sort comm,sym --stdio 2>/dev/null |
			grep -v -e '^#' -e '^$' | head -n "${RECORD_TOP:-25}" >"$work/$name.top" || true
	fi
	rchar1=$(awk '$1 == "rchar:" { print $2 }' "/proc/$wpid/io")
	st1=$(grep '^cpu[0-9]' /proc/stat)
	# busy % of each CPU in the window (a rate: other sessions' load shows
	# here), and its busy and softirq time in ms (USER_HZ ticks)
	printf '%s\n%s\n' "$st0" "$st1" | awk -v hz="$(getconf CLK_TCK)" '{ t = 0
		for (i = 2; i <= 9; i++) t += $i
		b = t - $5 - $6
		if ($1 in T) {
			printf "cpu busy %s %.0f\n", $1, 100 * (b - B[$1]) / (t - T[$1])
			printf "cpu busyms %s %.1f\n", $1, 1000 * (b - B[$1]) / hz
			printf "cpu softirqms %s %.1f\n", $1, 1000 * ($8 - S[$1]) / hz
		} else { T[$1] = t; B[$1] = b; S[$1] = $8 } }' >"$work/$name.busy"
	echo "wrk rchar bytes $((rchar1 - rchar0))" >"$work/$name.rchar"
	perf_cmd wrk disable
	perf_cmd be disable
	perf_cmd px disable
	perf_cmd cpu disable
	sock_snap "$work/$name.ss1"
	nstat_snap "$work/$name.ns1"
	perf_stop wrk
	perf_stop be
	perf_stop px
	perf_stop cpu
	for p in wrk be px cpu; do
		cp "$work/$p.perf" "$work/$name.$p.perf"
	done
	rm -f "$work"/{wrk,be,px,cpu}.{ctl,ack,perf}
	kill -KILL "$wpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
}

# report NAME -> "key value" lines, per MiB delivered to wrk
report() {
	local n=$1
	{
		for who in wrk be px; do
			awk -F, -v who="$who" '$3 != "" && $1 ~ /^[0-9.]+$/ {
				e = $3; sub(/^syscalls:sys_enter_/, "", e)
				sub(/^raw_syscalls:sys_enter$/, "syscalls", e)
				if (e == "net:net_dev_xmit") e = nx++ ? "xmit_small" : "xmit_data"
				print "perf", who, e, $1 }' "$work/$n.$who.perf"
		done
		# -A: CPU<n>,value,unit,event,...
		awk -F, '$2 ~ /^[0-9.]+$/ { e = $4
			if (e == "net:net_dev_xmit") e = nx[$1]++ ? "xmit_small" : "xmit_data"
			sub(/^[a-z_]+:/, "", e)
			print "percpu", tolower($1), e, $2 }' "$work/$n.cpu.perf"
		awk -v bp="$backend" -v pp="$port" '
		FNR == 1 { f++ }
		{
			split($1, l, ":"); split($2, r, ":")
			lp = l[length(l)]; rp = r[length(r)]
			cls = lp == bp ? "be" : rp == bp ? "pxup" : lp == pp ? "pxcl" : rp == pp ? "wrk" : ""
			if (cls == "") next
			k = $1 " " $2
			for (i = 3; i <= 8; i++) {
				if (f == 1) a[k, i] = $i
				else { d[cls, i] += $i - a[k, i] }
			}
			seen[cls] = 1
		}
		END {
			split("bytes_sent bytes_received segs_out segs_in data_segs_out data_segs_in", nm, " ")
			for (c in seen)
				for (i = 3; i <= 8; i++) print "ss", c, nm[i - 2], d[c, i] + 0
		}' "$work/$n.ss0" "$work/$n.ss1"
		awk 'FNR == 1 { f++ } f == 1 { a[$1] = $2; next } { print "nstat", "ns", $1, $2 - a[$1] }' \
			"$work/$n.ns0" "$work/$n.ns1"
		cat "$work/$n.rchar" "$work/$n.busy"
		# mean over the samples of the bytes queued per leg (Recv-Q + Send-Q)
		# and of the socket buffer sizes the kernel chose (skmem rb, tb)
		awk -v bp="$backend" -v pp="$port" -v ns=$((DURATION * 5)) '
		/^[A-Z-]+ / {
			split($4, l, ":"); split($5, r, ":")
			lp = l[length(l)]; rp = r[length(r)]
			cls = lp == bp ? "be" : rp == bp ? "pxup" : lp == pp ? "pxcl" : rp == pp ? "wrk" : ""
			if (cls == "") next
			q[cls, "recvq"] += $2; q[cls, "sendq"] += $3
			seen[cls] = 1
			next
		}
		/skmem/ && cls != "" {
			if (match($0, /rb[0-9]+/)) q[cls, "rb"] += substr($0, RSTART + 2, RLENGTH - 2)
			if (match($0, /tb[0-9]+/)) q[cls, "tb"] += substr($0, RSTART + 2, RLENGTH - 2)
			cls = ""
		}
		END { for (c in seen) for (k in q) { split(k, kk, SUBSEP); if (kk[1] == c) print "q", c, kk[2], q[k] / ns } }' \
			"$work/$n.q"
	} >"$work/$n.raw"
}

# table: one row per count, one column per target, per MiB
table() {
	awk -v targets="$TARGETS" -v dur="$DURATION" '
	{ v[FILENAME, $1 " " $2 " " $3] = $4 }
	END {
		nt = split(targets, T, " ")
		for (t = 1; t <= nt; t++) {
			f = ENVIRON["work"] "/" T[t] ".raw"
			mib[t] = v[f, "wrk rchar bytes"] / 1048576
			# sockets closed in the window (keepalive_requests) are
			# missing from ss: its rows are per MiB those sockets carried
			mibcl[t] = v[f, "ss wrk bytes_received"] / 1048576
			mibup[t] = v[f, "ss be bytes_sent"] / 1048576
		}
		printf "%-52s", "per MiB delivered to wrk"
		for (t = 1; t <= nt; t++) printf " %10s", T[t]
		printf "\n"
		row("MiB delivered (" dur " s)", "", 1)
		row("CPU 0 / CPU 1 busy % (a rate, noisy)", "", 2)
		row("wrk: syscalls", "perf wrk syscalls")
		row("wrk: read", "perf wrk read")
		row("wrk: ioctl (FIONREAD)", "perf wrk ioctl")
		row("wrk: epoll_wait", "perf wrk epoll_wait|perf wrk epoll_pwait")
		row("wrk: context switches", "perf wrk context-switches")
		row("wrk: CPU ms (task-clock)", "perf wrk task-clock")
		row("backend: syscalls", "perf be syscalls")
		row("backend: writev", "perf be writev")
		row("backend: reads (read, recvfrom)", "perf be read|perf be recvfrom")
		row("backend: epoll_wait", "perf be epoll_wait|perf be epoll_pwait")
		row("backend: context switches", "perf be context-switches")
		row("backend: CPU ms (task-clock)", "perf be task-clock")
		row("proxy: syscalls", "perf px syscalls")
		row("proxy: reads (recvfrom, read, readv)", "perf px recvfrom|perf px read|perf px readv")
		row("proxy: writes (writev, sendto, write, sendmsg)", "perf px writev|perf px sendto|perf px write|perf px sendmsg")
		row("proxy: splice", "perf px splice")
		row("proxy: epoll_wait", "perf px epoll_wait|perf px epoll_pwait")
		row("proxy: epoll_ctl", "perf px epoll_ctl")
		row("proxy: setsockopt", "perf px setsockopt")
		row("proxy: context switches", "perf px context-switches")
		row("proxy: CPU ms (task-clock)", "perf px task-clock")
		row("CPU 0: busy ms (/proc/stat, all tasks)", "cpu busyms cpu0")
		row("CPU 1: busy ms (/proc/stat, all tasks)", "cpu busyms cpu1")
		row("CPU 1: of which softirq ms", "cpu softirqms cpu1")
		row("CPU 1: wrk + backend ms (task-clock)", "perf wrk task-clock|perf be task-clock")
		row("CPU 0: wake-ups (sched_wakeup)", "percpu cpu0 sched_wakeup")
		row("CPU 1: wake-ups (sched_wakeup)", "percpu cpu1 sched_wakeup")
		row("CPU 0: context switches", "percpu cpu0 sched_switch")
		row("CPU 1: context switches", "percpu cpu1 sched_switch")
		row("CPU 0: IPIs sent (ipi_send_cpu)", "percpu cpu0 ipi_send_cpu")
		row("CPU 1: IPIs sent (ipi_send_cpu)", "percpu cpu1 ipi_send_cpu")
		row("CPU 0: IPIs taken (reschedule + call_function_single)", "percpu cpu0 reschedule_entry|percpu cpu0 call_function_single_entry")
		row("CPU 1: IPIs taken (reschedule + call_function_single)", "percpu cpu1 reschedule_entry|percpu cpu1 call_function_single_entry")
		row("CPU 0: softirqs", "percpu cpu0 softirq_entry")
		row("CPU 1: softirqs", "percpu cpu1 softirq_entry")
		row("data segments sent in the context of wrk", "perf wrk xmit_data")
		row("data segments sent in the context of the backend", "perf be xmit_data")
		row("data segments sent in the context of the proxy", "perf px xmit_data")
		row("data segments sent on CPU 0 (any context)", "percpu cpu0 xmit_data")
		row("data segments sent on CPU 1 (any context)", "percpu cpu1 xmit_data")
		row("small segments sent in the context of wrk", "perf wrk xmit_small")
		row("small segments sent in the context of the backend", "perf be xmit_small")
		row("small segments sent in the context of the proxy", "perf px xmit_small")
		row("backend->proxy: data segments (ss, MSS units)", "ss be data_segs_out")
		avg("backend->proxy: bytes per ss data segment", "ss be bytes_sent", "ss be data_segs_out")
		row("proxy->backend: segments (ACKs)", "ss pxup segs_out")
		row("proxy->wrk: data segments (ss, MSS units)", "ss pxcl data_segs_out")
		avg("proxy->wrk: bytes per ss data segment", "ss pxcl bytes_sent", "ss pxcl data_segs_out")
		row("wrk->proxy: segments (ACKs + requests)", "ss wrk segs_out")
		row("all TCP segments (nstat TcpOutSegs)", "nstat ns TcpOutSegs")
		kib("KiB queued: backend send (sum of 4 sockets)", "q be sendq")
		kib("KiB queued: proxy upstream receive", "q pxup recvq")
		kib("KiB queued: proxy client send", "q pxcl sendq")
		kib("KiB queued: wrk receive", "q wrk recvq")
		kib("KiB socket buffers: wrk rcvbuf (rb, autotuned)", "q wrk rb")
		kib("KiB socket buffers: proxy client sndbuf (tb)", "q pxcl tb")
		kib("KiB socket buffers: proxy upstream rcvbuf (rb)", "q pxup rb")
		kib("KiB socket buffers: backend sndbuf (tb)", "q be tb")
		row("zero-window adverts (TCPToZeroWindowAdv)", "nstat ns TcpExtTCPToZeroWindowAdv")
		row("delayed ACKs (DelayedACKs)", "nstat ns TcpExtDelayedACKs")
		avg("proxy: body bytes per read call", "", "perf px recvfrom|perf px read|perf px readv")
		avg("proxy: body bytes per write call", "", "perf px writev|perf px sendto|perf px write|perf px sendmsg")
		avg("wrk: bytes per read call", "", "perf wrk read")
	}
	function kib(label, k,    t) {
		printf "%-52s", label
		for (t = 1; t <= nt; t++) printf " %10.0f", val(t, k) / 1024
		printf "\n"
	}
	# val T "K1|K2|...": the sum of those counts of target T
	function val(t, ks,    n, K, i, x) {
		n = split(ks, K, "|")
		for (i = 1; i <= n; i++) x += v[ENVIRON["work"] "/" T[t] ".raw", K[i]]
		return x
	}
	function row(label, k, raw,    t, x, m) {
		if (label ~ /^all TCP|^zero|^delayed/ && !ENVIRON["ONEMIB_NETNS"]) return
		printf "%-52s", label
		for (t = 1; t <= nt; t++) {
			if (raw == 1) { printf " %10.0f", mib[t]; continue }
			if (raw == 2) { printf " %10s", val(t, "cpu busy cpu0") "/" val(t, "cpu busy cpu1"); continue }
			x = val(t, k)
			m = k ~ /^ss (be|pxup)/ ? mibup[t] : k ~ /^ss/ ? mibcl[t] : mib[t]
			if (k ~ /task-clock|ms /) printf " %10.2f", m ? x / m : 0
			else printf " %10.1f", m ? x / m : 0
		}
		printf "\n"
	}
	function avg(label, kn, kd,    t, d) {
		printf "%-52s", label
		for (t = 1; t <= nt; t++) {
			d = val(t, kd)
			# no numerator: the bytes wrk read in the window
			printf " %10.0f", d ? (kn == "" ? mib[t] * 1048576 : val(t, kn)) / d : 0
		}
		printf "\n"
	}' "$work"/*.raw
}

# the backend every target uses, on CPU 1; its pid(s) for perf
demo_backend_start "$BACKEND_CPU"
backend_pids=$(descendants "${pids[-1]}")
export work ONEMIB_NETNS
for t in $TARGETS; do
	echo "onemib_cost: $t ..." >&2
	measure "$t"
	report "$t"
done
table
[[ -n ${KEEP:-} ]] && cp -r "$work" "$KEEP"
if [[ -n ${RECORD:-} ]]; then
	for t in $TARGETS; do
		echo
		echo "CPU $LOAD_CPU, $t: top symbols (perf record -C $LOAD_CPU, cpu-clock samples)"
		cat "$work/$t.top"
	done
fi
echo
echo "wrk -t 1 -c $CONNS GET /size/$BODY for ${DURATION}s after ${WARMUP}s; proxy CPU $PROXY_CPU," \
	"wrk CPU $LOAD_CPU, backend CPU $BACKEND_CPU; counts from perf stat and ss -ti;" \
	"$([[ -n ${ONEMIB_NETNS:-} ]] && echo "private netns" || echo "shared netns (no nstat rows)")"
