# SPDX-License-Identifier: MIT
"""The control socket and lbctl (lbd only: nginx has no control socket):
upstream list, set-weight with an exact round-robin share across two
workers, drain with a request still in flight, enable, error exit codes,
hostile input on the raw socket, stats, and runtime changes surviving a
reload."""

import os
import socket
import stat
import shutil
import subprocess
import threading
import time

from harness import recv_until_close, wait_for

UPSTREAM = """
upstream app {
    server 127.0.0.1:{b1};
    server 127.0.0.1:{b2};
    server 127.0.0.1:{b3};
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
    }
}"""


def _start(t):
    if t.is_nginx:
        t.skip('nginx has no control socket')
    bs = t.backends('b1', 'b2', 'b3')
    p = t.proxy(UPSTREAM, workers=2, **{b.name: b for b in bs})
    return p, bs


def _sock(p):
    return p.path('logs', 'lbd.sock')


def _lbctl(t, *args):
    """Run build/lbctl (next to the lbd binary) -> (rc, stdout, stderr)."""
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout, r.stderr


def _ctl(t, p, *args):
    rc, out, err = _lbctl(t, '-s', _sock(p), *args)
    assert rc == 0, 'lbctl %s: rc %d: %s' % (' '.join(args), rc, err)
    return out


def _row(out, b):
    """The `upstream list` row of backend b: [name, weight, state, backup,
    active, requests, failures]."""
    name = '127.0.0.1:%d' % b.port
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return f
    raise AssertionError('no row for %s in:\n%s' % (name, out))


def _who(p, n, path='/'):
    out = []
    for _ in range(n):
        r = p.get(path)
        assert r.status == 200, 'request failed: %d' % r.status
        out.append(r.backend)
    return out


def _raw(p, data):
    """Send raw bytes to the control socket, half-close, read everything."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(_sock(p))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_until_close(s).decode()
    finally:
        s.close()


def _hold_on(p, target, others, tries=10):
    """Start /hold/KEY requests until one is held by `target`; return the
    thread and result holder of that one (others are released at once)."""
    for i in range(tries):
        key = 'k%d' % i
        before = {b.name: b.count() for b in [target] + others}
        res = {}

        def go(k=key, res=res):
            res['r'] = p.get('/hold/' + k, timeout=20)

        th = threading.Thread(target=go, daemon=True)
        th.start()
        wait_for(lambda: sum(b.count() for b in [target] + others)
                 > sum(before.values()), what='a held request arrives')
        if target.count() > before[target.name]:
            return th, res, key
        for b in others:
            b.release(key)
        th.join(10)
        assert res['r'].status == 200
    raise AssertionError('no request reached %s' % target.name)


def test_ctl_upstream_control(t):
    p, (b1, b2, b3) = _start(t)

    # the socket exists, owner-only by default
    st = os.stat(_sock(p))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)

    out = _ctl(t, p, 'upstream', 'list')
    assert out.startswith('upstream app round-robin\n'), out
    for b in (b1, b2, b3):
        assert _row(out, b)[1:3] == ['1', 'up'], out

    # weight 5:1:1, exact across both workers: 10 full cycles of 7
    _ctl(t, p, 'upstream', 'set-weight', 'app', '127.0.0.1:%d' % b1.port, '5')
    assert _row(_ctl(t, p, 'upstream', 'list', 'app'), b1)[1] == '5'
    got = _who(p, 70)
    for w in range(10):
        win = got[w * 7:(w + 1) * 7]
        counts = tuple(win.count(n) for n in ('b1', 'b2', 'b3'))
        assert counts == (5, 1, 1), 'window %d: %r' % (w, win)

    # drain b2 while one of its requests is still in flight
    th, res, key = _hold_on(p, b2, [b1, b3])
    _ctl(t, p, 'upstream', 'drain', 'app', '127.0.0.1:%d' % b2.port)
    row = _row(_ctl(t, p, 'upstream', 'list'), b2)
    assert row[2:5] == ['draining', 'no', '1'], row
    n2 = b2.count()
    got = _who(p, 21)
    assert 'b2' not in got, got
    assert b2.count() == n2
    b2.release(key)
    th.join(10)
    assert res['r'].status == 200 and res['r'].backend == 'b2'
    wait_for(lambda: _row(_ctl(t, p, 'upstream', 'list'), b2)[2] == 'drained',
             what='b2 drained')

    # enable: b2 takes its share again (1 in 7)
    _ctl(t, p, 'upstream', 'enable', 'app', '127.0.0.1:%d' % b2.port)
    got = _who(p, 14)
    assert got.count('b2') == 2, got

    # stats: the upstream figures match what the backends saw
    out = _ctl(t, p, 'stats')
    total = b1.count() + b2.count() + b3.count()
    line = [ln for ln in out.splitlines() if ln.startswith('upstream app:')]
    assert line and line[0].split()[-3:] == [str(total), 'failures', '0'], \
        (total, out)
    req = [ln for ln in out.splitlines() if ln.startswith('requests: ')]
    assert req and int(req[0].split()[1]) >= total, out
    js = _ctl(t, p, '--json', 'upstream', 'list')
    assert js.startswith('{"upstreams":[{"upstream":"app"'), js


def test_ctl_errors_and_hostile_input(t):
    p, (b1, b2, b3) = _start(t)
    s1 = '127.0.0.1:%d' % b1.port

    rc, out, err = _lbctl(t, '-s', _sock(p), 'upstream', 'drain', 'nope', s1)
    assert rc == 5 and 'unknown upstream "nope"' in err, (rc, err)
    rc, out, err = _lbctl(t, '-s', _sock(p), 'upstream', 'set-weight',
                          'app', s1, 'heavy')
    assert rc == 5 and 'invalid weight "heavy"' in err, (rc, err)
    rc, out, err = _lbctl(t, '-s', _sock(p), 'upstream', 'set-weight',
                          'app', '127.0.0.1:1', '2')
    assert rc == 5 and 'no server "127.0.0.1:1"' in err, (rc, err)
    rc, out, err = _lbctl(t, '-s', p.path('logs', 'absent.sock'), 'status')
    assert rc == 3, (rc, err)
    rc, out, err = _lbctl(t, 'frobnicate')
    assert rc == 1, (rc, err)

    # raw garbage, a 10 KB line, then a good command on the same connection
    got = _raw(p, b'\x00\x07garbage\n' + b'y' * 10240 + b'\nstatus\n')
    lines = got.splitlines()
    assert lines[0].startswith('ERR invalid byte'), got
    assert lines[1] == 'ERR line too long (max 4096 bytes)', got
    assert lines[2].startswith('version: lbd/') and lines[-1] == 'OK', got
    assert _raw(p, b'help me please\n').startswith('ERR usage: help'), got
    # a client stuck mid-line and one that never reads its answers (a
    # flood of `help`) hold no one else up
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t.defer(stuck.close)
    t.defer(flood.close)
    stuck.connect(_sock(p))
    stuck.sendall(b'upstream li')
    flood.connect(_sock(p))
    flood.setblocking(False)
    sent = 0
    try:
        while sent < 4 << 20:
            sent += flood.send(b'help\n' * 1024)
    except BlockingIOError:
        pass
    # the daemon keeps serving traffic and commands
    assert _who(p, 3) == ['b1', 'b2', 'b3']
    out = _ctl(t, p, 'status')
    assert 'pid: %d\n' % p.pid in out and 'workers: 2\n' in out, out


def test_ctl_config_lookup_reload_and_exit(t):
    p, (b1, b2, b3) = _start(t)
    s2 = '127.0.0.1:%d' % b2.port

    # without -s, lbctl finds the socket through -p/-c
    rc, out, err = _lbctl(t, '-p', p.prefix, '-c', 'conf/nginx.conf', 'status')
    assert rc == 0 and 'pid: %d\n' % p.pid in out, (rc, out, err)

    # runtime changes survive `lbctl reload`
    _ctl(t, p, 'upstream', 'set-weight', 'app', s2, '3')
    _ctl(t, p, 'upstream', 'disable', 'app', '127.0.0.1:%d' % b3.port)
    assert _ctl(t, p, 'reload').startswith('reload: started')
    wait_for(lambda: 'configuration reloaded' in p.error_log(),
             what='the reload')
    out = _ctl(t, p, 'upstream', 'list')
    assert _row(out, b2)[1:3] == ['3', 'up'], out
    assert _row(out, b3)[2] == 'disabled', out
    got = _who(p, 8)
    assert (got.count('b1'), got.count('b2'), got.count('b3')) == (2, 6, 0), got

    # the socket file goes away with the daemon
    p.stop()
    assert not os.path.exists(_sock(p))
    rc, out, err = _lbctl(t, '-s', _sock(p), 'status')
    assert rc == 3, (rc, err)


def test_ctl_permission_denied(t):
    """The socket is owner-only (0600): another user gets exit code 4."""
    p, _ = _start(t)
    # a copy nobody can reach, wherever the checkout lives
    exe = os.path.join(t.tmpdir('bin-'), 'lbctl')
    shutil.copy(os.path.join(os.path.dirname(t.bin), 'lbctl'), exe)
    for _ in range(50):
        r = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                            exe, '-s', _sock(p), 'status'],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=20)
        # ETXTBSY: a child another test thread forked meanwhile still holds
        # the copy's write descriptor until it execs (seen at -j6)
        if not (r.returncode == 126 and 'Text file busy' in r.stderr):
            break
        time.sleep(0.1)
    assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
    assert 'ermission denied' in r.stderr, r.stderr
