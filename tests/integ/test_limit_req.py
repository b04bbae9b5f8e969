# SPDX-License-Identifier: MIT
"""limit_req and limit_conn as nginx has them: the leaky bucket's counts
(burst with nodelay rejects, without it delays), dry run, requests in
progress per key held open by a slow backend, $limit_req_status and
$limit_conn_status in the access log, and the configuration errors of
`-t` with their file:line."""

import re
import signal
import socket
import threading

from harness import build_request, recv_until_close, wait_for

LOG_FORMAT = "log_format lim '$status $limit_req_status $limit_conn_status';"


def _statuses(p, n):
    """The last N access log lines as (status, req_status, conn_status)."""
    def lines():
        ls = [ln.split() for ln in p.read('logs', 'lim.log').splitlines()
              if ln.strip()]
        return ls if len(ls) >= n else None
    return [tuple(x) for x in wait_for(lines, what='%d access log lines' % n)[-n:]]


def _index(t, p):
    t.write(p.path('html', 'index.html'), 'ok\n')


def _pipelined(p, n, tag):
    """N requests sent in one write on one connection; their statuses."""
    with p.conn() as c:
        c.send(b''.join(build_request('GET', '/index.html?%s%d' % (tag, i))
                        for i in range(n)))
        return [c.read_response().status for _ in range(n)]


def test_burst_nodelay_counts(t):
    # The case: 40 back-to-back requests at 10r/s, burst=20 nodelay.
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_req_zone $binary_remote_addr zone=one:10m rate=10r/s;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one burst=20 nodelay;
        limit_req_status 429;
        root {prefix}/html;
    }
}""" % LOG_FORMAT)
    _index(t, p)
    # pipelined: all 40 are read at once, none waits on a round trip
    codes = _pipelined(p, 40, 'r')
    assert codes.count(200) == 21 and codes.count(429) == 19, codes
    assert codes[:21] == [200] * 21, codes
    st = _statuses(p, 40)
    assert [s[1] for s in st] == ['PASSED'] * 21 + ['REJECTED'] * 19, st
    assert all(s[2] == '-' for s in st), st
    log = p.error_log()
    # excess 21.000 less what drained meanwhile, in thousandths
    assert re.search(r'limiting requests, excess: 2[01]\.\d{3} by zone "one", '
                     r'client: 127\.0\.0\.1, ', log), log[-800:]


def _burst_at_once(p, n):
    """N requests on N connections, all sent before any answer is read."""
    socks = [socket.create_connection(('127.0.0.1', p.port), timeout=10)
             for _ in range(n)]
    try:
        for i, s in enumerate(socks):
            s.sendall(build_request('GET', '/index.html?b%d' % i, host='x',
                                    headers={'Connection': 'close'}))
        codes = []
        for s in socks:
            data = recv_until_close(s)
            codes.append(int(data.split(b' ', 2)[1]))
        return codes
    finally:
        for s in socks:
            s.close()


def test_burst_delays_without_nodelay(t):
    # rate=2r/s burst=3: one passes, three wait their turn (0.5 s apart),
    # the rest are rejected. Counts only: the waits are not timed.
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_req_zone $binary_remote_addr zone=slow:1m rate=2r/s;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=slow burst=3;
        root {prefix}/html;
    }
}""" % LOG_FORMAT)
    _index(t, p)
    codes = _burst_at_once(p, 8)
    assert sorted(codes) == [200] * 4 + [503] * 4, codes
    kinds = sorted(s[1] for s in _statuses(p, 8))
    assert kinds == ['DELAYED'] * 3 + ['PASSED'] + ['REJECTED'] * 4, kinds
    assert 'delaying request, excess: ' in p.error_log()


def test_delay_param_and_two_limits(t):
    # delay=1 serves the first excess request at once; a second limit on
    # another key (empty for this client) changes nothing.
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_req_zone $binary_remote_addr zone=a:1m rate=2r/s;
limit_req_zone $http_x_user zone=b:1m rate=1r/s;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=a burst=2 delay=1;
        limit_req zone=b;
        root {prefix}/html;
    }
}""" % LOG_FORMAT)
    _index(t, p)
    codes = _burst_at_once(p, 5)
    assert sorted(codes) == [200] * 3 + [503] * 2, codes
    kinds = sorted(s[1] for s in _statuses(p, 5))
    assert kinds == ['DELAYED', 'PASSED', 'PASSED', 'REJECTED', 'REJECTED'], kinds


def test_dry_run(t):
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_req_zone $binary_remote_addr zone=one:10m rate=10r/s;
limit_req_dry_run on;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one burst=20 nodelay;
        root {prefix}/html;
    }
}""" % LOG_FORMAT)
    _index(t, p)
    codes = _pipelined(p, 40, 'd')
    assert codes == [200] * 40, codes
    st = [s[1] for s in _statuses(p, 40)]
    assert st == ['PASSED'] * 21 + ['REJECTED_DRY_RUN'] * 19, st
    assert 'limiting requests, dry run, excess: ' in p.error_log()


def _hold(p, path, out):
    try:
        with p.conn(timeout=30) as c:
            out.append(c.request('GET', path).status)
    except OSError as e:
        out.append(repr(e))


def test_limit_conn_slow_backend(t):
    b1 = t.backend('b1')
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_conn_zone $binary_remote_addr zone=addr:1m;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_conn addr 2;
        limit_conn_status 429;
        proxy_pass http://127.0.0.1:{b1};
    }
}""" % LOG_FORMAT, b1=b1)
    out = []
    ths = [threading.Thread(target=_hold, args=(p, '/hold/k', out)) for _ in range(2)]
    for th in ths:
        th.start()
    wait_for(lambda: b1.count() >= 2, what='two held requests at the backend')
    r = p.get('/third')
    assert r.status == 429, r
    log = p.error_log()
    assert 'limiting connections by zone "addr"' in log, log[-800:]
    b1.release('k')
    for th in ths:
        th.join(10)
    assert out == [200, 200], out
    # the counts went back when the held requests ended
    assert p.get('/again').status == 200
    st = _statuses(p, 4)
    assert sorted(s[2] for s in st) == ['PASSED', 'PASSED', 'PASSED', 'REJECTED'], st


def test_limit_conn_keepalive_releases(t):
    # limit_conn 1: requests one after another on one keep-alive
    # connection all pass (each ends before the next starts).
    p = t.proxy("""\
limit_conn_zone $binary_remote_addr zone=addr:1m;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_conn addr 1;
        root {prefix}/html;
    }
}""")
    _index(t, p)
    with p.conn() as c:
        codes = [c.request('GET', '/index.html?k%d' % i).status for i in range(5)]
    assert codes == [200] * 5, codes


CONF_ERRORS = [
    # (http body, the message, whether nginx names FILE:LINE)
    ("limit_req_zone $binary_remote_addr zone=one:10m rate=10r/s;\n"
     "server { listen 127.0.0.1:{port}; location / { limit_req zone=two; } }",
     'zero size shared memory zone "two"', False),
    ("limit_req_zone $binary_remote_addr zone=one:10m rate=10x/s;",
     'invalid rate "rate=10x/s"', True),
    ("limit_req_zone $binary_remote_addr zone=one rate=1r/s;",
     'invalid zone size "zone=one"', True),
    ("limit_req_zone $binary_remote_addr zone=one:1k rate=1r/s;",
     'zone "zone=one:1k" is too small', True),
    ("server { listen 127.0.0.1:{port}; location / {\n"
     "limit_req_zone $binary_remote_addr zone=x:1m rate=1r/s; } }",
     '"limit_req_zone" directive is not allowed here', True),
    ("limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;\n"
     "upstream u { server 127.0.0.1:1;\n"
     "limit_req zone=one; }",
     '"limit_req" directive is not allowed here', True),
    ("limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;\n"
     "server { listen 127.0.0.1:{port}; location / {\n"
     "limit_req zone=one burst=0; } }",
     'invalid burst value "burst=0"', True),
    ("limit_conn_zone $binary_remote_addr zone=addr:10m;\n"
     "server { listen 127.0.0.1:{port}; location / {\n"
     "limit_conn addr 65536; } }",
     'connection limit must be less 65536', True),
    ("limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;\n"
     "limit_conn_zone $binary_remote_addr zone=one:10m;",
     'the shared memory zone "one" is already declared for a different use', True),
]


def test_config_errors(t):
    p = t.proxy("server { listen 127.0.0.1:{port}; }", start=False)
    for body, msg, with_line in CONF_ERRORS:
        p.write_conf(http=body)
        r = p.run('-t')
        assert r.returncode != 0, 'accepted:\n%s' % p.text
        if with_line:
            # the offending directive is the last line with a ';' before the
            # error: find the line holding the message's directive
            lines = p.text.split('\n')
            key = body.strip().split('\n')[-1].strip()
            lineno = [ln.strip() for ln in lines].index(key) + 1
            want = '%s in %s:%d' % (msg, p.conf_path, lineno)
        else:
            want = msg
        assert want in r.stderr, 'stderr %r lacks %r' % (r.stderr, want)


def test_client_closes_during_delay(t):
    # The second request waits 1 s for its turn; its client leaves first:
    # the request ends with 499 and the proxy goes on serving.
    p = t.proxy("""\
%s
access_log {prefix}/logs/lim.log lim;
limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one burst=5;
        root {prefix}/html;
    }
}""" % LOG_FORMAT)
    _index(t, p)
    with p.conn() as c:
        assert c.request('GET', '/index.html?first').status == 200
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.sendall(b'GET /index.html?second HTTP/1.1\r\nHost: x\r\n\r\n')
    wait_for(lambda: 'delaying request' in p.error_log(), what='the delay')
    s.close()
    st = _statuses(p, 2)
    assert st[1][:2] == ('499', 'DELAYED'), st
    assert 'client prematurely closed connection' in p.error_log()
    assert p.alive()


RELOAD_CONF = """\
limit_req_zone $binary_remote_addr zone=one:%s rate=1r/m;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one;
        limit_req_status %d;
        root {prefix}/html;
    }
}"""


def test_zone_kept_across_reload(t):
    p = t.proxy(RELOAD_CONF % ('1m', 503))
    _index(t, p)
    assert p.get('/index.html').status == 200
    assert p.get('/index.html').status == 503
    # same name and size: the bucket survives, only the status changes
    p.write_conf(http=RELOAD_CONF % ('1m', 429))
    p.signal(signal.SIGHUP)
    seen = []

    def got(code):
        seen.append(p.get('/index.html').status)
        return seen[-1] == code
    wait_for(lambda: got(429), timeout=10, what='the reload')
    assert 200 not in seen, seen
    # another size: a new, empty zone
    p.write_conf(http=RELOAD_CONF % ('2m', 430))
    p.signal(signal.SIGHUP)
    wait_for(lambda: got(200), timeout=10, what='the second reload')
    # (nginx's old workers may still take a request or two meanwhile)
    wait_for(lambda: got(430), timeout=10, what='the new zone to refuse')


def test_delayed_post_keeps_its_body(t):
    # A request held by limit_req still has its body read and proxied.
    b1 = t.backend('b1')
    p = t.proxy("""\
limit_req_zone $binary_remote_addr zone=one:1m rate=4r/s;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one burst=2;
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)
    assert p.get('/first').status == 200
    r = p.req('POST', '/second', body=b'x' * 3000)
    assert r.status == 200 and r.backend == 'b1', r
    assert b1.last().body == b'x' * 3000
    assert 'delaying request' in p.error_log()


def test_zone_shared_by_workers(t):
    # Two workers, a new connection per request: one bucket for the client.
    p = t.proxy("""\
limit_req_zone $binary_remote_addr zone=one:10m rate=20r/m;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one burst=20 nodelay;
        root {prefix}/html;
    }
}""", workers=2)
    _index(t, p)
    codes = [p.get('/index.html?w%d' % i).status for i in range(40)]
    assert codes.count(200) == 21 and codes.count(503) == 19, codes
