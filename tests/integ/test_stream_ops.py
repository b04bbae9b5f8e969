# SPDX-License-Identifier: MIT
"""Stream upstreams in the operations tools: `lbctl upstream list` shows
stream groups (kind "stream", JSON too), `set-weight stream:NAME` moves the
exact share of new sessions (3:1 -> 3 of every 4), `drain` sends no new
session to a server while an open session on it keeps working, `enable`
brings it back, `health_check` in a stream upstream (a TCP connect by
default) marks a backend that stops listening unhealthy so it gets no
session, and healthy again once it listens; `lbd_metrics` and `lbctl stats`
count sessions, failures, active sessions, weight, health and bytes each
way per stream server (kind="stream") and the stream totals.

lbd only (nginx has no lbctl, no metrics page and no health_check), except
test_stream_ops_same_name_in_both_contexts, whose first half (an http and
a stream upstream of the same name serve their own servers) runs on nginx
too. Every config uses two workers: the state set through lbctl is shared
by all of them."""

import json
import os
import re
import socket
import subprocess
import threading

from harness import wait_for
from test_stream import MAIN

INTERVAL = '200ms'  # health_check interval= below
WAIT = 15.0  # seconds for a state the checks must reach (loaded machine)


class NameEcho:
    """A raw TCP backend on 127.0.0.1: says its name ('NAME\\n') on connect
    unless quiet, then echoes until EOF. stop() closes the listener and
    every connection (the port refuses), restart() listens again on the
    same port. accepted counts connections."""

    def __init__(self, name, quiet=False):
        self.name, self.quiet = name, quiet
        self.accepted = 0
        self.port = 0
        self.conns = []
        self.lsock = None
        self._lock = threading.Lock()
        self.restart()

    def restart(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.lsock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def stop(self):
        with self._lock:
            socks, self.conns = [self.lsock] + self.conns, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, ls):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(30)
        try:
            if not self.quiet:
                c.sendall(self.name.encode() + b'\n')
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        try:
            c.close()
        except OSError:
            pass


def _backend(t, name, quiet=False):
    b = NameEcho(name, quiet)
    t.defer(b.stop)
    return b


def _line(s):
    buf = b''
    while not buf.endswith(b'\n'):
        d = s.recv(1)
        if not d:
            break
        buf += d
    return buf.decode().strip()


def _open(port):
    """A session: (socket, name of the backend that answered)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    return s, _line(s)


def _who(port, n):
    out = []
    for _ in range(n):
        s, name = _open(port)
        s.close()
        out.append(name)
    return out


def _lbctl(t, p, *args, rc=0):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == rc, 'lbctl %s: rc %d: %s' % (
        ' '.join(args), r.returncode, r.stderr)
    return r.stdout if rc == 0 else r.stderr


def _row(t, p, group, b):
    """`upstream list GROUP` row of b: server weight state backup active
    sessions failures sent received [checks last-check...]."""
    out = _lbctl(t, p, 'upstream', 'list', group)
    name = '127.0.0.1:%d' % b.port
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return f
    raise AssertionError('no row for %s in:\n%s' % (name, out))


def _metrics(p):
    r = p.get('/metrics')
    assert r.status == 200, r.status
    vals = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith('#'):
            k, v = line.rsplit(' ', 1)
            vals[k] = float(v)
    return vals


def _sk(name, group, b):
    """A stream server's metric key."""
    return '%s{upstream="%s",server="127.0.0.1:%d",kind="stream"}' % (
        name, group, b.port)


def _settled(t, p, sessions):
    """Wait until lbd took at least SESSIONS stream sessions (the harness's
    readiness probes) and none is open any more."""
    def ok():
        m = re.search(r'^stream: sessions accepted (\d+) active (\d+)$',
                      _lbctl(t, p, 'stats'), re.M)
        return m and int(m.group(1)) >= sessions and m.group(2) == '0'
    wait_for(ok, timeout=10, what='readiness probes ended')


def _start(t, body, nstream=1, **kw):
    if t.is_nginx:
        t.skip('nginx has no lbctl, lbd_metrics nor health_check')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /metrics { lbd_metrics; }
}""", main=MAIN + 'stream {\n' + body + '\n}\n', workers=2, **kw)
    _settled(t, p, nstream)
    return p


def test_stream_ops_list_weight_drain(t):
    b1, b2 = _backend(t, 'b1'), _backend(t, 'b2')
    p = _start(t, """
    upstream app { server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    server { listen 127.0.0.1:{port2}; proxy_pass app; }""", b1=b1, b2=b2)
    sp = p.subs['port2']
    s1, s2 = '127.0.0.1:%d' % b1.port, '127.0.0.1:%d' % b2.port

    out = _lbctl(t, p, 'upstream', 'list')
    assert 'stream upstream app round-robin\n' in out, out
    assert _row(t, p, 'app', b1)[1:4] == ['1', 'up', 'no'], out
    js = json.loads(_lbctl(t, p, '--json', 'upstream', 'list', 'stream:app'))
    (g,) = js['upstreams']
    assert (g['upstream'], g['kind'], g['method']) == \
        ('app', 'stream', 'round-robin'), g
    assert [s['name'] for s in g['servers']] == [s1, s2], g

    # weights 1:1 -> 3:1: exactly 3 of every 4 new sessions go to b1
    _lbctl(t, p, 'upstream', 'set-weight', 'stream:app', s1, '3')
    assert _row(t, p, 'stream:app', b1)[1] == '3'
    got = _who(sp, 12)
    for w in range(3):
        win = got[w * 4:(w + 1) * 4]
        assert (win.count('b1'), win.count('b2')) == (3, 1), (w, got)
    assert _metrics(p)[_sk('lbd_upstream_weight', 'app', b1)] == 3

    # drain b2 while a session on it is open
    held = None
    for _ in range(8):
        s, name = _open(sp)
        if name == 'b2':
            held = s
            break
        s.close()
    assert held, 'no session reached b2'
    _lbctl(t, p, 'upstream', 'drain', 'stream:app', s2)
    row = _row(t, p, 'app', b2)
    assert row[2:5] == ['draining', 'no', '1'], row
    n2 = b2.accepted
    assert _who(sp, 8) == ['b1'] * 8
    assert b2.accepted == n2
    # the open session still works both ways
    held.sendall(b'still here')
    got = b''
    while len(got) < 10:
        d = held.recv(100)
        assert d, 'the drained session was cut'
        got += d
    assert got == b'still here'
    held.close()
    wait_for(lambda: _row(t, p, 'app', b2)[2] == 'drained', what='b2 drained')

    # enable: 1 of every 4 again
    _lbctl(t, p, 'upstream', 'enable', 'stream:app', s2)
    got = _who(sp, 8)
    assert got.count('b2') == 2, got
    assert 'control: stream upstream app server %s draining' % s2 in \
        p.error_log()


def test_stream_ops_metrics_and_stats(t):
    e = _backend(t, 'e', quiet=True)
    p = _start(t, """
    upstream echo { server 127.0.0.1:{e}; }
    server { listen 127.0.0.1:{port2}; proxy_pass echo; }""", e=e)
    sp = p.subs['port2']
    m0 = _metrics(p)
    base = m0['lbd_stream_sessions_accepted_total']
    assert m0['lbd_stream_sessions_active'] == 0
    # the readiness probe sent and got nothing
    assert m0[_sk('lbd_upstream_bytes_sent_total', 'echo', e)] == 0
    assert m0[_sk('lbd_upstream_bytes_received_total', 'echo', e)] == 0

    held = socket.create_connection(('127.0.0.1', sp), timeout=10)
    held.sendall(b'x')
    assert held.recv(1) == b'x'
    m = _metrics(p)
    assert m['lbd_stream_sessions_active'] == 1
    assert m[_sk('lbd_upstream_active_requests', 'echo', e)] == 1
    held.close()
    for n in (1000, 2000, 3000):
        s = socket.create_connection(('127.0.0.1', sp), timeout=10)
        s.sendall(b'a' * n)
        got = 0
        while got < n:
            d = s.recv(65536)
            assert d
            got += len(d)
        s.close()
    wait_for(lambda: _metrics(p)['lbd_stream_sessions_active'] == 0,
             what='sessions closed')
    m = _metrics(p)
    assert m['lbd_stream_sessions_accepted_total'] == base + 4, m
    assert m[_sk('lbd_upstream_requests_total', 'echo', e)] == e.accepted
    assert m[_sk('lbd_upstream_failures_total', 'echo', e)] == 0
    assert m[_sk('lbd_upstream_active_requests', 'echo', e)] == 0
    assert m[_sk('lbd_upstream_bytes_sent_total', 'echo', e)] == 6001
    assert m[_sk('lbd_upstream_bytes_received_total', 'echo', e)] == 6001
    assert m[_sk('lbd_upstream_up', 'echo', e)] == 1
    assert m[_sk('lbd_upstream_healthy', 'echo', e)] == 1
    assert m[_sk('lbd_upstream_weight', 'echo', e)] == 1

    out = _lbctl(t, p, 'stats')
    assert 'stream: sessions accepted %d active 0\n' % (base + 4) in out, out
    assert ('stream upstream echo: servers 1 usable 1 active 0 sessions %d '
            'failures 0 sent 6001 received 6001\n' % e.accepted) in out, out
    js = json.loads(_lbctl(t, p, '--json', 'stats'))
    assert js['stream'] == {'accepted': base + 4, 'active': 0}, js
    (g,) = [u for u in js['upstreams'] if u['kind'] == 'stream']
    assert (g['sessions'], g['bytes_sent']) == (e.accepted, 6001), g
    assert g['per_server'][0]['bytes_received'] == 6001, g
    row = _row(t, p, 'echo', e)
    assert row[7:9] == ['6001', '6001'], row


def test_stream_ops_health_check(t):
    b1, b2 = _backend(t, 'b1'), _backend(t, 'b2')
    # max_fails=0: passive health never takes b2 out, only the checks do
    p = _start(t, """
    upstream app {
        health_check interval=%s fails=2 passes=2;
        server 127.0.0.1:{b1} max_fails=0;
        server 127.0.0.1:{b2} max_fails=0;
    }
    server { listen 127.0.0.1:{port2}; proxy_pass app; }""" % INTERVAL,
               b1=b1, b2=b2)
    sp = p.subs['port2']
    wait_for(lambda: int(_row(t, p, 'app', b2)[9]) >= 1, what='b2 checked')
    row = _row(t, p, 'app', b2)
    assert row[2] == 'up' and row[10] == 'ok', row
    assert sorted(_who(sp, 4)) == ['b1', 'b1', 'b2', 'b2']

    b2.stop()
    wait_for(lambda: _row(t, p, 'app', b2)[2] == 'unhealthy', timeout=WAIT,
             what='b2 unhealthy')
    assert ' '.join(_row(t, p, 'app', b2)[10:]).startswith(
        'connect() failed (111'), _row(t, p, 'app', b2)
    key = _sk('lbd_upstream_requests_total', 'app', b2)
    m = _metrics(p)
    assert m[_sk('lbd_upstream_healthy', 'app', b2)] == 0
    assert m[_sk('lbd_upstream_up', 'app', b2)] == 0
    assert m[_sk('lbd_upstream_health_changes_total', 'app', b2)] == 1
    # no session is even tried on it: its pick count stands still
    assert _who(sp, 6) == ['b1'] * 6
    assert _metrics(p)[key] == m[key]
    assert ('upstream server 127.0.0.1:%d of stream upstream "app" is '
            'unhealthy' % b2.port) in p.error_log()

    b2.restart()
    wait_for(lambda: _row(t, p, 'app', b2)[2] == 'up', timeout=WAIT,
             what='b2 healthy again')
    assert _metrics(p)[_sk('lbd_upstream_healthy', 'app', b2)] == 1
    assert 'b2' in _who(sp, 4)
    assert ('upstream server 127.0.0.1:%d of stream upstream "app" is '
            'healthy again' % b2.port) in p.error_log()


def test_stream_ops_same_name_in_both_contexts(t):
    """nginx allows `upstream app` in http{} and stream{} at once: each
    context uses its own. lbctl: a bare name is the http group,
    stream:NAME the stream one; `upstream list app` shows both."""
    h = t.backend('h')
    s = _backend(t, 's')
    p = t.proxy("""
upstream app { server 127.0.0.1:{h}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""", main=MAIN + """stream {
    upstream app { server 127.0.0.1:{s}; }
    server { listen 127.0.0.1:{port2}; proxy_pass app; }
}
""", h=h, s=s)
    r = p.get('/x')
    assert (r.status, r.backend) == (200, 'h')
    assert _who(p.subs['port2'], 2) == ['s', 's']
    if t.is_nginx:
        return
    out = _lbctl(t, p, 'upstream', 'list', 'app')
    assert out.startswith('upstream app round-robin\n'), out
    assert '\nstream upstream app round-robin\n' in out, out
    ss = '127.0.0.1:%d' % s.port
    err = _lbctl(t, p, 'upstream', 'disable', 'app', ss, rc=5)
    assert 'no server "%s" in upstream "app"' % ss in err, err
    _lbctl(t, p, 'upstream', 'disable', 'stream:app', ss)
    assert _row(t, p, 'stream:app', s)[2] == 'disabled'
    # the only server is disabled: the session is closed at once
    c = socket.create_connection(('127.0.0.1', p.subs['port2']), timeout=10)
    try:
        assert c.recv(10) == b''
    except ConnectionResetError:
        pass
    c.close()
    r = p.get('/y')
    assert (r.status, r.backend) == (200, 'h')
    js = json.loads(_lbctl(t, p, '--json', 'upstream', 'list', 'app'))
    assert [(g['upstream'], g['kind']) for g in js['upstreams']] == \
        [('app', 'http'), ('app', 'stream')], js
