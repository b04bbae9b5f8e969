# SPDX-License-Identifier: MIT
"""`proxy_bind $remote_addr transparent` (http and stream): the upstream
connection leaves with the client's own address (IP_TRANSPARENT), same
config for nginx 1.22 and lbd, both dropping to `user nobody` (lbd keeps
CAP_NET_RAW for it, as nginx's workers do).

The topology is three network namespaces' worth of veth pairs: the
client lives in namespace C (10.233.N.2, its gateway the root
namespace's 10.233.N.1), the backend in namespace B (10.234.N.2, its
default route back to the root namespace's 10.234.N.1), the proxy in the
root namespace. The backend answers the client's address, so its packets
come back into the root namespace addressed to 10.233.N.2; a policy rule
for this test's interface only (`iif VETH lookup TABLE`, a `local`
default route in TABLE) delivers them to the proxy's socket instead of
forwarding them on to C. The backend says which address connected to it.
Root only (namespaces, routes): skipped with the reason otherwise.

lbd keeps the capability only when the configuration it starts with asks
for it: a reload that adds `transparent` afterwards gets nginx's alert
and a 500 (loopback only)."""

import grp
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import uuid

from harness import HERE, wait_for

# the scripts below run in other namespaces as `python3 -c`: they import
# the harness's socket readers from this directory
_HARNESS = ('import sys\nsys.path.insert(0, %r)\n'
            'from harness import read_head, recv_until_close\n' % HERE)

BACKEND = _HARNESS + r'''
import socket, sys, threading
def serve(ls, http):
    while True:
        c, peer = ls.accept()
        with c:
            c.settimeout(5)
            try:
                if http:
                    read_head(c, chunk=4096, eof_ok=True)
                    body = peer[0].encode()
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n'
                              b'Connection: close\r\n\r\n' % len(body) + body)
                else:
                    c.sendall(peer[0].encode() + b'\n')
            except OSError:
                pass
socks = []
for port, http in ((int(sys.argv[1]), True), (int(sys.argv[2]), False)):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('0.0.0.0', port))
    ls.listen(16)
    threading.Thread(target=serve, args=(ls, http), daemon=True).start()
print('ready', flush=True)
sys.stdin.read()
'''

CLIENT = _HARNESS + r'''
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
sys.stdout.write(recv_until_close(s).decode())
'''


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


class Topo:
    """Namespaces C (client) and B (backend), their veth pairs to the root
    namespace, B's default route back, and the policy rule that keeps
    B's answers to C's address in the root namespace. Torn down at the
    test's end."""

    def __init__(self, t):
        # the two targets run at once: apart by their subnets
        n = random.randint(1, 125) + (0 if t.is_nginx else 125)
        tag = uuid.uuid4().hex[:6]
        self.c_ns, self.b_ns = 'lbtc%s' % tag, 'lbtb%s' % tag
        self.c_if, self.b_if = 'lbtc%s' % tag, 'lbtb%s' % tag
        self.c_gw, self.client = '10.233.%d.1' % n, '10.233.%d.2' % n
        self.b_gw, self.backend = '10.234.%d.1' % n, '10.234.%d.2' % n
        self.table = 20000 + random.randint(0, 9999)
        t.defer(self.destroy)
        for ns, ifn, gw, addr in ((self.c_ns, self.c_if, self.c_gw, self.client),
                                  (self.b_ns, self.b_if, self.b_gw, self.backend)):
            sh('ip', 'netns', 'add', ns)
            sh('ip', 'link', 'add', ifn, 'type', 'veth', 'peer', 'name', ifn + 'p')
            sh('ip', 'link', 'set', ifn + 'p', 'netns', ns)
            sh('ip', 'addr', 'add', gw + '/24', 'dev', ifn)
            sh('ip', 'link', 'set', ifn, 'up')
            sh('ip', '-n', ns, 'addr', 'add', addr + '/24', 'dev', ifn + 'p')
            sh('ip', '-n', ns, 'link', 'set', ifn + 'p', 'up')
            sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            sh('ip', '-n', ns, 'route', 'add', 'default', 'via', gw)
        sh('ip', 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', str(self.table))
        sh('ip', 'rule', 'add', 'iif', self.b_if, 'lookup', str(self.table),
           'pref', str(self.table))
        self.proc = None

    def start_backend(self, t, http_port, raw_port):
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.b_ns, sys.executable, '-c', BACKEND,
             str(http_port), str(raw_port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)
        assert self.proc.stdout.readline().strip() == b'ready'

    def client_http(self, port, path):
        r = subprocess.run(['ip', 'netns', 'exec', self.c_ns, 'curl', '-s', '-m', '5',
                            '-w', ' %{http_code}', 'http://%s:%d%s' % (self.c_gw, port, path)],
                           capture_output=True, text=True, timeout=20)
        return r.stdout

    def client_raw(self, port):
        r = subprocess.run(['ip', 'netns', 'exec', self.c_ns, sys.executable, '-c', CLIENT,
                            self.c_gw, str(port)], capture_output=True, text=True, timeout=20)
        return r.stdout.strip()

    def destroy(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(5)
        for cmd in (['ip', 'rule', 'del', 'pref', str(self.table)],
                    ['ip', 'route', 'flush', 'table', str(self.table)],
                    ['ip', 'link', 'del', self.c_if], ['ip', 'link', 'del', self.b_if],
                    ['ip', 'netns', 'del', self.c_ns], ['ip', 'netns', 'del', self.b_ns]):
            subprocess.run(cmd, capture_output=True, timeout=10)


def test_bind_transparent_http_and_stream(t):
    """The backend sees the client's address through an http location and
    a stream server with `proxy_bind $remote_addr transparent`, the
    proxy's own without it; lbd runs as nobody with CAP_NET_RAW."""
    if os.geteuid() != 0:
        t.skip('needs root: network namespaces, policy routing, IP_TRANSPARENT')
    if not shutil.which('ip') or not shutil.which('curl'):
        t.skip('iproute2 and curl needed')
    topo = Topo(t)
    http_port, raw_port = random.randint(20000, 29999), random.randint(30000, 39999)
    topo.start_backend(t, http_port, raw_port)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};  # the harness's readiness probe
    listen %s:{port};
    location / { proxy_bind $remote_addr transparent;
                 proxy_pass http://%s:%d; }
    location /own/ { proxy_pass http://%s:%d; }
}""" % (topo.c_gw, topo.backend, http_port, topo.backend, http_port), start=False,
                main='load_module /usr/share/nginx/modules/ngx_stream_module.so;\n'
                     'user nobody nogroup;\nstream { server { listen 127.0.0.1:{port2}; listen %s:{port2}; '
                     'proxy_bind $remote_addr transparent; proxy_pass %s:%d; } }'
                     % (topo.c_gw, topo.backend, raw_port))
    p.start()
    assert topo.client_http(p.port, '/x') == '%s 200' % topo.client, p.error_log()
    assert topo.client_http(p.port, '/own/x') == '%s 200' % topo.b_gw
    assert topo.client_raw(p.subs['port2']) == topo.client, p.error_log()
    if not t.is_nginx:
        log = p.error_log()
        wait_for(lambda: 'capabilities kept' in p.error_log(), what='the drop line')
        assert 'cap_net_raw' in p.error_log(), log


ONE = """
server {
    listen 127.0.0.1:{port};
    location / { %s proxy_pass http://127.0.0.1:{b1}; }
}"""


def test_bind_transparent_needs_the_capability(t):
    """lbd as nobody, started without `transparent` (no CAP_NET_RAW
    kept): a reload that adds it makes IP_TRANSPARENT fail, a 500 with
    nginx's alert line; the capability is kept when the first
    configuration asks for it (the other test)."""
    if t.is_nginx:
        t.skip('lbd only: nginx starts new workers with the capability on reload')
    if os.geteuid() != 0:
        t.skip('needs root to start lbd and drop to nobody')
    try:
        pwd.getpwnam('nobody'), grp.getgrnam('nogroup')
    except KeyError:
        t.skip('no user nobody / group nogroup on this system')
    b1 = t.backend('b1')
    main = 'user nobody nogroup;'
    p = t.proxy(ONE % '', start=False, main=main, b1=b1)
    p.start()
    assert p.get('/a').status == 200
    assert 'cap_net_raw' not in p.error_log()
    p.write_conf(http=ONE % 'proxy_bind 127.0.0.1 transparent;', main=main)
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'configuration reloaded' in p.error_log(), what='reload done')
    assert p.get('/b').status == 500
    assert 'setsockopt(IP_TRANSPARENT) failed (1: Operation not permitted) while ' \
        'connecting to upstream, client: 127.0.0.1' in p.error_log(), p.error_log()
    assert b1.count() == 1
