# SPDX-License-Identifier: MIT
"""Active health checks (`health_check` in an upstream block; lbd only:
nginx open source has none). A backend killed mid-run is marked unhealthy
by the checks and gets no more requests, with zero failed requests seen by
the client; restarted, it is healthy again and takes requests; `lbctl
upstream list` and the error log say so. Also type=tcp, a reload keeping
the learned state, and status= rejecting a backend that answers 500."""

import os
import signal
import subprocess
import time

from harness import wait_for

INTERVAL = 0.2  # seconds, interval= of the configs below
FAILS = PASSES = 2
MARGIN = 2.0  # seconds of slack for a loaded 2-core machine

SERVER = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
    }
}"""


def _lbctl(t, p, *args):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, 'lbctl %s: rc %d: %s' % (
        ' '.join(args), r.returncode, r.stderr)
    return r.stdout


def _row(t, p, b):
    """`upstream list app` row of backend b: name weight state backup
    active requests failures checks last-check..."""
    out = _lbctl(t, p, 'upstream', 'list', 'app')
    name = '127.0.0.1:%d' % b.port
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return f
    raise AssertionError('no row for %s in:\n%s' % (name, out))


def _state(t, p, b):
    return _row(t, p, b)[2]


def _start(t, hc, **bk):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    bs = bk.pop('bs', None) or t.backends('b1', 'b2', 'b3')
    conf = 'upstream app {\n    %s\n' % hc
    for b in bs:
        conf += '    server 127.0.0.1:{%s};\n' % b.name
    conf += '}\n' + SERVER
    p = t.proxy(conf, **{b.name: b for b in bs})
    return p, bs


def _loop(p, n, pause, until=None, errors=None, who=None):
    """Up to n sequential requests, pause seconds apart, until until()
    holds; every non-200 goes to errors, every answering backend to who.
    Returns whether until() held (True when no until)."""
    for _ in range(n):
        r = p.get('/')
        if r.status != 200:
            errors.append(r.status)
        else:
            who.append(r.backend)
        if until is not None and until():
            return True
        time.sleep(pause)
    return until is None


def test_kill_and_restart_backend(t):
    p, (b1, b2, b3) = _start(
        t, 'health_check interval=200ms fails=2 passes=2 timeout=1s '
        'uri=/health;')
    errors, who = [], []
    # warm-up: every backend answers, checks pass
    _loop(p, 30, 0.01, errors=errors, who=who)
    assert set(who) == {'b1', 'b2', 'b3'}, who
    assert _state(t, p, b2) == 'up'
    assert any(r.path == '/health' and
               r.header('User-Agent') == 'lbd-health-check'
               for r in b2.requests), b2.paths()

    b2.stop()
    start = time.monotonic()
    down = _loop(p, 150, 0.02, until=lambda: _state(t, p, b2) == 'unhealthy',
                 errors=errors, who=who)
    assert down, 'b2 never marked unhealthy: %s' % _row(t, p, b2)
    assert time.monotonic() - start < INTERVAL * FAILS + 1 + MARGIN
    row = _row(t, p, b2)
    assert ' '.join(row[8:]).startswith('connect() failed'), row
    # no request goes to it any more: its counters stand still
    reqs, fails = row[5], row[6]
    who.clear()
    _loop(p, 40, 0.01, errors=errors, who=who)
    assert who and 'b2' not in who, who
    row = _row(t, p, b2)
    assert (row[5], row[6]) == (reqs, fails), (reqs, fails, row)

    b2.restart()
    start = time.monotonic()
    who.clear()
    back = _loop(p, 150, 0.02, until=lambda: 'b2' in who, errors=errors,
                 who=who)
    assert back, 'b2 got no request after restart: %s' % _row(t, p, b2)
    assert time.monotonic() - start < INTERVAL * PASSES + MARGIN
    assert _state(t, p, b2) == 'up'
    assert errors == [], 'failed requests: %s' % errors
    log = p.error_log()
    name = '127.0.0.1:%d' % b2.port
    assert 'upstream server %s of "app" is unhealthy: connect() failed' % \
        name in log, log
    assert 'upstream server %s of "app" is healthy again' % name in log, log


def test_tcp_check_and_reload_keeps_state(t):
    p, (b1, b2, b3) = _start(
        t, 'health_check type=tcp interval=200ms fails=1 passes=1;')
    b3.stop()
    wait_for(lambda: _state(t, p, b3) == 'unhealthy', timeout=5,
             what='b3 unhealthy')
    errors, who = [], []
    _loop(p, 20, 0.01, errors=errors, who=who)
    assert errors == [] and who and 'b3' not in who, (errors, who)
    # tcp checks send nothing
    assert not any(r.header('User-Agent') == 'lbd-health-check'
                   for r in b1.requests), b1.paths()
    # a reload carries the health state over: no new transition is logged
    log = p.error_log()
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.error_log().count('configuration reloaded') == 1,
             timeout=5, what='reload')
    assert _state(t, p, b3) == 'unhealthy'
    n = p.error_log().count('is unhealthy')
    assert n == log.count('is unhealthy') == 1, p.error_log()
    b3.restart()
    wait_for(lambda: _state(t, p, b3) == 'up', timeout=5, what='b3 up')
    who.clear()
    _loop(p, 30, 0.01, errors=errors, who=who)
    assert errors == [] and 'b3' in who, (errors, who)


def test_status_range_rejects_500(t):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    b1 = t.backend('b1')
    b2 = t.backend('b2', force_path='/status/500')
    p, _ = _start(t, 'health_check interval=200ms status=200 uri=/ready;',
                  bs=[b1, b2])
    wait_for(lambda: _state(t, p, b2) == 'unhealthy', timeout=5,
             what='b2 unhealthy')
    row = _row(t, p, b2)
    assert row[8:] == ['HTTP', '500'], row
    assert _row(t, p, b1)[8:] == ['HTTP', '200'], _row(t, p, b1)
    errors, who = [], []
    _loop(p, 20, 0.0, errors=errors, who=who)
    assert errors == [] and set(who) == {'b1'}, (errors, who)
    assert 'upstream server 127.0.0.1:%d of "app" is unhealthy: HTTP 500' % \
        b2.port in p.error_log()
