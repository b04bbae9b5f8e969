# SPDX-License-Identifier: MIT
"""Connection steering (lbd only: nginx has no BPF reuseport selector;
its accept_mutex / reuseport hashing is what lbd replaces). With 2
workers, a skewed mix of long-lived (idle keep-alive) and short
connections ends with the long ones split evenly, as `lbctl stats --json`
and the pinned lb_workers map both show; a reload that adds a listening
address steers it too; `reuseport_steering off` serves with the kernel's
hash.

Why the split is exact, not just likely: each long connection is
established (its response read) before the next starts, and a short one
is over once the client reads EOF, which lbd sends only after it lowered
its worker's count. So every SYN sees the true counts and goes to the
least-loaded worker: the long ones alternate between the workers."""

import json
import os
import shutil
import subprocess
import uuid

from harness import ConnClosed, build_request, wait_for

CONF = """
server {
    listen 127.0.0.1:{port};
    keepalive_timeout 60s;
    location / { return 200 "ok\\n"; }
}"""

TWO = """
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{port2};
    keepalive_timeout 60s;
    location / { return 200 "ok\\n"; }
}"""

LONG, SHORT = 40, 200


def _lbd_only(t):
    if t.target != 'lbd':
        t.skip('lbd\'s BPF connection steering (nginx has no reuseport '
               'selector program)')


def _pin(t):
    pin = '/sys/fs/bpf/lbd-test-%s' % uuid.uuid4().hex[:12]
    t.defer(lambda: shutil.rmtree(pin, ignore_errors=True))
    return pin


def _stats(t, p):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'stats',
                        '--json'], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _active(t, p):
    return [w['active'] for w in _stats(t, p)['workers']]


def _dump_workers(pin):
    r = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned',
                        os.path.join(pin, 'lb_workers')],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    return {e['formatted']['key']: e['formatted']['value']
            for e in json.loads(r.stdout)}


def _long(p, port=None):
    """A connection that stays open: one keep-alive exchange, then idle."""
    c = p.conn(port)
    c.send(build_request('GET', '/long', headers={'Host': 'x'}))
    assert c.read_response().status == 200
    return c


def _short(p, port=None):
    """A connection that is over when this returns: lbd closed it."""
    c = p.conn(port)
    try:
        c.send(build_request('GET', '/short',
                             headers={'Host': 'x', 'Connection': 'close'}))
        assert c.read_response().status == 200
        assert c.is_closed(timeout=5), 'lbd kept a Connection: close open'
    finally:
        c.close()


def _mix(t, p, port=None, track=False):
    """LONG connections held open among SHORT ones, interleaved. With
    TRACK, returns (connection, worker) pairs: the worker whose count
    went up when the connection opened (all short ones are closed by
    then, so the difference is exact)."""
    held = []
    t.defer(lambda: [c.close() for c, _ in held])
    every = (LONG + SHORT) // LONG
    before = _active(t, p) if track else None
    for i in range(LONG + SHORT):
        if i % every == 0 and len(held) < LONG:
            c = _long(p, port)
            w = None
            if track:
                now = _active(t, p)
                up = [k for k in range(len(now)) if now[k] == before[k] + 1]
                assert len(up) == 1 and sum(now) == sum(before) + 1, (before, now)
                w, before = up[0], now
            held.append((c, w))
        else:
            _short(p, port)
    assert len(held) == LONG
    return held


def _balanced(counts):
    return max(counts) - min(counts) <= 0.1 * max(counts)


def _start(t, pin, http=CONF, main=''):
    p = t.proxy(http, main='bpf_pin_path %s;\n%s' % (pin, main), workers=2)
    # the start-up probes have come and gone: both workers idle
    wait_for(lambda: _active(t, p) == [0, 0], what='workers idle')
    return p


def test_steering_balances_long_connections(t):
    _lbd_only(t)
    pin = _pin(t)
    p = _start(t, pin)
    if 'connection steering on' not in p.error_log():
        t.skip('no BPF here: %s' % p.error_log()[-300:])
    held = _mix(t, p, track=True)
    st = _stats(t, p)
    counts = [w['active'] for w in st['workers']]
    assert sum(counts) == LONG, st
    assert _balanced(counts), 'active per worker %r' % counts
    s = st['steering']
    assert s['on'] is True, s
    assert s['picked'] >= LONG + SHORT, s
    assert s['no_slot'] == 0 and s['no_socket'] == 0, s
    # the same counts in the pinned map, readable with BTF
    m = wait_for(lambda: _dump_workers(pin), what='lb_workers dump')
    assert [m[0]['active'], m[1]['active']] == counts, m
    assert m[0]['accepted'] + m[1]['accepted'] >= LONG + SHORT, m

    # Worker 0's clients leave: the next long-lived ones must all go to
    # worker 0 (the kernel's hash would send about half to worker 1).
    for c, w in held:
        if w == 0:
            c.close()
    wait_for(lambda: _active(t, p) == [0, counts[1]], what='worker 0 drained')
    more = [_long(p) for _ in range(counts[0])]
    t.defer(lambda: [c.close() for c in more])
    assert _active(t, p) == counts


def test_steering_reload_adds_address(t):
    _lbd_only(t)
    pin = _pin(t)
    p = _start(t, pin)
    if 'connection steering on' not in p.error_log():
        t.skip('no BPF here')
    held = [_long(p) for _ in range(4)]
    t.defer(lambda: [c.close() for c in held])
    assert _active(t, p) == [2, 2]
    p.write_conf(http=TWO, main='bpf_pin_path %s;' % pin, workers=2)
    p.run('-s', 'reload')
    port2 = p.subs['port2']
    wait_for(lambda: _try_long(p, port2, held), what='new address serving')
    # a reload closes idle keep-alive connections (they would keep the
    # old configuration): only the one just opened is left
    wait_for(lambda: sum(_active(t, p)) == 1, what='old idle ones closed')
    # SYNs for the new address and the kept one: least-loaded worker
    for i in range(9):
        held.append(_long(p, port2 if i % 2 else None))
    counts = _active(t, p)
    assert sum(counts) == 10 and max(counts) - min(counts) <= 1, counts
    s = _stats(t, p)['steering']
    assert s['no_slot'] == 0 and s['no_socket'] == 0, s


def _try_long(p, port, held):
    try:
        held.append(_long(p, port))
        return True
    except (OSError, ConnClosed):
        return False


def test_steering_off_still_serves(t):
    _lbd_only(t)
    pin = _pin(t)
    p = _start(t, pin, main='reuseport_steering off;')
    assert 'reuseport_steering off' in p.error_log(), p.error_log()[-500:]
    held = _mix(t, p)
    st = _stats(t, p)
    assert sum(w['active'] for w in st['workers']) == len(held), st
    assert st['steering']['on'] is False, st
    assert st['steering']['why'] == 'reuseport_steering off', st
    assert not os.path.exists(os.path.join(pin, 'lb_workers'))
    out = subprocess.run([os.path.join(os.path.dirname(t.bin), 'lbctl'),
                          '-s', p.path('logs', 'lbd.sock'), 'stats'],
                         capture_output=True, text=True, timeout=10).stdout
    assert 'steering: off (reuseport_steering off)' in out, out
    assert 'worker 1: active ' in out, out
