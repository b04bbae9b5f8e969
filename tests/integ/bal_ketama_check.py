#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-check lbd's balancers against a real nginx (1.22 on this box).

Starts three tiny HTTP backends on ephemeral 127.0.0.1 ports (each answers
with its own port), an nginx in the foreground whose upstreams use those
ports, and sends requests through nginx; then asks lbd's balancer code (a
small C helper built in a temp dir from userspace/ups.c and bal_*.c) the same
questions and compares answer by answer:

  chash    hash $arg_k consistent, weights 1/1/1   200 keys   (ketama)
  chash_w  hash $arg_k consistent, weights 1/2/3   200 keys
  chash_d  hash $arg_k consistent, one server down 200 keys   (walk on)
  hash     hash $arg_k, weights 1/2/1              200 keys
  hash_d   hash $arg_k, one server down            200 keys   (rehash)
  ip       ip_hash, weights 2/1/1                  200 /24s   (client
  ip_d     ip_hash, one server down                200 /24s    127.0.N.1)
  rr       weights 5/2/1                           24 requests (sequence)
  rr_b     weights 1/2/3                           12 requests
  lc       least_conn, weights 5/2/1, sequential   24 requests (tie order)

Server names contain the ports, so consistent-hash answers are only
comparable inside one run: both sides see the same names. Prints key -> port
for the ketama check, a summary per case; exits 0 only if every answer
agrees. Usage: bal_ketama_check.py [--nginx PATH] [--verbose]
"""
import argparse
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEADLINE_S = 10

HELPER_C = r"""
/* balhelper: METHOD COUNT NAME/WEIGHT[/down]... ; inputs on stdin (keys, or
 * client IPs for ip_hash); prints the picked server name per input, or
 * COUNT picks for rr/lc. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ups.h"

int main(int argc, char **argv)
{
	static struct ups_server sv[UPS_MAX_SERVERS];
	struct ups_group g = { .name = "u", .servers = sv };
	char line[4096];
	int i, count;

	if (argc < 4)
		return 2;
	if (!strcmp(argv[1], "rr")) g.method = UPS_M_RR;
	else if (!strcmp(argv[1], "lc")) g.method = UPS_M_LEAST_CONN;
	else if (!strcmp(argv[1], "ip")) g.method = UPS_M_IP_HASH;
	else if (!strcmp(argv[1], "hash")) g.method = UPS_M_HASH;
	else if (!strcmp(argv[1], "chash")) { g.method = UPS_M_HASH; g.hash_consistent = true; }
	else return 2;
	count = atoi(argv[2]);
	for (i = 3; i < argc; i++) {
		char *spec = strdup(argv[i]), *w = strchr(spec, '/'), *d;
		struct ups_server *s = &sv[g.nservers++];

		*w++ = 0;
		d = strchr(w, '/');
		if (d) *d++ = 0;
		s->name = spec;
		s->weight = atoi(w);
		s->max_fails = 1;
		s->fail_timeout_ms = 10000;
		s->down = d && !strcmp(d, "down");
	}
	if (ups_group_init(&g))
		return 3;
	if (g.method == UPS_M_RR || g.method == UPS_M_LEAST_CONN) {
		for (i = 0; i < count; i++) {
			struct bal_ctx ctx = { .now_ms = 1 };
			struct ups_server *s = ups_pick(&g, &ctx);
			printf("%s\n", s ? s->name : "-");
			if (s) ups_release_server(s, false, 1);
		}
		return 0;
	}
	while (fgets(line, sizeof(line), stdin)) {
		struct bal_ctx ctx = { .now_ms = 1 };
		struct sockaddr_in sin = { .sin_family = AF_INET };
		struct ups_server *s;

		line[strcspn(line, "\n")] = 0;
		if (g.method == UPS_M_IP_HASH) {
			if (inet_pton(AF_INET, line, &sin.sin_addr) != 1)
				return 4;
			ctx.client = (struct sockaddr *)&sin;
		} else {
			ctx.key = line;
			ctx.keylen = strlen(line);
		}
		s = ups_pick(&g, &ctx);
		printf("%s\n", s ? s->name : "-");
		if (s) ups_release_server(s, false, 1);
	}
	ups_group_release(&g);
	return 0;
}
"""


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class PortHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(self.server.server_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def build_helper(tmp):
    src = os.path.join(tmp, "balhelper.c")
    exe = os.path.join(tmp, "balhelper")
    with open(src, "w") as f:
        f.write(HELPER_C)
    files = [os.path.join(ROOT, "userspace", f)
             for f in ("ups.c", "bal_rr.c", "bal_lc.c", "bal_hash.c", "bal_random.c")]
    subprocess.run(["gcc", "-std=gnu11", "-D_GNU_SOURCE", "-O1", "-I" + os.path.join(ROOT, "include"),
                    src, *files, "-lz", "-o", exe], check=True)
    return exe


def helper(exe, method, count, servers, inputs):
    specs = ["%s/%d%s" % (name, w, "/down" if down else "") for name, w, down in servers]
    out = subprocess.run([exe, method, str(count), *specs], input="".join(i + "\n" for i in inputs),
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(":", 1)[-1] for line in out.splitlines()]


def nginx_conf(prefix, listen, cases):
    ups, locs = [], []
    for name, (directive, servers, _kind, _n) in cases.items():
        lines = ["    upstream u_%s {" % name]
        if directive:
            lines.append("        %s;" % directive)
        for sname, w, down in servers:
            lines.append("        server %s weight=%d%s;" % (sname, w, " down" if down else ""))
        lines.append("    }")
        ups.append("\n".join(lines))
        locs.append("        location /%s { proxy_pass http://u_%s; }" % (name, name))
    return """daemon off;
master_process off;
error_log stderr warn;
pid %s/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
%s
    server {
        listen 127.0.0.1:%d;
%s
    }
}
""" % (prefix, "\n".join(ups), listen, "\n".join(locs))


def get(port, path, source=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode()
        if resp.status != 200:
            raise RuntimeError("GET %s: HTTP %d %s" % (path, resp.status, body[:80]))
        return body
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="lbd-balcheck-")
    nginx = None
    backends = []
    try:
        exe = build_helper(tmp)
        p1, p2, p3, p0 = free_ports(4)
        for p in (p1, p2, p3):
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", p), PortHandler)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            backends.append(srv)

        def sv(weights, down=()):
            return [("127.0.0.1:%d" % p, w, i in down)
                    for i, (p, w) in enumerate(zip((p1, p2, p3), weights))]

        keys = ["key%d" % i for i in range(1, 201)]
        ips = ["127.0.%d.1" % i for i in range(1, 201)]
        cases = {
            "chash": ("hash $arg_k consistent", sv((1, 1, 1)), "key", 0),
            "chash_w": ("hash $arg_k consistent", sv((1, 2, 3)), "key", 0),
            "chash_d": ("hash $arg_k consistent", sv((1, 1, 1), down=(1,)), "key", 0),
            "hash": ("hash $arg_k", sv((1, 2, 1)), "key", 0),
            "hash_d": ("hash $arg_k", sv((1, 1, 1), down=(0,)), "key", 0),
            "ip": ("ip_hash", sv((2, 1, 1)), "ip", 0),
            "ip_d": ("ip_hash", sv((1, 1, 1), down=(2,)), "ip", 0),
            "rr": (None, sv((5, 2, 1)), "seq", 24),
            "rr_b": (None, sv((1, 2, 3)), "seq", 12),
            "lc": ("least_conn", sv((5, 2, 1)), "seq", 24),
        }
        method = {"chash": "chash", "hash": "hash", "ip": "ip", "rr": "rr", "lc": "lc"}

        prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(prefix, "logs"))
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(nginx_conf(prefix, p0, cases))
        nginx = subprocess.Popen([args.nginx, "-p", prefix + "/", "-c", prefix + "/nginx.conf",
                                  "-e", "stderr"])
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", p0), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start")
                time.sleep(0.05)

        ok = True
        for name, (_d, servers, kind, n) in cases.items():
            m = method[name.split("_")[0]]
            if kind == "key":
                inputs = keys
                theirs = [get(p0, "/%s?k=%s" % (name, k)) for k in keys]
            elif kind == "ip":
                inputs = ips
                theirs = [get(p0, "/%s" % name, source=ip) for ip in ips]
            else:
                inputs = ["#%d" % i for i in range(n)]
                theirs = [get(p0, "/%s" % name) for _ in range(n)]
            ours = helper(exe, m, n, servers, [] if kind == "seq" else inputs)
            bad = [(i, t, o) for i, t, o in zip(inputs, theirs, ours) if t != o]
            if name == "chash" or args.verbose:
                for i, t, o in zip(inputs, theirs, ours):
                    print("%s %-8s -> nginx %s lbd %s%s" % (name, i, t, o, "" if t == o else "  DIFF"))
            if kind == "seq":
                label = {str(p1): "a", str(p2): "b", str(p3): "c"}
                print("%-8s nginx %s" % (name, "".join(label[t] for t in theirs)))
                print("%-8s lbd   %s" % ("", "".join(label.get(o, "-") for o in ours)))
            print("%-8s %d/%d agree%s" % (name, len(inputs) - len(bad), len(inputs),
                                          "" if not bad else "  MISMATCH"))
            ok = ok and not bad and len(ours) == len(theirs)
        print("ALL AGREE" if ok else "DISAGREEMENT")
        return 0 if ok else 1
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        for srv in backends:
            srv.shutdown()
            srv.server_close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
