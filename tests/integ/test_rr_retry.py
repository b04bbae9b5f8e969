# SPDX-License-Identifier: MIT
"""Round robin around a failing server: after a request was retried on the
next server, which server the following requests go to first. nginx runs
its smooth weighted round robin over the servers a pick may use, so a
failed try (or a server resting after max_fails) changes its running
weights; the sequences below are nginx 1.22's, request by request."""

import time

SERVER = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
        proxy_next_upstream error;
    }
}"""


def _sequence(p, servers, n):
    """For each of n sequential requests, the servers it went to, in order:
    a failing one (it closes without answering, counted) first, then the
    one that answered."""
    seq = []
    for _ in range(n):
        before = [s.count() for s in servers]
        r = p.get('/')
        assert r.status == 200, r
        hit = [s.name for s, c in zip(servers, before) if s.count() > c]
        failed = [h for h in hit if h != r.backend]
        seq.append(''.join(failed) + '>' + r.backend if failed else
                   r.backend)
    return seq


def _two(t, params):
    a = t.backend('A')
    f = t.backend('F', force_path='/close')
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{a} %s;
    server 127.0.0.1:{f} %s;
}""" % (params, params) + SERVER, a=a, f=f)
    return p, [a, f]


def test_rr_retry_max_fails_1(t):
    # default max_fails=1 fail_timeout=10s: F fails once, then rests
    p, servers = _two(t, '')
    assert _sequence(p, servers, 8) == ['A', 'F>A'] + ['A'] * 6


def test_rr_retry_max_fails_0(t):
    # never marked down: F gets its turn every other request, and the
    # request after a retried one goes to A
    p, servers = _two(t, 'max_fails=0')
    seq = _sequence(p, servers, 8)
    assert seq == ['A', 'F>A'] * 4, seq


def test_rr_retry_max_fails_3(t):
    p, servers = _two(t, 'max_fails=3 fail_timeout=30s')
    seq = _sequence(p, servers, 10)
    assert seq == ['A', 'F>A'] * 3 + ['A'] * 4, seq


def test_rr_retry_after_fail_timeout(t):
    # nginx takes weight / max_fails off a failing server's effective
    # weight and gives one back on each pick that weighs it: after
    # fail_timeout F is probed only on the third request
    p, servers = _two(t, 'fail_timeout=1s')
    seq = _sequence(p, servers, 3)
    assert seq == ['A', 'F>A', 'A'], seq
    # past fail_timeout (nginx counts whole seconds)
    time.sleep(2.2)
    seq = _sequence(p, servers, 8)
    assert seq == EXPECT_AFTER, seq


def test_rr_retry_three_weighted(t):
    a, b = t.backends('A', 'B')
    f = t.backend('F', force_path='/close')
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{a} weight=3 max_fails=0;
    server 127.0.0.1:{f} weight=2 max_fails=0;
    server 127.0.0.1:{b} max_fails=0;
}""" + SERVER, a=a, f=f, b=b)
    seq = _sequence(p, [a, f, b], 12)
    assert seq == EXPECT_THREE, seq


def test_rr_retry_dead_port(t):
    # a refused connect is a failure like any other; the answers alone
    # show where each retry and the request after it went
    a, b = t.backends('A', 'B')
    p = t.proxy("""
upstream app {
    server 127.0.0.1:{a} max_fails=2;
    server 127.0.0.1:{dead} max_fails=2;
    server 127.0.0.1:{b} max_fails=2;
}""" + SERVER, a=a, b=b, dead=t.dead_port())
    who = [p.get('/').backend for _ in range(12)]
    assert who == EXPECT_DEAD, who


# nginx 1.22.1's answers (weights 3:2:1, F never marked down)
EXPECT_THREE = ['A', 'F>A', 'B', 'A', 'F>A', 'A',
                'B', 'A', 'F>A', 'A', 'F>A', 'B']
# the dead server's two tries (requests 2 and 4) each retried on B
EXPECT_DEAD = ['A', 'B', 'B', 'A', 'B', 'A', 'B', 'A', 'B', 'A', 'B', 'A']
# probe on the third request (it fails: F rests again)
EXPECT_AFTER = ['A', 'A', 'F>A', 'A', 'A', 'A', 'A', 'A']
