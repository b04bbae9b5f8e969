# SPDX-License-Identifier: MIT
"""Privilege dropping (`user`, lbd only: nginx keeps a root master and
drops its worker processes, a different model): every thread runs as the
user with exactly the kept capabilities, requests are served, USR1 reopen
creates the new log as the user, a reload binds a new port below 1024,
the root-owned control socket still answers lbctl, and the pinned BPF map
is still updated through its open fd."""

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import uuid

from harness import request, wait_for

CAP_NET_BIND_SERVICE = 10

ONE = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
}"""

TWO = """
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{low};
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
}"""

MAIN = 'user nobody nogroup;'


def _ids(t):
    if t.is_nginx:
        t.skip('nginx keeps a root master: lbd\'s single-process drop only')
    if os.geteuid() != 0:
        t.skip('needs root to start lbd and drop to nobody')
    try:
        return pwd.getpwnam('nobody').pw_uid, grp.getgrnam('nogroup').gr_gid
    except KeyError:
        t.skip('no user nobody / group nogroup on this system')


def _status(pid, tid):
    with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
        return dict(ln.split(':', 1) for ln in f.read().splitlines()
                    if ':' in ln)


def _check_threads(pid, uid, gid, caps, nthreads):
    tids = os.listdir('/proc/%d/task' % pid)
    assert len(tids) >= nthreads, 'threads %r' % tids
    for tid in tids:
        st = _status(pid, tid)
        assert st['Uid'].split() == [str(uid)] * 4, (tid, st['Uid'])
        assert st['Gid'].split() == [str(gid)] * 4, (tid, st['Gid'])
        assert st['Groups'].split() == [str(gid)], (tid, st['Groups'])
        for k in ('CapEff', 'CapPrm'):
            assert int(st[k], 16) == caps, (tid, k, st[k])
        assert int(st['CapInh'], 16) == 0, (tid, st['CapInh'])


def _free_low_port():
    for port in range(600, 1000):
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


def _lbctl(t, p, *args):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    return subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] +
                          list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20)


def _start(t, http, main, uid, gid, **subs):
    p = t.proxy(http, start=False, main=main, workers=2, **subs)
    # USR1 creates the new log file as the user: its directory must be
    # writable by the user (as a packaged /var/log/lbd would be)
    os.chown(p.path('logs'), uid, gid)
    return p.start()


def test_drop_serve_reopen_reload(t):
    uid, gid = _ids(t)
    b1 = t.backend('b1')
    p = _start(t, ONE, MAIN, uid, gid, b1=b1)
    _check_threads(p.pid, uid, gid, 1 << CAP_NET_BIND_SERVICE, 3)
    # still dumpable after setuid: /proc/PID belongs to the user, not root
    assert os.stat('/proc/%d' % p.pid).st_uid == uid
    assert 'capabilities kept: cap_net_bind_service' in p.error_log(), \
        p.error_log()[-1000:]
    r = p.get('/before')
    assert r.status == 200 and r.backend == 'b1', r
    # logs opened as root were handed to the user before the drop
    log = p.path('logs', 'access.log')
    wait_for(lambda: '/before' in p.access_log(), what='/before logged')
    for name in ('access.log', 'error.log'):
        st = os.stat(p.path('logs', name))
        assert (st.st_uid, st.st_gid) == (uid, gid), (name, st)
    # the pid file and the control socket stay root's
    st = os.stat(p.path('logs', 'lbd.sock'))
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, st
    assert os.stat(p.path('logs', 'nginx.pid')).st_uid == 0
    r = _lbctl(t, p, 'status')
    assert r.returncode == 0 and str(p.pid) in r.stdout, (r.stdout, r.stderr)

    # USR1: the new access.log is created by the unprivileged process
    os.rename(log, log + '.1')
    p.signal(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(log), what='access.log reopened')
    assert os.stat(log).st_uid == uid, os.stat(log)
    assert p.get('/after').status == 200
    wait_for(lambda: '/after' in p.access_log(), what='/after in new log')
    assert '/after' not in p.read('logs', 'access.log.1')

    # HUP: a new listener below 1024 needs CAP_NET_BIND_SERVICE
    low = _free_low_port()
    if low is None:
        t.skip('no free port in 600-999')
    p.subs['low'] = low
    p.write_conf(http=TWO, main=MAIN, workers=2)
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'configuration reloaded' in p.error_log(),
             what='reload done')
    r = wait_for(lambda: _try_get(low), what='low port %d serving' % low)
    assert r.status == 200 and r.backend == 'b1', r
    assert p.get('/still').status == 200
    # the reload started the health checker again: still unprivileged
    _check_threads(p.pid, uid, gid, 1 << CAP_NET_BIND_SERVICE, 3)


def _try_get(port):
    try:
        return request(port, 'GET', '/low')
    except OSError:
        return None


def test_unknown_user_fails_start(t):
    _ids(t)
    b1 = t.backend('b1')
    p = t.proxy(ONE, start=False, main='user lbd-no-such-user;', b1=b1)
    p.write_conf()
    r = subprocess.run(p.args(), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    text = r.stderr + p.error_log()
    assert 'getpwnam("lbd-no-such-user") failed: no such user' in text, text
    assert not os.path.exists(p.path('logs', 'nginx.pid'))


UPSTREAM = """
upstream app {
    server 127.0.0.1:{b1};
}
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}"""


def test_bpf_map_updates_unprivileged(t):
    uid, gid = _ids(t)
    pin = '/sys/fs/bpf/lbd-test-%s' % uuid.uuid4().hex[:12]
    t.defer(lambda: shutil.rmtree(pin, ignore_errors=True))
    b1 = t.backend('b1')
    p = _start(t, UPSTREAM, MAIN + '\nbpf_pin_path %s;' % pin, uid, gid,
               b1=b1)
    if 'BPF maps pinned under' not in p.error_log():
        t.skip('BPF maps not available here')
    caps = int(_status(p.pid, p.pid)['CapEff'], 16)
    assert caps & ~((1 << CAP_NET_BIND_SERVICE) | (1 << 39)) == 0, hex(caps)
    s1 = '127.0.0.1:%d' % b1.port
    r = _lbctl(t, p, 'upstream', 'set-weight', 'app', s1, '9')
    assert r.returncode == 0, r.stderr
    wait_for(lambda: (_dump(pin) or {}).get(s1, {}).get('weight') == 9,
             what='weight 9 mirrored by the unprivileged lbd')
    assert 'lb_upstreams update failed' not in p.error_log()


def _dump(pin):
    r = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned',
                        os.path.join(pin, 'lb_upstreams')],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    return {e['formatted']['key']['server']: e['formatted']['value']
            for e in json.loads(r.stdout)}
