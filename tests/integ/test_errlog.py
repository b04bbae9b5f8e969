# SPDX-License-Identifier: MIT
"""Error log lines about a request carry nginx's context, in nginx's order:
"*N MESSAGE, client: A, server: S, request: "R"[, upstream: "U"][, host:
"H"][, referrer: "F"]". Log readers written for nginx (fail2ban's
nginx-limit-req filter, grep habits) depend on it. Each case runs against
nginx with the same config and must match the same pattern."""

import re

from harness import wait_for

# fail2ban 1.0's filter.d/nginx-limit-req.conf failregex, <HOST> spelled out
F2B_LIMIT_REQ = (r'^\s*\[[a-z]+\] \d+#\d+: \*\d+ limiting requests, excess: [\d\.]+ '
                 r'by zone "(?:one)", client: (?P<host>[\d.]+),')


def _line(p, pattern):
    """The first error log line matching PATTERN, its date taken off first
    (as fail2ban does before it applies a failregex)."""
    rx = re.compile(pattern)

    def find():
        for ln in p.error_log().splitlines():
            m = rx.search(re.sub(r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ', '', ln))
            if m:
                return m
        return None
    return wait_for(find, timeout=5, what='an error log line matching %s' % pattern)


def test_errlog_request_context(t):
    dead = t.dead_port()
    b = t.backend('b')
    p = t.proxy("""
limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
upstream none { server 127.0.0.1:%d down; server 127.0.0.1:%d backup down; }
server {
    listen 127.0.0.1:{port};
    server_name example.test;
    location /dead/ { proxy_pass http://127.0.0.1:%d; }
    location /none/ { proxy_pass http://none; }
    location /deny { deny all; }
    location /lim { limit_req zone=one nodelay; proxy_pass http://127.0.0.1:{b}; }
}""" % (dead, dead, dead), b=b)
    ref = {'Referer': 'http://r.test/page'}

    assert p.get('/dead/x?a=1', headers=ref, host='h.test').status == 502
    _line(p, r'\[error\] \d+#\d+: \*\d+ connect\(\) failed \(111: Connection refused\) while '
          r'connecting to upstream, client: 127\.0\.0\.1, server: example\.test, '
          r'request: "GET /dead/x\?a=1 HTTP/1\.1", upstream: "http://127\.0\.0\.1:%d/dead/x\?a=1", '
          r'host: "h\.test", referrer: "http://r\.test/page"$' % dead)

    assert p.get('/none/y', host='h.test').status == 502
    _line(p, r'\[error\] \d+#\d+: \*\d+ no live upstreams while connecting to upstream, '
          r'client: 127\.0\.0\.1, server: example\.test, request: "GET /none/y HTTP/1\.1", '
          r'upstream: "http://none/none/y", host: "h\.test"$')

    assert p.get('/deny', host='h.test').status == 403
    _line(p, r'\[error\] \d+#\d+: \*\d+ access forbidden by rule, client: 127\.0\.0\.1, '
          r'server: example\.test, request: "GET /deny HTTP/1\.1", host: "h\.test"$')

    assert p.get('/lim', host='h.test').status == 200
    assert p.get('/lim', host='h.test').status == 503
    m = _line(p, F2B_LIMIT_REQ)
    assert m.group('host') == '127.0.0.1'
    _line(p, r'\*\d+ limiting requests, excess: [\d.]+ by zone "one", client: 127\.0\.0\.1, '
          r'server: example\.test, request: "GET /lim HTTP/1\.1", host: "h\.test"$')


def test_errlog_static_and_refused_requests(t):
    """A static 404/403 logs nginx's line with the request's context, and a
    request refused while its line was read still shows in the access log
    with its line as sent ($request falls back to the raw bytes)."""
    import os
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
    access_log {prefix}/logs/acc.log combined;
}""", start=False)
    os.makedirs(os.path.join(p.prefix, 'html', 'dir'), exist_ok=True)
    p.start()
    assert p.get('/missing.png').status == 404
    assert p.get('/dir/').status == 403
    assert p.get('/a b').status == 400
    with p.conn() as c:
        c.send(b'GARBAGE\r\n\r\n')
        assert c.read_response().status == 400
    _line(p, r'\[error\] \d+#\d+: \*\d+ open\(\) ".*/html/missing\.png" failed \(2: No such file '
          r'or directory\), client: 127\.0\.0\.1, server: , request: "GET /missing\.png '
          r'HTTP/1\.1", host: "localhost"$')
    _line(p, r'\[error\] \d+#\d+: \*\d+ directory index of ".*/html/dir/" is forbidden, client: '
          r'127\.0\.0\.1, server: , request: "GET /dir/ HTTP/1\.1", host: "localhost"$')

    def acc():
        text = open(os.path.join(p.prefix, 'logs', 'acc.log')).read()
        return text if '"GARBAGE" 400' in text else None
    text = wait_for(acc, timeout=5, what='the refused requests in the access log')
    assert '"GET /a b HTTP/1.1" 400' in text, text


def test_errlog_upstream_failures_as_nginx(t):
    """nginx's lines for a server that max_fails just disabled ("upstream
    server temporarily disabled", warn, for a primary and for a backup),
    a bad status line, a field line it refuses (shown up to its bad byte),
    a body over client_max_body_size and a rewrite cycle, each with the
    request's context."""
    from harness import raw_upstream
    d1, d2 = t.dead_port(), t.dead_port()
    bad = raw_upstream(t, b'HTTP/1.1 abc\r\n\r\n')
    bh = raw_upstream(t, b'HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n')
    nul = raw_upstream(t, b'HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n')
    p = t.proxy("""
upstream both { server 127.0.0.1:%d; server 127.0.0.1:%d backup; }
server {
    listen 127.0.0.1:{port};
    location /both { proxy_pass http://both; }
    location /bh { proxy_pass http://127.0.0.1:%d; }
    location /nul { proxy_pass http://127.0.0.1:%d; }
    location = /limit { client_max_body_size 1; return 200; }
    location /loop { rewrite ^ /loop last; }
}""" % (d1, d2, bh, nul))
    ctx = r', client: 127\.0\.0\.1, server: , request: "%s HTTP/1\.1", %shost: "localhost"$'
    assert p.get('/both').status == 502
    for port in (d1, d2):
        _line(p, r'\[warn\] \d+#\d+: \*\d+ upstream server temporarily disabled while connecting '
              r'to upstream' + ctx % ('GET /both', r'upstream: "http://127\.0\.0\.1:%d/both", ' %
                                      port))
    assert p.get('/bh').status == 502
    _line(p, r'\[error\] \d+#\d+: \*\d+ upstream sent invalid header: "Bad\\x20\.\.\." while '
          r'reading response header from upstream' + ctx % ('GET /bh', 'upstream: "[^"]*", '))
    assert p.get('/nul').status == 502
    _line(p, r'upstream sent invalid header: "X: a\\x00\.\.\." while reading response header')
    assert p.req('POST', '/limit', body=b'xx').status == 413
    _line(p, r'\[error\] \d+#\d+: \*\d+ client intended to send too large body: 2 bytes' +
          ctx % ('POST /limit', ''))
    assert p.get('/loop').status == 500
    _line(p, r'\[error\] \d+#\d+: \*\d+ rewrite or internal redirection cycle while processing '
          r'"/loop"' + ctx % ('GET /loop', ''))
    # a bad status line: nginx passes it on as HTTP/0.9 (lbd answers 502)
    # after the same log line
    if not t.is_nginx:
        p2 = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:%d; }
}""" % bad)
        assert p2.get('/x').status == 502
        _line(p2, r'\[error\] \d+#\d+: \*\d+ upstream sent no valid HTTP/1\.0 header while '
              r'reading response header from upstream')
