# SPDX-License-Identifier: MIT
"""Slow start (`server ... slow_start=TIME`, an nginx Plus parameter; lbd
only): a backend brought back by the active health checks gets a share of
the requests that grows over TIME instead of its full share at once, and
`lbctl upstream list` shows it as "slow-start" meanwhile. Also the
max_conns queue (`queue N [timeout=T]`, nginx Plus, lbd only): a request
that finds every server full waits for one instead of failing; a full
queue and a wait past the timeout answer 502, as nginx Plus does."""

import threading
import time

from harness import Conn, build_request, wait_for
from test_health import _loop, _row, _state

SLOW_START = 4.0  # seconds, slow_start= of b2


def test_recovered_backend_ramps_up(t):
    if t.is_nginx:
        t.skip('nginx has no slow_start (an nginx Plus feature)')
    b1, b2 = t.backends('b1', 'b2')
    # timeout=2s: a check that a loaded machine stalls past a short
    # timeout would mark b2 down again and restart its ramp (seen at -j6:
    # the last window's share fell below the first's); a stopped b2 is
    # refused at once, whatever the timeout
    conf = ('upstream app {\n'
            '    health_check interval=200ms fails=1 passes=1 timeout=2s;\n'
            '    server 127.0.0.1:{b1};\n'
            '    server 127.0.0.1:{b2} slow_start=4s;\n'
            '}\n'
            'server {\n'
            '    listen 127.0.0.1:{port};\n'
            '    location / {\n'
            '        proxy_pass http://app;\n'
            '    }\n'
            '}')
    p = t.proxy(conf, b1=b1, b2=b2)
    errors, who = [], []
    # at start nothing ramps: both take requests, b2 shows "up"
    _loop(p, 20, 0.005, errors=errors, who=who)
    assert set(who) == {'b1', 'b2'}, who
    assert _state(t, p, b2) == 'up'

    b2.stop()
    wait_for(lambda: _state(t, p, b2) == 'unhealthy', timeout=5,
             what='b2 unhealthy')
    b2.restart()
    wait_for(lambda: _state(t, p, b2) != 'unhealthy', timeout=5,
             what='b2 healthy again')
    row = _row(t, p, b2)
    assert row[2] == 'slow-start', row
    assert row[1] == '1', row  # weight 1 ramped: shown rounded up

    # requests in 1 s windows over the ramp: b2's share rises
    shares = []
    for _ in range(4):
        who = []
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            r = p.get('/')
            if r.status != 200:
                errors.append(r.status)
            else:
                who.append(r.backend)
            time.sleep(0.003)
        shares.append((who.count('b2'), len(who)))
    assert errors == [], 'failed requests: %s' % errors
    frac = [n / max(total, 1) for n, total in shares]
    # the last two windows together: one starved window (a loaded machine
    # can stall the loop for most of a second: 11 requests once) must not
    # decide the comparison
    late = (shares[2][0] + shares[3][0]) / max(shares[2][1] + shares[3][1], 1)
    assert frac[0] < late, shares
    assert frac[0] < 0.3, shares  # about 0.12 of the requests
    assert frac[3] > frac[0], shares
    # the ramp is over: "up" and an even share again
    wait_for(lambda: _state(t, p, b2) == 'up', timeout=SLOW_START + 2,
             what='b2 up after the ramp')
    who = []
    _loop(p, 40, 0.0, errors=errors, who=who)
    assert errors == [] and who.count('b2') == 20, (errors, who)


QUEUE_SERVER = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
    }
}"""


def _queue_proxy(t, queue):
    if t.is_nginx:
        t.skip('nginx has no upstream queue (an nginx Plus feature)')
    b1 = t.backend('b1')
    conf = ('upstream app {\n    server 127.0.0.1:{b1} max_conns=1;\n'
            '    %s\n}\n' % queue) + QUEUE_SERVER
    return t.proxy(conf, b1=b1), b1


def _bg(p, path, res):
    def run():
        res.append(p.get(path, timeout=20))
    th = threading.Thread(target=run)
    th.start()
    return th


def test_queue_waits_for_max_conns(t):
    p, b1 = _queue_proxy(t, 'queue 1 timeout=10s;')
    first, second = [], []
    th1 = _bg(p, '/hold/a', first)
    wait_for(lambda: b1.active == 1, what='first request held')
    th2 = _bg(p, '/second', second)
    # the second waits in the queue: not answered, not sent
    time.sleep(0.3)
    assert second == [] and b1.count() == 1, (second, b1.paths())
    # the queue (1) is full: a third fails at once
    r = p.get('/third', timeout=5)
    assert r.status == 502, r
    assert b1.count() == 1, b1.paths()
    b1.release('a')
    th1.join(10)
    th2.join(10)
    assert [r.status for r in first] == [200], first
    assert [r.status for r in second] == [200], second
    assert b1.paths()[-1] == '/second', b1.paths()
    # queued again later: the count went back to 0
    assert p.get('/').status == 200


def test_queue_timeout_is_502(t):
    p, b1 = _queue_proxy(t, 'queue 5 timeout=500ms;')
    first, second = [], []
    th1 = _bg(p, '/hold/b', first)
    wait_for(lambda: b1.active == 1, what='first request held')
    start = time.monotonic()
    th2 = _bg(p, '/late', second)
    th2.join(10)
    waited = time.monotonic() - start
    assert [r.status for r in second] == [502], second
    assert 0.4 <= waited < 5, waited
    assert '/late' not in b1.paths(), b1.paths()
    b1.release()
    th1.join(10)
    assert [r.status for r in first] == [200], first


def test_queue_client_gone_frees_place(t):
    p, b1 = _queue_proxy(t, 'queue 1 timeout=10s;')
    first, second = [], []
    th1 = _bg(p, '/hold/c', first)
    wait_for(lambda: b1.active == 1, what='first request held')
    # a client that gives up while queued leaves the queue
    with Conn(p.port) as c:
        c.send(build_request('GET', '/gone'))
        time.sleep(0.3)
    time.sleep(0.3)
    th2 = _bg(p, '/after', second)
    time.sleep(0.3)
    assert second == [], 'queue still full after the client left: %s' % second
    b1.release('c')
    th1.join(10)
    th2.join(10)
    assert [r.status for r in first + second] == [200, 200], first + second
    assert '/gone' not in b1.paths(), b1.paths()
