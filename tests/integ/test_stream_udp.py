# SPDX-License-Identifier: MIT
"""UDP proxying with nginx's `stream {}` module (`listen ... udp`), against
nginx (libnginx-mod-stream loaded) and lbd, same config: a DNS-like
question and answer with proxy_responses 1 (the access log's UDP line),
many clients at once each getting its own answers, round robin per
session (a session sticks to its server), proxy_requests, proxy_timeout
ending a session (200) and a server that never answers when answers are
expected (502), a port where nothing listens (the ICMP error: an empty
datagram to the client, the server failed, the next session elsewhere),
datagram boundaries kept both ways and proxy_buffer_size cutting an
upstream datagram, allow/deny (403), a wildcard listener answering from
the address the client wrote to, IPv6, `-t` errors with nginx's texts;
unix datagram listeners (named clients, an unbound one that cannot be
answered); lbd only: a session kept across a reload.

Every stream block also has a TCP server on {port}: the harness's readiness
probe connects there (UDP ports cannot be probed)."""

import os
import signal
import socket
import threading
import time

from harness import free_port, make_conf, wait_for
from test_stream import MAIN

LOG = """
    log_format u '$remote_addr $protocol $status $bytes_received $bytes_sent '
                 '$upstream_addr $upstream_bytes_sent $upstream_bytes_received $server_addr';
    access_log {prefix}/logs/udp.log u;
    server { listen 127.0.0.1:{port}; return ok; }
"""


def udp_port():
    """A port free for both TCP and UDP on 127.0.0.1 right now."""
    for _ in range(100):
        p = free_port()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(('127.0.0.1', p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError('no free UDP port')


class UdpBackend:
    """A UDP server on 127.0.0.1 (or HOST). Modes: 'name' answers
    NAME:DATA, 'echo' the datagram as it came, 'silent' nothing, 'big'
    one datagram of int(DATA) bytes. Records (size, source) of each
    datagram it got."""

    def __init__(self, name, mode='name', host='127.0.0.1'):
        self.name, self.mode = name, mode
        fam = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.stop = True
        self.sock.close()

    def _serve(self):
        while not self.stop:
            try:
                d, a = self.sock.recvfrom(70000)
            except OSError:
                return
            self.got.append((len(d), a))
            try:
                if self.mode == 'name':
                    self.sock.sendto(self.name.encode() + b':' + d, a)
                elif self.mode == 'echo':
                    self.sock.sendto(d, a)
                elif self.mode == 'big':
                    self.sock.sendto(b'z' * int(d), a)
            except OSError:
                pass


def ubackend(t, name, mode='name', host='127.0.0.1'):
    b = UdpBackend(name, mode, host)
    t.defer(b.close)
    return b


def dead_udp_port(t):
    """A UDP port where nothing listens (a datagram to it gets ICMP port
    unreachable)."""
    return udp_port()


def udp_proxy(t, body, **kw):
    main = MAIN + 'stream {\n' + LOG + body + '\n}\n'
    return t.proxy('', main=main, **kw)


def client(source='127.0.0.1', timeout=5):
    fam = socket.AF_INET6 if ':' in source else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.bind((source, 0))
    c.settimeout(timeout)
    return c


def ask(c, port, data, host='127.0.0.1'):
    c.sendto(data, (host, port))
    return c.recv(70000)


def log_lines(p):
    # (the TCP server's readiness probe logs a TCP line)
    return [ln for ln in p.read('logs', 'udp.log').split('\n') if ' UDP ' in ln]


def wait_lines(p, n, what='access log lines'):
    wait_for(lambda: len(log_lines(p)) >= n, 10,
             what='%d %s (have %r)' % (n, what, log_lines(p)))
    return log_lines(p)


def test_udp_dns_like_question_answer(t):
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; proxy_responses 1; }""",
                  b=b, u=u)
    c = client()
    assert ask(c, u, b'query-1') == b'b1:query-1'
    lines = wait_lines(p, 1)
    assert lines == ['127.0.0.1 UDP 200 7 10 127.0.0.1:%d 7 10 127.0.0.1' % b.port], lines
    # the session ended after its one answer: the next question is a new one
    assert ask(c, u, b'query-2') == b'b1:query-2'
    assert len(wait_lines(p, 2)) == 2
    assert 'udp done, packets from/to client:1/1' in p.error_log()


def test_udp_many_clients_at_once(t):
    b = ubackend(t, 'b1', 'echo')
    u = udp_port()
    udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; }""", b=b, u=u)
    cs = [client() for _ in range(20)]
    for round_ in range(3):
        for i, c in enumerate(cs):
            c.sendto(b'client %d round %d' % (i, round_), ('127.0.0.1', u))
        for i, c in enumerate(cs):
            assert c.recv(100) == b'client %d round %d' % (i, round_)
    # one upstream socket per client session: 20 sources at the backend
    assert len({a for _, a in b.got}) == 20, len({a for _, a in b.got})


def test_udp_round_robin_per_session(t):
    b1, b2 = ubackend(t, 'b1'), ubackend(t, 'b2')
    u, u2 = udp_port(), udp_port()
    p = udp_proxy(t, """
    upstream two { server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    server { listen 127.0.0.1:{u} udp; proxy_pass two; proxy_responses 1; }
    server { listen 127.0.0.1:{u2} udp; proxy_pass two; }""", b1=b1, b2=b2, u=u, u2=u2)
    got = [ask(client(), u, b'q').split(b':')[0].decode() for _ in range(6)]
    assert got in (['b1', 'b2'] * 3, ['b2', 'b1'] * 3), got
    wait_lines(p, 6)
    # without proxy_responses a client's datagrams stay in its session
    c = client()
    first = ask(c, u2, b'a').split(b':')[0]
    assert [ask(c, u2, b'x%d' % i).split(b':')[0] for i in range(4)] == [first] * 4
    other = ask(client(), u2, b'b').split(b':')[0]
    assert other != first, (first, other)


def test_udp_proxy_requests(t):
    b1, b2 = ubackend(t, 'b1'), ubackend(t, 'b2')
    u = udp_port()
    p = udp_proxy(t, """
    upstream two { server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    server { listen 127.0.0.1:{u} udp; proxy_pass two; proxy_requests 2; proxy_responses 1; }""",
                  b1=b1, b2=b2, u=u)
    c = client()
    got = [ask(c, u, b'%d' % i).split(b':')[0] for i in range(3)]
    # two datagrams in the first session, the third starts the next one
    assert got[0] == got[1] != got[2], got
    lines = wait_lines(p, 1)
    assert lines[0].split()[3:5] == ['2', '8'], lines


def test_udp_proxy_timeout(t):
    b = ubackend(t, 'b1', 'echo')
    s = ubackend(t, 'mute', 'silent')
    u, u2 = udp_port(), udp_port()
    p = udp_proxy(t, """
    proxy_timeout 1s;
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{u2} udp; proxy_pass 127.0.0.1:{s}; proxy_responses 1; }""",
                  b=b, s=s, u=u, u2=u2)
    c = client()
    t0 = time.monotonic()
    assert ask(c, u, b'hello') == b'hello'
    assert ask(c, u, b'again') == b'again'
    lines = wait_lines(p, 1)
    assert time.monotonic() - t0 >= 0.9
    assert lines[0].split()[1:5] == ['UDP', '200', '10', '10'], lines
    # answers expected but none came: the upstream timed out, 502
    c2 = client()
    c2.sendto(b'anyone?', ('127.0.0.1', u2))
    lines = wait_lines(p, 2)
    assert lines[1].split()[2] == '502', lines
    assert 'upstream timed out (110: Connection timed out)' in p.error_log()


def test_udp_unreachable_server(t):
    b = ubackend(t, 'live')
    dead = dead_udp_port(t)
    u, u2 = udp_port(), udp_port()
    p = udp_proxy(t, """
    upstream two { server 127.0.0.1:{dead}; server 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{u} udp; proxy_pass two; proxy_responses 1; }
    server { listen 127.0.0.1:{u2} udp; proxy_pass 127.0.0.1:{dead}; proxy_timeout 1s; }""",
                  b=b, dead=dead, u=u, u2=u2)
    c = client()
    # the first session goes to the dead port: nginx counts the ICMP error
    # as the answer (an empty datagram comes back) and fails the server
    assert ask(c, u, b'q1') == b''
    lines = wait_lines(p, 1)
    assert lines[0].split()[2:6] == ['200', '2', '0', '127.0.0.1:%d' % dead], lines
    err = p.error_log()
    assert 'recv() failed (111: Connection refused) while proxying and reading from ' \
        'upstream' in err, err
    wait_for(lambda: 'upstream server temporarily disabled' in p.error_log(), 5)
    # max_fails=1: the next sessions all go to the live server
    for i in range(3):
        assert ask(client(), u, b'q%d' % i) == b'live:q%d' % i
    # alone and without proxy_responses: the session waits for proxy_timeout
    c2 = client()
    assert ask(c2, u2, b'x') == b''
    lines = wait_lines(p, 5)
    assert lines[4].split()[2] == '200', lines


def test_udp_datagram_boundaries(t):
    e = ubackend(t, 'e', 'echo')
    big = ubackend(t, 'big', 'big')
    u, u2, u3 = udp_port(), udp_port(), udp_port()
    udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{e}; }
    server { listen 127.0.0.1:{u2} udp; proxy_pass 127.0.0.1:{big}; }
    server { listen 127.0.0.1:{u3} udp; proxy_pass 127.0.0.1:{big}; proxy_buffer_size 32k; }""",
              e=e, big=big, u=u, u2=u2, u3=u3)
    c = client()
    sizes = [1, 1400, 9000]
    for n in sizes:
        c.sendto(bytes([n % 251]) * n, ('127.0.0.1', u))
    got = [c.recv(70000) for _ in sizes]
    assert [len(g) for g in got] == sizes, [len(g) for g in got]
    assert got == [bytes([n % 251]) * n for n in sizes]
    wait_for(lambda: len(e.got) == 3, 5)
    assert [n for n, _ in e.got] == sizes
    # an upstream datagram over proxy_buffer_size (16k) is cut there
    assert len(ask(client(), u2, b'20000')) == 16384
    assert len(ask(client(), u3, b'20000')) == 20000


def test_udp_allow_deny(t):
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b};
             allow 127.0.0.2; deny all; }""", b=b, u=u)
    assert ask(client('127.0.0.2'), u, b'ok?') == b'b1:ok?'
    c = client('127.0.0.1', timeout=0.5)
    c.sendto(b'me?', ('127.0.0.1', u))
    try:
        c.recv(100)
        assert False, 'a denied client got an answer'
    except socket.timeout:
        pass
    lines = wait_lines(p, 1)
    assert any(ln.startswith('127.0.0.1 UDP 403 ') for ln in log_lines(p)), lines
    assert len(b.got) == 1
    assert 'access forbidden by rule' in p.error_log()


def test_udp_wildcard_listener_answers_from_its_address(t):
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen {u} udp; proxy_pass 127.0.0.1:{b}; proxy_responses 1; }""", b=b, u=u)
    for dst in ('127.0.0.1', '127.0.0.3'):
        c = client()
        c.sendto(b'hi', (dst, u))
        d, src = c.recvfrom(100)
        assert (d, src) == (b'b1:hi', (dst, u)), (d, src)
    lines = wait_lines(p, 2)
    assert sorted(ln.split()[-1] for ln in lines) == ['127.0.0.1', '127.0.0.3'], lines


def test_udp_dual_stack_wildcard_listener(t):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(('::1', 0))
    except OSError:
        t.skip('no IPv6')
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen [::]:{u} udp ipv6only=off; proxy_pass 127.0.0.1:{b}; proxy_responses 1; }""",
                  b=b, u=u)
    c = client()
    c.sendto(b'v4', ('127.0.0.3', u))
    d, src = c.recvfrom(100)
    assert (d, src) == (b'b1:v4', ('127.0.0.3', u)), (d, src)
    c6 = client('::1')
    c6.sendto(b'v6', ('::1', u))
    d, src = c6.recvfrom(100)
    assert (d, src[:2]) == (b'b1:v6', ('::1', u)), (d, src)
    lines = wait_lines(p, 2)
    assert sorted(ln.split()[-1] for ln in lines) == ['::1', '::ffff:127.0.0.3'], lines


def test_udp_ipv6(t):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(('::1', 0))
    except OSError:
        t.skip('no ::1')
    b = ubackend(t, 'b6', 'name', '::1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen [::1]:{u} udp; proxy_pass [::1]:{b}; proxy_responses 1; }""", b=b, u=u)
    assert ask(client('::1'), u, b'six', '::1') == b'b6:six'
    lines = wait_lines(p, 1)
    assert lines[0].startswith('::1 UDP 200 3 6 [::1]:%d ' % b.port), lines


def test_udp_return(t):
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; return "you are $remote_addr"; }""", u=u)
    assert ask(client(), u, b'who?') == b'you are 127.0.0.1'
    lines = wait_lines(p, 1)
    assert lines[0].split()[1:5] == ['UDP', '200', '4', '17'], lines


def test_udp_session_kept_across_reload(t):
    if t.is_nginx:
        t.skip('nginx ends UDP sessions with the old worker')
    b1, b2 = ubackend(t, 'b1'), ubackend(t, 'b2')
    u = udp_port()
    body = """
    upstream two { server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    server { listen 127.0.0.1:{u} udp; proxy_pass two; }"""
    p = udp_proxy(t, body, b1=b1, b2=b2, u=u)
    c = client()
    first = ask(c, u, b'before').split(b':')[0]
    p.write_conf(http='', main=MAIN + 'stream {\n' + LOG + body + '\n    proxy_timeout 5m;\n}\n')
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'reconfigur' in p.error_log() or 'reload' in p.error_log(), 10,
             what='the reload')
    for i in range(3):
        assert ask(c, u, b'after%d' % i).split(b':')[0] == first
    # a new client: a new session under the new configuration
    assert ask(client(), u, b'new').split(b':')[0] in (b'b1', b'b2')


def test_udp_config_errors(t):
    cases = [
        ('listen 127.0.0.1:{u} udp ssl;',
         '"listen" directive "ssl" parameter is incompatible with "udp"'),
        ('listen 127.0.0.1:{u} udp proxy_protocol;',
         '"listen" directive "proxy_protocol" parameter is incompatible with "udp"'),
        ('listen 127.0.0.1:{u} udp backlog=10;',
         '"listen" directive "backlog" parameter is incompatible with "udp"'),
        ('listen 127.0.0.1:{u} udp; proxy_responses x;',
         '"proxy_responses" directive invalid number'),
        ('listen 127.0.0.1:{u} udp; proxy_requests -1;',
         '"proxy_requests" directive invalid number'),
    ]
    u = udp_port()
    for listen, msg in cases:
        p = t.proxy('', start=False, main=MAIN + 'stream { server { ' + listen +
                    ' proxy_pass 127.0.0.1:1; } }\n', u=u)
        p.write_conf()
        r = p.run('-t')
        out = r.stderr + p.error_log()
        assert r.returncode != 0 and msg + ' in ' + p.conf_path in out, (listen, out)
    # proxy_responses belongs to stream
    p = t.proxy('proxy_responses 1;', start=False)
    p.write_conf()
    r = p.run('-t')
    out = r.stderr + p.error_log()
    assert r.returncode != 0 and 'unknown directive "proxy_responses"' in out or \
        '"proxy_responses" directive is not allowed here' in out, out
    # UDP and TCP on one address and port: two listeners
    p = t.proxy('', start=False, main=MAIN + 'stream { server { listen 127.0.0.1:{u} udp; '
                'listen 127.0.0.1:{u}; proxy_pass 127.0.0.1:1; } }\n', u=u)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr + p.error_log()


def test_udp_two_workers_keep_a_client_on_one_session(t):
    b = ubackend(t, 'b1')
    u = udp_port()
    udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp reuseport; proxy_pass 127.0.0.1:{b}; }""",
              b=b, u=u, workers=2)
    cs = [client() for _ in range(10)]
    for i in range(3):
        for k, c in enumerate(cs):
            assert ask(c, u, b'%d-%d' % (k, i)) == b'b1:%d-%d' % (k, i)
    # each client's datagrams reached its one session: one upstream socket each
    assert len({a for _, a in b.got}) == 10, b.got


def test_udp_sessions_bounded_by_worker_connections(t):
    if t.is_nginx:
        t.skip('nginx counts its listeners and upstream sockets as connections too')
    b = ubackend(t, 'b1')
    u = udp_port()
    conf = make_conf('', main=MAIN + 'stream {\n' + LOG + """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; }
}
""").replace('worker_connections 1024;', 'worker_connections 4;')
    p = t.proxy(conf=conf, b=b, u=u)
    held = [client() for _ in range(4)]
    for k, c in enumerate(held):
        assert ask(c, u, b'%d' % k) == b'b1:%d' % k
    late = client(timeout=0.5)
    late.sendto(b'late', ('127.0.0.1', u))
    try:
        late.recv(100)
        assert False, 'a fifth session was made'
    except socket.timeout:
        pass
    assert 'worker_connections are not enough' in p.error_log()
    # the sessions already there still work
    assert ask(held[0], u, b'again') == b'b1:again'


def test_udp_quit_ends_sessions(t):
    if t.is_nginx:
        t.skip('nginx ends an exiting worker\'s UDP sessions at their next '
               'datagram or proxy_timeout')
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; }""", b=b, u=u)
    c = client()
    assert ask(c, u, b'hi') == b'b1:hi'
    p.signal(signal.SIGQUIT)
    assert p.wait_exit(10) == 0
    lines = log_lines(p)
    assert len(lines) == 1 and lines[0].split()[1:5] == ['UDP', '200', '2', '5'], lines
    assert 'disconnected on shutdown' in p.error_log()


def test_udp_sessions_in_lbctl_conns(t):
    """lbd only: an open UDP session is listed by `lbctl conns` (path
    "udp", bytes each way), and leaves the list when it ends."""
    if t.is_nginx:
        t.skip('lbd\'s control socket')
    import json
    import os
    import subprocess
    b = ubackend(t, 'b1')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass 127.0.0.1:{b}; proxy_timeout 2s; }""",
                  b=b, u=u)
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')

    def conns():
        r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns', '--json'],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        return [x for x in json.loads(r.stdout)['conns'] if x['path'] == 'udp']
    c = client()
    assert ask(c, u, b'hello') == b'b1:hello'
    got = conns()
    assert len(got) == 1, got
    x = got[0]
    assert x['client'] == '127.0.0.1:%d' % c.getsockname()[1], x
    assert x['upstream'] == '127.0.0.1:%d' % b.port, x
    assert (x['bytes_up'], x['bytes_down']) == (5, 8), x
    wait_for(lambda: conns() == [], 15, what='the session gone after proxy_timeout')


class UnixDgram:
    """A unix datagram socket bound to PATH (world-writable: nginx's
    workers run unprivileged and write their answers to it), or unbound
    when PATH is None."""

    def __init__(self, t, path=None, timeout=5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path:
            self.sock.bind(path)
            os.chmod(path, 0o777)
        self.sock.settimeout(timeout)
        t.defer(self.sock.close)

    def ask(self, path, data):
        self.sock.sendto(data, path)
        return self.sock.recv(70000)


def test_udp_unix_listener(t):
    """`listen unix:PATH udp`: each named client a session of its own,
    answers back to its name; the socket file world-writable, removed at
    stop; an unbound client's datagram still reaches the server (nothing
    can be sent back to it)."""
    b = ubackend(t, 'b1')
    p = udp_proxy(t, """
    log_format x '$remote_addr $protocol $status $bytes_received $bytes_sent';
    server { listen unix:{prefix}/l.sock udp; proxy_pass 127.0.0.1:{b};
             proxy_responses 1; access_log {prefix}/logs/unix.log x; }""", b=b)
    lsock = p.prefix + '/l.sock'
    wait_for(lambda: os.path.exists(lsock), 10, what='the unix socket')
    assert os.stat(lsock).st_mode & 0o777 == 0o666, oct(os.stat(lsock).st_mode)
    d = t.tmpdir('udpunix-')
    one, two = UnixDgram(t, d + '/one.sock'), UnixDgram(t, d + '/two.sock')
    assert one.ask(lsock, b'q1') == b'b1:q1'
    assert two.ask(lsock, b'q2') == b'b1:q2'
    assert one.ask(lsock, b'q3') == b'b1:q3'
    lines = wait_for(lambda: [ln for ln in p.read('logs', 'unix.log').split('\n') if ln]
                     if p.read('logs', 'unix.log').count('\n') >= 3 else None, 10,
                     what='three access log lines')
    assert lines == ['unix:%s/one.sock UDP 200 2 5' % d, 'unix:%s/two.sock UDP 200 2 5' % d,
                     'unix:%s/one.sock UDP 200 2 5' % d], lines
    err = p.error_log()
    assert 'udp client unix:%s/one.sock connected to unix:%s' % (d, lsock) in err, err
    # an unbound client: its datagram goes on; the answer has nowhere to go
    anon = UnixDgram(t, timeout=0.5)
    anon.sock.sendto(b'anon', lsock)
    wait_for(lambda: any(n == 4 for n, _ in b.got), 10, what='the unbound client datagram')
    wait_for(lambda: 'udp client unix: connected to' in p.error_log(), 10,
             what='the unbound client line')
    p.stop()
    assert not os.path.exists(lsock)


def test_udp_unix_listener_two_workers(t):
    """With two workers one of them reads a unix datagram socket (no
    SO_REUSEPORT group splits its clients), so a client keeps its session."""
    if t.is_nginx:
        t.skip('nginx: every worker reads the one socket (sessions may split)')
    b = ubackend(t, 'b1')
    p = udp_proxy(t, """
    server { listen unix:{prefix}/l.sock udp; proxy_pass 127.0.0.1:{b}; }""",
                  b=b, workers=2)
    lsock = p.prefix + '/l.sock'
    wait_for(lambda: os.path.exists(lsock), 10, what='the unix socket')
    d = t.tmpdir('udpunix-')
    cs = [UnixDgram(t, '%s/c%d.sock' % (d, k)) for k in range(6)]
    for i in range(4):
        for k, c in enumerate(cs):
            assert c.ask(lsock, b'%d-%d' % (k, i)) == b'b1:%d-%d' % (k, i)
    # one session, so one upstream socket, per client
    assert len({a for _, a in b.got}) == 6, b.got


def test_udp_unix_upstream_answers(t):
    """`proxy_pass unix:PATH` in a UDP server: lbd's datagram socket gets
    an abstract name from the kernel, so the server can answer (nginx's
    has none: its server sees no sender and cannot answer)."""
    d = t.tmpdir('udpunix-')
    be = UnixDgram(t, d + '/be.sock')
    u = udp_port()
    p = udp_proxy(t, """
    server { listen 127.0.0.1:{u} udp; proxy_pass unix:{d}/be.sock; proxy_responses 1;
             proxy_timeout 1s; }""",
                  u=u, d=d)
    c = client()
    c.sendto(b'hello', ('127.0.0.1', u))
    data, src = be.sock.recvfrom(100)
    assert data == b'hello'
    if t.is_nginx:
        assert not src, src  # nginx's upstream socket has no name
        return
    assert src and src[:1] == b'\0', src
    be.sock.sendto(b'answer', src)
    assert c.recv(100) == b'answer'
    wait_for(lambda: 'udp done, packets from/to client:1/1' in p.error_log(), 10,
             what='the session end')
    assert 'udp proxy unix:@' in p.error_log()


def test_udp_unix_unbound_client_answer(t):
    """A client that bound no name cannot be answered: nginx's line at
    info, "sendmsg() failed (111: Connection refused) while proxying and
    sending to client", and the session ends there (200, no "udp done"),
    so its next datagram starts a new one (not left open until
    proxy_timeout). `return`'s datagram: "while returning text", 500."""
    b = ubackend(t, 'b1')
    p = udp_proxy(t, """
    log_format x '$remote_addr $protocol $status $bytes_received $bytes_sent';
    server { listen unix:{prefix}/l.sock udp; proxy_pass 127.0.0.1:{b};
             access_log {prefix}/logs/unix.log x; }
    server { listen unix:{prefix}/r.sock udp; return "hi";
             access_log {prefix}/logs/ret.log x; }""", b=b)
    lsock = p.prefix + '/l.sock'
    wait_for(lambda: os.path.exists(lsock), 10, what='the unix socket')
    anon = UnixDgram(t)
    line = 'sendmsg() failed (111: Connection refused) while proxying and sending to client, ' \
        'udp client: unix:, server: unix:%s' % lsock
    for i, data in enumerate((b'a1', b'a22')):
        anon.sock.sendto(data, lsock)
        wait_for(lambda: p.error_log().count(line) == i + 1, 10,
                 what='the failed answer %d logged' % (i + 1))
    lines = wait_for(lambda: [ln for ln in p.read('logs', 'unix.log').split('\n') if ln]
                     if p.read('logs', 'unix.log').count('\n') >= 2 else None, 10,
                     what='both sessions ended')
    assert lines == ['unix: UDP 200 2 0', 'unix: UDP 200 3 0'], lines
    assert [n for n, _ in b.got] == [2, 3], b.got
    err = p.error_log()
    assert all('[info]' in ln for ln in err.splitlines() if line in ln), err
    assert 'udp done' not in err, err
    assert err.count('udp client unix: connected to unix:%s' % lsock) == 2, err
    rsock = p.prefix + '/r.sock'
    anon.sock.sendto(b'r1', rsock)
    wait_for(lambda: p.read('logs', 'ret.log'), 10, what='the return session logged')
    assert p.read('logs', 'ret.log') == 'unix: UDP 500 2 0\n'
    assert 'sendmsg() failed (111: Connection refused) while returning text, udp client: ' \
        'unix:, server: unix:%s\n' % rsock in p.error_log(), p.error_log()
