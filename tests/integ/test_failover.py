# SPDX-License-Identifier: MIT
"""Failover (guide Step 6): passive health (max_fails/fail_timeout),
proxy_next_upstream, backup servers, 502/504 and custom error pages."""

SERVER = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
%s
    }
%s
}"""


def _answers(p, n):
    """(statuses, backends) of n sequential requests."""
    rs = [p.get('/') for _ in range(n)]
    return [r.status for r in rs], [r.backend for r in rs]


def test_dead_backend_avoided(t):
    b1, b3 = t.backends('b1', 'b3')
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{b1} max_fails=3 fail_timeout=30s;
    server 127.0.0.1:{dead} max_fails=3 fail_timeout=30s;
    server 127.0.0.1:{b3} max_fails=3 fail_timeout=30s;
}""" + SERVER % ('        proxy_next_upstream error;', ''),
        b1=b1, b3=b3, dead=t.dead_port())
    statuses, who = _answers(p, 30)
    assert statuses == [200] * 30, statuses
    assert set(who) == {'b1', 'b3'}, who
    assert abs(who.count('b1') - who.count('b3')) <= 3, who


def test_max_fails_marks_down(t):
    # b2 accepts and closes without answering: each try is an error the
    # proxy retries on the next server and counts against b2. After
    # max_fails=3 failures b2 is not tried again within fail_timeout.
    b1, b3 = t.backends('b1', 'b3')
    b2 = t.backend('b2', force_path='/close')
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{b1} max_fails=3 fail_timeout=30s;
    server 127.0.0.1:{b2} max_fails=3 fail_timeout=30s;
    server 127.0.0.1:{b3} max_fails=3 fail_timeout=30s;
}""" + SERVER % ('', ''), b1=b1, b2=b2, b3=b3)
    statuses, who = _answers(p, 30)
    assert statuses == [200] * 30, statuses
    assert set(who) == {'b1', 'b3'}, who
    assert b2.count() == 3, 'b2 tried %d times, want max_fails=3' % \
        b2.count()


def test_backup_only_when_primaries_down(t):
    b1, b2 = t.backends('b1', 'b2')
    # max_fails=0: b1 is never marked down, so it is retried on every
    # request and takes over again as soon as it is back.
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{b1} max_fails=0;
    server 127.0.0.1:{b2} backup;
}""" + SERVER % ('', ''), b1=b1, b2=b2)
    statuses, who = _answers(p, 6)
    assert (statuses, who) == ([200] * 6, ['b1'] * 6), who
    assert b2.count() == 0
    b1.stop()
    statuses, who = _answers(p, 6)
    assert (statuses, who) == ([200] * 6, ['b2'] * 6), (statuses, who)
    b1.restart()
    statuses, who = _answers(p, 6)
    assert (statuses, who) == ([200] * 6, ['b1'] * 6), (statuses, who)


def test_all_down_502_and_custom_page(t):
    pages = t.tmpdir('errpages-')
    page = b'<h1>We will be right back</h1>\n'
    t.write(pages + '/custom_502.html', page)
    up = """
upstream app {
    server 127.0.0.1:{d1};
    server 127.0.0.1:{d2};
}"""
    p = t.proxy(up + SERVER % ('', ''), d1=t.dead_port(), d2=t.dead_port())
    r = p.get('/')
    assert r.status == 502, r
    p2 = t.proxy(up + SERVER % ('', """\
    error_page 502 503 504 /custom_502.html;
    location = /custom_502.html {
        root {pages};
        internal;
    }"""), d1=t.dead_port(), d2=t.dead_port(), pages=pages)
    r = p2.get('/anything')
    assert r.status == 502, 'status stays 502, got %d' % r.status
    assert r.body == page, r.body
    r = p2.get('/custom_502.html')
    assert r.status == 404, 'internal location reachable: %d' % r.status


def test_read_timeout_504(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_read_timeout 1s;
    }
}""", b1=b1)
    r = p.get('/slow/3000', timeout=10)
    assert r.status == 504, r
    assert r.backend is None, 'backend answer leaked: %r' % r
    assert p.get('/fast').status == 200


def test_connect_timeout_504(t):
    # A listener with a full accept queue drops SYNs, so connect() hangs
    # until proxy_connect_timeout fires.
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{hole};
        proxy_connect_timeout 1s;
    }
}""", hole=t.blackhole())
    r = p.get('/', timeout=10)
    assert r.status == 504, r
