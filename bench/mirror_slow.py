#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mirror with a slow shadow backend: what a client sees and what it costs,
nginx 1.22 and lbd with the same config (the integration harness's fake
backends; Python standard library only).

  python3 bench/mirror_slow.py            # after make; LBD=, NGINX= as tests/integ

Rows: 10 sequential requests on one keep-alive connection while the mirror
backend answers in 100 ms (the connection waits for each mirror before its
next request: about 1 s); the same 10 requests on new connections (no
wait: about 0 s); the proxy's RSS (all its processes) before and with 200
client connections whose mirror subrequests are held open."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'integ'))
from harness import Case, Conn, wait_for  # noqa: E402

CONF = """
server {
    listen 127.0.0.1:{port};
    location / { mirror /mir; proxy_pass http://127.0.0.1:{app}; }
    location = /mir { internal; proxy_pass http://127.0.0.1:{mb}; }
}"""


def rss_kib(pid):
    tot = 0
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            st = open('/proc/%s/stat' % d).read().rsplit(')', 1)[1].split()
            if int(d) == pid or int(st[1]) == pid:
                tot += int(open('/proc/%s/statm' % d).read().split()[1]) * 4
        except (OSError, ValueError, IndexError):
            pass
    return tot


def run(target):
    t = Case(target, 'mirror_slow')
    try:
        app = t.backend('app')
        mb = t.backend('mb', force_path='/slow/100')
        p = t.proxy(CONF, app=app, mb=mb)
        with Conn(p.port) as c:
            t0 = time.monotonic()
            for i in range(10):
                c.request('GET', '/k%d' % i)
            ka = time.monotonic() - t0
        t0 = time.monotonic()
        for i in range(10):
            with Conn(p.port) as c:
                c.request('GET', '/n%d' % i)
        new = time.monotonic() - t0
        mb.force_path = '/hold/x'
        pid = p.pid() if callable(p.pid) else p.pid
        base = rss_kib(pid)
        conns = []
        for _ in range(200):
            c = Conn(p.port)
            conns.append(c)
            c.send(b'POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' +
                   b'x' * 1000)
        for c in conns:
            c.read_response()
        wait_for(lambda: mb.active >= 200, timeout=30, what='200 held mirrors')
        held = rss_kib(pid)
        mb.release()
        for c in conns:
            c.close()
        return ka, new, base, held
    finally:
        t.cleanup()


def main():
    print('| target | 10 req, 1 keep-alive conn, mirror 100 ms | 10 req, new conns |'
          ' RSS idle | RSS, 200 held mirrors |')
    print('|---|---|---|---|---|')
    for target in ('nginx', 'lbd'):
        ka, new, base, held = run(target)
        print('| %s | %.2f s | %.2f s | %d KiB | %d KiB (+%d) |' %
              (target, ka, new, base, held, held - base))


if __name__ == '__main__':
    main()
