# SPDX-License-Identifier: MIT
"""The ban list and the XDP guard (lbd only: nginx has neither).

On loopback (no XDP there): `lbctl ban add/del/list/flush` refuse and
re-admit a client at accept time, a TTL lifts a ban by itself, bad input
gets clear errors, `ban_list FILE` is loaded at start and on reload.

Through a veth pair into a network namespace (the client lives inside
it, lbd outside with `xdp_attach` on the outer end): a banned client's
SYNs are dropped by XDP (its connects time out instead of being refused),
the ban keeps dropping after `kill -9` of lbd, a restarted lbd reuses the
same maps and swaps the program in the pinned link, an interface deleted
and created again is re-attached, and a bounded SYN flood from one
namespace is cut to its budget while a client in another one is served.

Without BPF (lbd started unprivileged) bans still hold, at accept time.
Every test uses its own bpf_pin_path so that no other lbd imports its
bans."""

import json
import os
import shutil
import subprocess
import time
import uuid

from harness import request, wait_for

SITE = """
server {
    listen {addr}:{port};
    location / { return 200 "served\\n"; }
}"""


def _lbd_only(t):
    if t.is_nginx:
        t.skip('lbd\'s ban list and XDP guard')
    if os.geteuid() != 0:
        t.skip('needs root (BPF, network namespaces)')


def _pin(t):
    pin = '/sys/fs/bpf/lbd-test-%s' % uuid.uuid4().hex[:12]
    t.defer(lambda: shutil.rmtree(pin, ignore_errors=True))
    return pin


def _lbctl(t, p, *args):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    return subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] +
                          list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20)


def _ok(t, p, *args):
    r = _lbctl(t, p, *args)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def _json(t, p, *args):
    return json.loads(_ok(t, p, *(args + ('--json',))))


def _served(port):
    try:
        return request(port, 'GET', '/', timeout=2).status == 200
    except OSError:
        return False


def test_ban_at_accept_time(t):
    _lbd_only(t)
    p = t.proxy(SITE, main='bpf_pin_path %s;' % _pin(t), addr='127.0.0.1')
    assert _served(p.port)
    assert 'banned 127.0.0.1' in _ok(t, p, 'ban', 'add', '127.0.0.1',
                                     '--reason', 'probing', 'wp-login')
    assert not _served(p.port), 'a banned client was served'
    bans = _json(t, p, 'ban', 'list')['bans']
    assert len(bans) == 1, bans
    b = bans[0]
    assert b['cidr'] == '127.0.0.1' and b['origin'] == 'lbctl', b
    assert b['reason'] == 'probing wp-login' and b['expires_in'] is None, b
    assert b['accept_hits'] >= 1, b
    assert 'ban 127.0.0.1 added by lbctl' in p.error_log()
    # the pinned trie holds it with BTF: bpftool shows readable fields
    r = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned',
                        os.path.join(p.text.split('bpf_pin_path ')[1]
                                     .split(';')[0], 'lb_ban4')],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    ent = json.loads(r.stdout)[0]['formatted']
    assert ent['key'] == {'prefixlen': 32, 'addr': [127, 0, 0, 1]}, ent
    assert ent['value']['reason'] == 'probing wp-login', ent
    assert 'lifted 127.0.0.1' in _ok(t, p, 'ban', 'del', '127.0.0.1')
    assert _served(p.port)

    # a network, with a TTL: lifted by itself and logged
    _ok(t, p, 'ban', 'add', '127.0.0.0/8', '--ttl', '1s')
    assert not _served(p.port)
    assert _json(t, p, 'ban', 'list')['bans'][0]['expires_in'] in (0, 1)
    wait_for(lambda: _served(p.port), timeout=5, what='the 1 s ban expired')
    wait_for(lambda: 'ban of 127.0.0.0/8 expired' in p.error_log(),
             timeout=3, what='expiry logged')
    assert _json(t, p, 'ban', 'list')['count'] == 0

    # flush
    for c in ('127.0.0.1', '192.0.2.0/24', '2001:db8::/32'):
        _ok(t, p, 'ban', 'add', c)
    assert not _served(p.port)
    assert 'lifted 3 bans' in _ok(t, p, 'ban', 'flush')
    assert _served(p.port)


def test_ban_errors(t):
    _lbd_only(t)
    p = t.proxy(SITE, main='bpf_pin_path %s;' % _pin(t), addr='127.0.0.1')
    cases = [
        (('ban', 'add', '10.0.0.1/8'),
         '"10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)'),
        (('ban', 'add', 'not-an-ip'), 'invalid address or CIDR "not-an-ip"'),
        (('ban', 'add', '10.0.0.0/33'), 'invalid address or CIDR'),
        (('ban', 'add', '192.0.2.1', '--ttl', 'soon'),
         'invalid duration "soon"'),
        (('ban', 'add', '192.0.2.1', '--bogus'), 'unexpected "--bogus"'),
        (('ban', 'del', '192.0.2.99'), '192.0.2.99 is not banned'),
        (('ban', 'add'), None),
    ]
    for args, msg in cases:
        r = _lbctl(t, p, *args)
        assert r.returncode != 0, (args, r.stdout)
        if msg:
            assert msg in r.stderr, (args, r.stderr)
    _ok(t, p, 'ban', 'add', '192.0.2.1')
    r = _lbctl(t, p, 'ban', 'add', '192.0.2.1')
    assert r.returncode == 5 and '192.0.2.1 is already banned' in r.stderr, r
    assert _served(p.port), 'a failed command must not ban anyone'


def test_ban_list_file_and_reload(t):
    _lbd_only(t)
    d = t.tmpdir('bans-')
    bans = t.write(os.path.join(d, 'bans.txt'),
                   '# blocked\n127.0.0.1   # bad neighbour\n192.0.2.0/24\n')
    main = 'bpf_pin_path %s;\nban_list %s;' % (_pin(t), bans)
    p = t.proxy(SITE, start=False, main=main, addr='127.0.0.1')
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    # (the kernel completes the handshake of a banned client before lbd
    # accepts and resets it, so the harness still sees the port ready)
    p.start()
    assert not _served(p.port), 'the ban file was not loaded at start'
    lst = _json(t, p, 'ban', 'list')['bans']
    assert {(b['cidr'], b['origin'], b['reason']) for b in lst} == {
        ('127.0.0.1', 'file', 'bad neighbour'),
        ('192.0.2.0/24', 'file', 'ban_list')}, lst
    # an lbctl ban is not the file's: a reload keeps it
    _ok(t, p, 'ban', 'add', '198.51.100.7')
    # a bad line: -t names file and line, the reload keeps the old list
    t.write(bans, '127.0.0.1\n198.51.100.0/33\n')
    r = p.run('-t')
    assert r.returncode != 0 and 'bans.txt:2: invalid address or CIDR' \
        in r.stderr, r.stderr
    p.signal(1)
    wait_for(lambda: 'reload failed' in p.error_log(), timeout=5,
             what='reload refused')
    assert not _served(p.port)
    # the line removed from the file is lifted on reload
    t.write(bans, '192.0.2.0/24\n203.0.113.0/24\n')
    p.signal(1)
    wait_for(lambda: _served(p.port), timeout=5, what='127.0.0.1 lifted')
    cidrs = {b['cidr']: b['origin'] for b in _json(t, p, 'ban', 'list')['bans']}
    assert cidrs == {'192.0.2.0/24': 'file', '203.0.113.0/24': 'file',
                     '198.51.100.7': 'lbctl'}, cidrs


def test_no_bpf_bans_at_accept_time(t):
    """Started as nobody without capabilities: no BPF at all. lbd says so
    once, `lbctl status` and `kernel stats` say so, bans still hold."""
    _lbd_only(t)
    if not shutil.which('setpriv'):
        t.skip('setpriv (util-linux) missing')
    p = t.proxy(SITE, start=False, main='bpf_pin_path %s;' % _pin(t),
                addr='127.0.0.1')
    for d in ('logs', 'conf', ''):
        os.chown(p.path(d), 65534, 65534)
    orig = p.args
    p.args = lambda *e: ['setpriv', '--reuid=65534', '--regid=65534',
                         '--clear-groups', '--inh-caps=-all',
                         '--bounding-set=-all'] + orig(*e)
    p.start()
    wait_for(lambda: 'XDP guard not loaded' in p.error_log(), timeout=5,
             what='the no-BPF notice')
    assert p.error_log().count('XDP guard not loaded') == 1
    assert 'no BPF: bans enforced at accept time' in _ok(t, p, 'status')
    ks = _json(t, p, 'kernel', 'stats')
    assert ks['xdp'] is False, ks
    assert _served(p.port)
    _ok(t, p, 'ban', 'add', '127.0.0.1', '--reason', 'no bpf')
    assert not _served(p.port)
    lst = _json(t, p, 'ban', 'list')
    assert lst['xdp'] is False and lst['bans'][0]['accept_hits'] >= 1, lst
    _ok(t, p, 'ban', 'del', '127.0.0.1')
    assert _served(p.port)


# ---- XDP through veth pairs into network namespaces ----------------------------

class Netns:
    """A namespace NAME with one end of a veth pair (10.231.N.2); the other
    end (IFNAME, 10.231.N.1) stays in the root namespace."""

    def __init__(self, t, n):
        tag = uuid.uuid4().hex[:6]
        self.ns = 'lbdt%s' % tag
        self.ifname = 'lbx%s' % tag
        self.peer = 'lby%s' % tag
        self.host = '10.231.%d.1' % n
        self.addr = '10.231.%d.2' % n
        self.n = n
        t.defer(self.destroy)
        self._sh('ip', 'netns', 'add', self.ns)
        self.create_link()

    @staticmethod
    def _sh(*cmd):
        subprocess.run(cmd, check=True, capture_output=True, timeout=10)

    def create_link(self):
        self._sh('ip', 'link', 'add', self.ifname, 'type', 'veth', 'peer',
                 'name', self.peer)
        self._sh('ip', 'link', 'set', self.peer, 'netns', self.ns)
        self._sh('ip', 'addr', 'add', self.host + '/24', 'dev', self.ifname)
        self._sh('ip', 'link', 'set', self.ifname, 'up')
        self._sh('ip', '-n', self.ns, 'addr', 'add', self.addr + '/24', 'dev',
                 self.peer)
        self._sh('ip', '-n', self.ns, 'link', 'set', self.peer, 'up')
        self._sh('ip', '-n', self.ns, 'link', 'set', 'lo', 'up')

    def delete_link(self):
        self._sh('ip', 'link', 'del', self.ifname)

    def destroy(self):
        subprocess.run(['ip', 'link', 'del', self.ifname],
                       capture_output=True, timeout=10)
        subprocess.run(['ip', 'netns', 'del', self.ns], capture_output=True,
                       timeout=10)

    def curl(self, port, timeout=2):
        """curl's exit code from inside: 0 served, 7 refused, 28 timed out."""
        r = subprocess.run(['ip', 'netns', 'exec', self.ns, 'curl', '-s',
                            '-o', '/dev/null', '-m', str(timeout),
                            'http://%s:%d/' % (self.host, port)],
                           capture_output=True, timeout=timeout + 10)
        return r.returncode

    def flood(self, port, count, seconds):
        """COUNT non-blocking connects (one SYN each) within about SECONDS,
        from inside; returns how many were established."""
        code = r'''
import select, socket, sys, time
host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    try: s.connect((host, port))
    except BlockingIOError: pass
    socks.append(s)
    time.sleep(secs / n)
time.sleep(0.5)
ok = 0
for s in socks:
    _, w, _ = select.select([], [s], [], 0)
    if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
        try: s.getpeername(); ok += 1
        except OSError: pass
    s.close()
print(ok)
'''
        r = subprocess.run(['ip', 'netns', 'exec', self.ns, 'python3', '-c',
                            code, self.host, str(port), str(count),
                            str(seconds)],
                           capture_output=True, text=True,
                           timeout=seconds + 20)
        assert r.returncode == 0, r.stderr
        return int(r.stdout)


def _netns_ok(t):
    _lbd_only(t)
    if not shutil.which('ip') or not shutil.which('curl'):
        t.skip('iproute2 and curl needed')


XDP_SITE = """
server {
    listen 0.0.0.0:{port};
    location / { return 200 "served\\n"; }
}"""


def _stats(t, p):
    return _json(t, p, 'kernel', 'stats')


def _map_id(pin, name):
    r = subprocess.run(['bpftool', '-j', 'map', 'show', 'pinned',
                        os.path.join(pin, name)],
                       capture_output=True, text=True, timeout=10)
    return json.loads(r.stdout)['id'] if r.returncode == 0 else None


def _link_prog(pin, ifname):
    r = subprocess.run(['bpftool', '-j', 'link', 'show', 'pinned',
                        os.path.join(pin, 'xdp_link_' + ifname)],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    j = json.loads(r.stdout)
    return j['id'], j['prog_id']


def test_xdp_ban_survives_kill_and_restart(t):
    _netns_ok(t)
    ns = Netns(t, 11)
    pin = _pin(t)
    main = 'bpf_pin_path %s;\nxdp_attach %s;' % (pin, ns.ifname)
    p = t.proxy(XDP_SITE, main=main, workers=2)
    st = _stats(t, p)
    assert st['xdp'] is True, st
    iface = st['interfaces'][0]
    assert iface['name'] == ns.ifname and iface['prog_id'] > 0, st
    assert iface['mode'] in ('native', 'generic'), st
    assert ns.curl(p.port) == 0
    passed = _stats(t, p)['packets']['passed']
    assert passed > 0, 'the guard saw no packet of the served client'

    _ok(t, p, 'ban', 'add', ns.addr, '--reason', 'netns client')
    assert ns.curl(p.port) == 28, 'a banned client must time out (XDP drop)'
    st = _stats(t, p)
    assert st['packets']['dropped_banned'] >= 1, st
    hits = _json(t, p, 'ban', 'list')['bans'][0]['xdp_hits']
    assert hits >= 1

    # kill -9: the pinned link keeps the program attached and dropping
    ids = (_map_id(pin, 'lb_ban4'), _map_id(pin, 'lb_xdp_stats'))
    link = _link_prog(pin, ns.ifname)
    p.kill()
    assert ns.curl(p.port) == 28, \
        'after kill -9 the ban must still drop (refused = no guard)'
    # a restarted lbd: same maps, same link, a new program swapped in
    p2 = t.proxy(XDP_SITE, main=main, workers=2)
    assert (_map_id(pin, 'lb_ban4'), _map_id(pin, 'lb_xdp_stats')) == ids
    link2 = _link_prog(pin, ns.ifname)
    assert link2[0] == link[0] and link2[1] != link[1], (link, link2)
    assert 'reusing the pinned link' in p2.error_log()
    lst = _json(t, p2, 'ban', 'list')['bans']
    assert [b['cidr'] for b in lst] == [ns.addr], lst
    assert lst[0]['xdp_hits'] > hits, 'drops while lbd was down are counted'
    assert ns.curl(p2.port) == 28
    _ok(t, p2, 'ban', 'del', ns.addr)
    assert ns.curl(p2.port) == 0

    # the interface goes away and comes back: re-attached by itself
    old_index = _stats(t, p2)['interfaces'][0]['ifindex']
    ns.delete_link()
    ns.create_link()

    def reattached():
        i = _stats(t, p2)['interfaces'][0]
        return i['ifindex'] not in (0, old_index) and i['prog_id'] > 0
    wait_for(reattached, timeout=5, what='XDP re-attached to the new link')
    _ok(t, p2, 'ban', 'add', ns.addr)
    assert ns.curl(p2.port) == 28
    _ok(t, p2, 'ban', 'flush')
    assert ns.curl(p2.port) == 0
    # removing xdp_attach from the configuration detaches on reload
    p2.write_conf(http=XDP_SITE, main='bpf_pin_path %s;' % pin, workers=2)
    p2.signal(1)
    wait_for(lambda: _link_prog(pin, ns.ifname) is None, timeout=5,
             what='link unpinned after reload without xdp_attach')
    r = subprocess.run(['ip', 'link', 'show', ns.ifname], capture_output=True,
                       text=True, timeout=10)
    assert 'xdp' not in r.stdout, r.stdout


def test_xdp_syn_flood_cut_to_budget(t):
    _netns_ok(t)
    bad, good = Netns(t, 12), Netns(t, 13)
    pin = _pin(t)
    main = ('bpf_pin_path %s;\nxdp_attach %s;\nxdp_attach %s mode=generic;\n'
            'xdp_syn_limit 10r/s burst=10;' % (pin, bad.ifname, good.ifname))
    http = """
server {
    listen 0.0.0.0:{port};
    location / { return 200 "served\\n"; }
}"""
    p = t.proxy(http, main=main, workers=2)
    st = _stats(t, p)
    assert st['syn_limit'] == {'rate': 10.0, 'burst': 10}, st
    modes = {i['name']: i['mode'] for i in st['interfaces']}
    assert modes[good.ifname] == 'generic', modes
    served = []

    import threading

    def client():
        end = time.monotonic() + 3
        while time.monotonic() < end and len(served) < 8:
            served.append(good.curl(p.port, timeout=3))
            time.sleep(0.2)
    th = threading.Thread(target=client)
    th.start()
    # 300 SYNs in 1.5 s from one source: budget 10 + 10/s
    est = bad.flood(p.port, 300, 1.5)
    th.join(20)
    assert served and all(rc == 0 for rc in served), served
    dropped = _stats(t, p)['packets']['dropped_syn_limit']
    assert dropped >= 250, dropped
    assert est <= 10 + 10 * 3 + 5, 'established %d of 300' % est


F2B_SITE = """
fail2ban_jail botsearch status=404,444 maxretry=5 findtime=60s bantime=2s;
server {
    listen 127.0.0.1:{port};
    fail2ban botsearch;
    location / { return 200 "served\\n"; }
    location /wp-admin/ { return 404; }
    location /static/ { fail2ban off; return 404; }
}"""


def test_fail2ban_botsearch(t):
    """The guide's botsearch jail: 404s on probes from one client, five
    within the window, ban it for bantime; the ban is logged with its
    reason, listed by lbctl with origin fail2ban, and lifts itself."""
    _lbd_only(t)
    p = t.proxy(F2B_SITE, main='bpf_pin_path %s;' % _pin(t))
    # 404s where the jail is off do not count
    for _ in range(8):
        assert p.get('/static/x').status == 404
    assert _served(p.port)
    for i in range(4):
        assert p.get('/wp-admin/setup%d.php' % i).status == 404
    assert _served(p.port), 'four offences are below maxretry'
    r = p.get('/wp-admin/install.php')
    assert r.status == 404, 'the fifth offence is answered, then banned'
    assert not _served(p.port), 'banned after the fifth 404'
    lst = _json(t, p, 'ban', 'list')['bans']
    assert len(lst) == 1, lst
    b = lst[0]
    assert b['cidr'] == '127.0.0.1' and b['origin'] == 'fail2ban', b
    assert b['reason'].startswith('fail2ban botsearch: 5 x status in 60s'), b
    assert b['expires_in'] in (1, 2), b
    assert 'fail2ban "botsearch": banned 127.0.0.1 for 2s after 5 ' \
        'offending responses within 60s' in p.error_log(), p.error_log()
    wait_for(lambda: _served(p.port), timeout=5, what='ban expired')
    # counted out: a fresh window starts after the ban
    for i in range(4):
        assert p.get('/wp-admin/again%d' % i).status == 404
    assert _served(p.port)


F2B_FLOOD = """
limit_req_zone $binary_remote_addr zone=perip:1m rate=1r/m;
limit_req_status 429;
fail2ban_jail flood limit_req maxretry=3 findtime=60s bantime=1h;
server {
    listen 127.0.0.1:{port};
    # (not `return`: it runs in the rewrite phase, before limit_req, as in nginx)
    location / { limit_req zone=perip; fail2ban flood; proxy_pass http://127.0.0.1:{b1}; }
}"""


def test_fail2ban_limit_req(t):
    """Too many limit_req rejections: the third one bans the client."""
    _lbd_only(t)
    p = t.proxy(F2B_FLOOD, main='bpf_pin_path %s;' % _pin(t),
                b1=t.backend('b1'))
    st = [p.get('/').status for _ in range(2)]
    assert st == [200, 429], (st, p.error_log()[-800:])
    assert p.get('/').status == 429, 'the third rejection is answered'
    assert not _served(p.port), 'banned after three limit_req rejections'
    b = _json(t, p, 'ban', 'list')['bans'][0]
    assert b['origin'] == 'fail2ban' and \
        b['reason'].startswith('fail2ban flood: 3 x limit_req in 60s'), b
    assert 'after 3 limit_req rejections within 60s' in p.error_log()
