# SPDX-License-Identifier: MIT
"""stub_status in nginx's exact format (same test on nginx), and lbd's
Prometheus endpoint (lbd only) with per-upstream-server figures."""

import re

CONF = """
upstream app {
    server 127.0.0.1:{b1};
    server 127.0.0.1:{b2} weight=2;
}
server {
    listen 127.0.0.1:{port};
    location = /nginx_status { stub_status; allow 127.0.0.1; deny all; }
    location = /metrics { %s }
    location / { proxy_pass http://app; }
}"""

STUB = re.compile(r'^Active connections: (\d+) \n'
                  r'server accepts handled requests\n'
                  r' (\d+) (\d+) (\d+) \n'
                  r'Reading: (\d+) Writing: (\d+) Waiting: (\d+) \n$')


def test_stub_status_format_and_counts(t):
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(CONF % 'return 404;', b1=b1, b2=b2)
    for i in range(5):
        assert p.get('/r%d' % i).status == 200
    r = p.get('/nginx_status')
    assert r.status == 200, r
    assert (r.header('Content-Type') or '').startswith('text/plain'), r.headers
    m = STUB.match(r.body.decode())
    assert m, 'not nginx stub_status format: %r' % r.body
    active, accepts, handled, requests, reading, writing, waiting = map(int, m.groups())
    # 5 proxied requests plus this one, each on its own connection
    assert accepts == handled and accepts >= 6, m.groups()
    assert requests >= 6, m.groups()
    assert active >= 1 and writing >= 1, m.groups()
    assert active == reading + writing + waiting, m.groups()
    r = p.req('POST', '/nginx_status', body=b'x')
    assert r.status == 405, r


def test_metrics_endpoint(t):
    if t.target != 'lbd':
        t.skip('lbd_metrics is lbd\'s own directive')
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(CONF % 'lbd_metrics;', b1=b1, b2=b2)
    for i in range(6):
        assert p.get('/m%d' % i).status == 200
    r = p.get('/metrics')
    assert r.status == 200, r
    text = r.body.decode()
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            k, v = line.rsplit(' ', 1)
            vals[k] = float(v)
    s1 = '{upstream="app",server="127.0.0.1:%d"}' % b1.port
    s2 = '{upstream="app",server="127.0.0.1:%d"}' % b2.port
    assert vals['lbd_upstream_requests_total' + s1] == 2, text
    assert vals['lbd_upstream_requests_total' + s2] == 4, text
    assert vals['lbd_upstream_weight' + s2] == 2, text
    assert vals['lbd_upstream_up' + s1] == 1, text
    assert vals['lbd_upstream_healthy' + s1] == 1, text
    assert vals['lbd_http_responses_total{class="2xx"}'] >= 6, text
    assert vals['lbd_http_requests_total'] >= 7, text
    assert '# TYPE lbd_upstream_requests_total counter' in text
    assert vals['lbd_upstream_responses_total{upstream="app",server="127.0.0.1:%d",class="2xx"}'
                % b2.port] == 4, text
    assert vals['lbd_upstream_response_seconds_count' + s2] == 4, text
    inf = 'lbd_upstream_response_seconds_bucket{upstream="app",server="127.0.0.1:%d",le="+Inf"}'
    assert vals[inf % b1.port] == 2, text
    assert '# TYPE lbd_upstream_response_seconds histogram' in text


def test_stub_status_counts_stream_connections(t):
    """nginx's stub_status counts every connection of the process: a
    stream session held open is one more active (and accepted)
    connection, and neither reading, writing nor waiting."""
    from harness import wait_for
    from test_stream import MAIN, backend, connect, read_line
    h = backend(t, 'h', 'hello')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /nginx_status { stub_status; }
}""", main=MAIN + """stream {
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{h}; }
}
""", h=h)

    def stub():
        m = STUB.match(p.get('/nginx_status').body.decode())
        assert m
        return tuple(map(int, m.groups()))
    wait_for(lambda: stub()[0] == 1, what='only the status request active')
    base = stub()
    held = []
    for _ in range(2):
        s = connect(int(p.subs['port2']))
        assert read_line(s) == b'h\n'
        held.append(s)
    now = stub()
    assert now[0] == 3 and now[4:] == (0, 1, 0), (base, now)  # active; R W W
    assert now[1] >= base[1] + 3, (base, now)        # accepts: 2 sessions + this request
    for s in held:
        s.close()
    wait_for(lambda: stub()[0] == 1, what='the sessions gone from active')
