# SPDX-License-Identifier: MIT
"""proxy_next_upstream: which failures move a request to the next server,
how many tries, and that a POST already sent is not replayed."""

CONF = """
upstream u {
    server 127.0.0.1:{b1} max_fails=0;
    server 127.0.0.1:{b2} max_fails=0;
    server 127.0.0.1:{b3} max_fails=0;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://u;
        %s
    }
}"""


def _tried(bs, path):
    return sum(b.paths().count(path) for b in bs)


def test_http_502_with_tries(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(CONF % 'proxy_next_upstream error timeout http_502;\n'
                '        proxy_next_upstream_tries 2;',
                b1=bs[0], b2=bs[1], b3=bs[2])
    r = p.get('/status/502')
    assert r.status == 502, r
    assert _tried(bs, '/status/502') == 2, [b.paths() for b in bs]


def test_http_502_not_retried_by_default(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(CONF % '', b1=bs[0], b2=bs[1], b3=bs[2])
    r = p.get('/status/502')
    assert r.status == 502 and r.backend in ('b1', 'b2', 'b3'), r
    assert _tried(bs, '/status/502') == 1, [b.paths() for b in bs]


def test_get_retried_after_upstream_closes(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(CONF % 'proxy_next_upstream error timeout;',
                b1=bs[0], b2=bs[1], b3=bs[2])
    r = p.get('/close')
    # every server closes without answering: all three are tried
    assert r.status == 502, r
    assert _tried(bs, '/close') == 3, [b.paths() for b in bs]


def test_post_not_replayed(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(CONF % 'proxy_next_upstream error timeout;',
                b1=bs[0], b2=bs[1], b3=bs[2])
    r = p.req('POST', '/close', body=b'payload')
    assert r.status == 502, r
    assert _tried(bs, '/close') == 1, [b.paths() for b in bs]


def test_post_replayed_with_non_idempotent(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(CONF % 'proxy_next_upstream error timeout non_idempotent;',
                b1=bs[0], b2=bs[1], b3=bs[2])
    r = p.req('POST', '/close', body=b'payload')
    assert r.status == 502, r
    assert _tried(bs, '/close') == 3, [b.paths() for b in bs]
