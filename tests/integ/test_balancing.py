# SPDX-License-Identifier: MIT
"""Load balancing (guide Step 5): round robin, weights, least_conn,
ip_hash, hash ... consistent, random two least_conn, upstream keepalive.

Exact-distribution tests run with worker_processes 1: nginx keeps balancer
state per worker unless the upstream has a `zone`, so only one worker gives
an exact, comparable sequence."""

import threading

from harness import wait_for


def _upstream(method, names, params=None, extra=''):
    """upstream app { METHOD; server 127.0.0.1:{NAME} PARAMS; ... EXTRA }"""
    params = params or {}
    lines = ['upstream app {']
    if method:
        lines.append('    %s;' % method)
    for n in names:
        lines.append('    server 127.0.0.1:{%s}%s;' % (n, params.get(n, '')))
    if extra:
        lines.append('    ' + extra)
    lines.append('}')
    return '\n'.join(lines)


SERVER = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
%s
    }
}"""


def _proxy(t, upstream, backends, location_extra=''):
    subs = {b.name: b for b in backends}
    return t.proxy(upstream + SERVER % location_extra, **subs)


def _who(p, n, path='/'):
    """Backends answering n sequential requests (one connection each)."""
    out = []
    for _ in range(n):
        r = p.get(path)
        assert r.status == 200, 'request failed: %d' % r.status
        out.append(r.backend)
    return out


def test_round_robin_rotates(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = _proxy(t, _upstream(None, ['b1', 'b2', 'b3']), bs)
    got = _who(p, 9)
    assert got == ['b1', 'b2', 'b3'] * 3, got


def test_weighted_5_2_1(t):
    bs = t.backends('b1', 'b2', 'b3')
    up = _upstream(None, ['b1', 'b2', 'b3'],
                   {'b1': ' weight=5', 'b2': ' weight=2', 'b3': ' weight=1'})
    p = _proxy(t, up, bs)
    got = _who(p, 80)
    for w in range(10):
        win = got[w * 8:(w + 1) * 8]
        counts = tuple(win.count(b) for b in ('b1', 'b2', 'b3'))
        assert counts == (5, 2, 1), 'window %d: %r' % (w, win)


def test_least_conn_avoids_busy(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = _proxy(t, _upstream('least_conn', ['b1', 'b2', 'b3']), bs)
    # Two requests held open: least_conn puts them on two different
    # backends; every new request must go to the third, idle one.
    held = []

    def hold(key):
        held.append(p.get('/hold/' + key, timeout=20))

    threads = [threading.Thread(target=hold, args=(k,)) for k in 'xy']
    threads[0].start()
    wait_for(lambda: sum(b.active for b in bs) == 1, what='1st held')
    threads[1].start()
    wait_for(lambda: sum(b.active for b in bs) == 2, what='2nd held')
    busy = {b.name for b in bs if b.active}
    assert len(busy) == 2, 'held requests on %r' % busy
    idle = ({'b1', 'b2', 'b3'} - busy).pop()
    got = _who(p, 6)
    assert got == [idle] * 6, 'busy=%r got %r' % (busy, got)
    for b in bs:
        b.release()
    for th in threads:
        th.join(10)
    assert [r.status for r in held] == [200, 200], held
    # All idle again: least_conn falls back to spreading over all three.
    got = _who(p, 6)
    assert set(got) == {'b1', 'b2', 'b3'}, got


def test_ip_hash_sticky(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = _proxy(t, _upstream('ip_hash', ['b1', 'b2', 'b3']), bs)
    got = _who(p, 20)
    assert len(set(got)) == 1, 'ip_hash spread one client: %r' % got
    # Headers do not influence ip_hash: it hashes the peer address.
    r = p.get('/', headers={'X-Forwarded-For': '10.9.8.7'})
    assert r.backend == got[0], (r.backend, got[0])


def test_hash_consistent(t):
    bs = t.backends('b1', 'b2', 'b3')
    up = _upstream('hash $arg_k consistent', ['b1', 'b2', 'b3'])
    p = _proxy(t, up, bs)
    keys = ['key%d' % i for i in range(40)]
    first = {k: p.get('/?k=' + k).backend for k in keys}
    again = {k: p.get('/?k=' + k).backend for k in keys}
    assert first == again, 'same key, different backend'
    assert len(set(first.values())) == 3, 'keys all on %r' % \
        set(first.values())
    # Consistent hashing: without b3 in the ring, every key that was on
    # b1 or b2 stays where it was; only b3's keys move.
    up2 = _upstream('hash $arg_k consistent', ['b1', 'b2'])
    p2 = _proxy(t, up2, bs[:2])
    moved = [k for k in keys if first[k] != 'b3' and
             p2.get('/?k=' + k).backend != first[k]]
    assert not moved, 'keys moved off surviving servers: %r' % moved


def test_random_two_least_conn(t):
    bs = t.backends('b1', 'b2', 'b3')
    p = _proxy(t, _upstream('random two least_conn', ['b1', 'b2', 'b3']),
               bs)
    got = _who(p, 100)
    counts = {b: got.count(b) for b in ('b1', 'b2', 'b3')}
    assert all(counts.values()), 'a backend got nothing: %r' % counts


def test_upstream_keepalive(t):
    bs = t.backends('b1')
    up = _upstream(None, ['b1'], extra='keepalive 16;')
    p = _proxy(t, up, bs, """\
        proxy_http_version 1.1;
        proxy_set_header Connection "";""")
    n = 30
    _who(p, n)
    b1 = bs[0]
    assert b1.count() == n, b1.count()
    assert b1.connections <= 2, \
        'keepalive: %d upstream connections for %d requests' % (
            b1.connections, n)
    last = b1.last()
    assert last.version == 'HTTP/1.1', last.version
    assert last.header('Connection') is None, last.header('Connection')

    # Control: the default (HTTP/1.0, Connection: close) opens one
    # upstream connection per request.
    b2 = t.backend('b2')
    p2 = _proxy(t, _upstream(None, ['b2']), [b2])
    _who(p2, 10)
    assert b2.connections == 10, b2.connections
    assert b2.last().version == 'HTTP/1.0', b2.last().version
    assert b2.last().header('Connection') == 'close'


def test_upstream_keepalive_time(t):
    """`keepalive_time` in an upstream block: a kept connection older than
    it is closed after the request that finds it so (the next one opens a
    new connection); younger ones are reused. (lbd refused the directive
    in an upstream block.)"""
    import time
    b = t.backend('b')
    p = t.proxy("""
upstream u { server 127.0.0.1:{b}; keepalive 4; keepalive_time 2s; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; }
}""", b=b)
    ids = [p.get('/k').json()['conn_id'] for _ in range(2)]
    assert ids[0] == ids[1], ids
    time.sleep(2.3)
    ids += [p.get('/k').json()['conn_id'] for _ in range(2)]
    assert ids[2] == ids[0] and ids[3] != ids[0], ids
