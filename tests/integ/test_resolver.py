# SPDX-License-Identifier: MIT
"""`resolver`: a proxy_pass with variables whose host is a name is looked
up at request time through the configured DNS server (the Docker idiom
`resolver 127.0.0.11 valid=30s; set $be http://app:3000; proxy_pass $be;`).
A small DNS server in this file answers on 127.0.0.1 and records every
query; every case runs against nginx 1.22 too."""

import socket
import struct
import threading
import time

from harness import assert_location_t_errors, wait_for


class Dns:
    """A UDP DNS server on 127.0.0.1: NAMES maps a lowercased name to
    (list of IPv4 texts, ttl); 'nx' names get NXDOMAIN, 'silent' ones no
    answer, anything else NOERROR with no record. AAAA: no record."""

    def __init__(self):
        self.names = {}
        self.cnames = {}  # name -> (target, ttl): answered with the alias alone
        self.nx = set()
        self.silent = set()
        self.queries = []  # (name, qtype)
        self.lock = threading.Lock()
        # a UDP and a TCP socket on one port number: a free UDP port's
        # number may be taken for TCP by another program: try another
        for _ in range(50):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(('127.0.0.1', 0))
            self.port = self.sock.getsockname()[1]
            self.tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tsock.bind(('127.0.0.1', self.port))
                break
            except OSError:
                self.sock.close()
                self.tsock.close()
        else:
            raise AssertionError('no port free for both UDP and TCP')
        self.sock.settimeout(0.2)
        self.big = {}  # name -> IPv4 texts answered over TCP only (UDP: TC)
        self.tcp_queries = []
        self.tsock.listen(8)
        self.tsock.settimeout(0.2)
        self.stop = False
        self.th = threading.Thread(target=self._serve, daemon=True)
        self.th.start()
        self.tth = threading.Thread(target=self._serve_tcp, daemon=True)
        self.tth.start()

    def close(self):
        self.stop = True
        self.th.join(2)
        self.tth.join(2)
        self.sock.close()
        self.tsock.close()

    def _serve_tcp(self):
        while not self.stop:
            try:
                c, _ = self.tsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                c.settimeout(2)
                buf = b''
                while len(buf) < 2 or len(buf) < 2 + struct.unpack('>H', buf[:2])[0]:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                out = self._reply(buf[2:], tcp=True)
                if out is not None:
                    c.sendall(struct.pack('>H', len(out)) + out)
            except Exception:  # noqa: BLE001 - a bad query is ignored
                pass
            finally:
                c.close()

    def count(self, name, qtype=1):
        with self.lock:
            return sum(1 for q in self.queries if q == (name, qtype))

    def _serve(self):
        while not self.stop:
            try:
                msg, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self._answer(msg, peer)
            except Exception:  # noqa: BLE001 - a bad query is ignored
                pass

    def _answer(self, msg, peer):
        out = self._reply(msg, tcp=False)
        if out is not None:
            self.sock.sendto(out, peer)

    def _reply(self, msg, tcp):
        qid, _flags, qd = struct.unpack('>HHH', msg[:6])
        off, labels = 12, []
        while msg[off]:
            n = msg[off]
            labels.append(msg[off + 1:off + 1 + n].decode().lower())
            off += 1 + n
        qtype, _qclass = struct.unpack('>HH', msg[off + 1:off + 5])
        question = msg[12:off + 5]
        name = '.'.join(labels)
        with self.lock:
            (self.tcp_queries if tcp else self.queries).append((name, qtype))
            silent = name in self.silent
            nx = name in self.nx
            addrs, ttl = self.names.get(name, ([], 0))
            cname = self.cnames.get(name)
            big = self.big.get(name)
        if silent:
            return None
        answers = b''
        count = 0
        if big is not None and not tcp:
            # too big for a datagram: the header alone, TC set
            hdr = struct.pack('>HHHHHH', qid, 0x8380, qd, 0, 0, 0)
            return hdr + msg[12:off + 5]
        if big is not None:
            addrs, ttl = big, 300
        if cname:
            # the alias alone, as a resolver that does not chase it
            target, cttl = cname
            rdata = b''.join(bytes([len(x)]) + x.encode() for x in target.split('.')) + b'\0'
            answers += struct.pack('>HHHIH', 0xc00c, 5, 1, cttl, len(rdata)) + rdata
            count += 1
        elif qtype == 1 and not nx:
            for a in addrs:
                answers += struct.pack('>HHHIH', 0xc00c, 1, 1, ttl, 4) + socket.inet_aton(a)
                count += 1
        rcode = 3 if nx else 0
        hdr = struct.pack('>HHHHHH', qid, 0x8180 | rcode, qd, count, 0, 0)
        return hdr + question + answers


def dns(t):
    d = Dns()
    t.defer(d.close)
    return d


def test_resolver_name_at_request_time(t):
    """A name found by the DNS server is proxied to; the answer is kept
    (`valid=`), so later requests ask nothing; A and AAAA are both asked
    (nginx's ipv6=on default); an unknown name is nginx's 502 with
    "could not be resolved (3: Host not found)"."""
    a = t.backend('a')
    d = dns(t)
    d.names['app.test'] = (['127.0.0.1'], 300)
    d.nx.add('nx.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} valid=30s;
    location / {
        set $be "http://$arg_h:{a}";
        proxy_pass $be;
    }
}""", a=a, dns=d.port)
    for _ in range(3):
        r = p.get('/x?h=app.test')
        assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    assert d.count('app.test', 1) == 1, d.queries
    assert d.count('app.test', 28) == 1, d.queries
    r = p.get('/x?h=nx.test')
    assert r.status == 502, r
    assert 'nx.test could not be resolved (3: Host not found)' in p.error_log()
    # not kept: asked again
    r = p.get('/x?h=nx.test')
    assert r.status == 502 and d.count('nx.test', 1) == 2, d.queries


def test_resolver_ttl_expiry_follows_a_change(t):
    """Without valid=, an answer lives for its TTL: after it, the name is
    asked again and the new address is used (here one nobody listens on:
    nginx's connect() failure for it, 502)."""
    a = t.backend('a')
    d = dns(t)
    d.names['chg.test'] = (['127.0.0.1'], 1)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} ipv6=off;
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    r = p.get('/?h=chg.test')
    assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    d.names['chg.test'] = (['127.0.0.9'], 1)
    time.sleep(2.2)  # past the 1 s TTL (the cache's clock has 1 s steps in nginx)
    r = p.get('/?h=chg.test')
    assert r.status == 502, r
    assert d.count('chg.test', 1) == 2, d.queries
    assert 'upstream: "http://127.0.0.9:%d/' % a.port in p.error_log()
    # ipv6=off: no AAAA query
    assert d.count('chg.test', 28) == 0, d.queries


def test_resolver_timeout(t):
    """No answer within resolver_timeout: 502 and nginx's "(110: Operation
    timed out)"; the request waited for it, not for ever."""
    a = t.backend('a')
    d = dns(t)
    d.silent.add('slow.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns};
    resolver_timeout 1s;
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    t0 = time.monotonic()
    r = p.get('/?h=slow.test', timeout=20)
    assert r.status == 502, r
    assert time.monotonic() - t0 >= 0.9
    assert 'slow.test could not be resolved (110: Operation timed out)' in p.error_log()


def test_resolver_several_addresses_fail_over(t):
    """A name with two addresses, one dead: every request is answered (the
    dead one is tried, fails, and the next address takes the request)."""
    a = t.backend('a')
    d = dns(t)
    d.names['two.test'] = (['127.0.0.1', '127.0.0.10'], 300)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} ipv6=off;
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    for _ in range(4):
        r = p.get('/?h=two.test')
        assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    assert d.count('two.test', 1) == 1, d.queries


def test_resolver_inherited_and_client_gone(t):
    """resolver at http level reaches a location; a client that leaves
    while its name is being asked does not take the worker down: the next
    request is served."""
    a = t.backend('a')
    d = dns(t)
    d.silent.add('gone.test')
    d.names['ok.test'] = (['127.0.0.1'], 300)
    p = t.proxy("""
resolver 127.0.0.1:{dns} ipv6=off;
resolver_timeout 2s;
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    s = socket.create_connection(('127.0.0.1', p.port))
    s.sendall(b'GET /?h=gone.test HTTP/1.1\r\nHost: x\r\n\r\n')
    deadline = time.monotonic() + 5
    while d.count('gone.test', 1) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    s.close()
    r = p.get('/?h=ok.test')
    assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    time.sleep(2.3)  # the abandoned query times out with nobody waiting
    r = p.get('/?h=ok.test')
    assert (r.status, r.header('X-Backend')) == (200, 'a'), r


def test_resolver_config_errors(t):
    assert_location_t_errors(t, [
        ('resolver 127.0.0.1 ipv6=maybe;', 'invalid parameter: ipv6=maybe'),
        ('resolver 127.0.0.1 valid=xs;', 'invalid parameter: valid=xs'),
        ('resolver_timeout 5x;', '"resolver_timeout" directive invalid value'),
    ])


def test_resolver_over_h2(t):
    """HTTP/2 streams wait for the name like HTTP/1 requests: two streams
    on one connection (curl --parallel), one query, both answered."""
    from test_h2 import curl
    from test_tls import _certs
    a = t.backend('a')
    d = dns(t)
    d.names['h2.test'] = (['127.0.0.1'], 300)
    _, c = _certs(t, ('s', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate %s;
    ssl_certificate_key %s;
    resolver 127.0.0.1:{dns} ipv6=off;
    location / { proxy_pass http://h2.test:{a}$request_uri; }
    location /v/ { set $h h2.test; proxy_pass http://$h:{a}; }
}""" % (c['s'][0], c['s'][1]), a=a, dns=d.port)
    base = 'https://localhost:%d/v/' % p.port
    r = curl(['-k', '--http2', '--parallel', '--parallel-immediate', '-o', '/dev/null',
              '-o', '/dev/null', '-w', '%{http_version} %{http_code}\n',
              base + 'one', base + 'two'])
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.decode().split('\n')[:2]) == ['2 200', '2 200'], r.stdout
    assert d.count('h2.test', 1) == 1, d.queries


def test_stream_resolver(t):
    """stream {}: a proxy_pass value that is a name (from a map) is looked
    up through the server's resolver, the session waits for it, and the
    answer is kept; an unknown name ends the session with nginx 1.22's
    500 and its "could not be resolved" line."""
    from test_stream import backend, connect, read_line, stream_proxy
    h = backend(t, 'h', 'hello')
    d = dns(t)
    d.names['db.test'] = (['127.0.0.1'], 300)
    d.nx.add('gone.test')
    p = stream_proxy(t, """
    log_format st '$status $upstream_addr';
    map $server_port $be {
        {port}  db.test:{h};
        default gone.test:{h};
    }
    resolver 127.0.0.1:{dns} ipv6=off;
    server {
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{port2};
        access_log {prefix}/logs/st.log st;
        proxy_pass $be;
    }""", h=h, dns=d.port, port2=__import__('harness').free_port())
    for _ in range(2):
        s = connect(p.port)
        assert read_line(s) == b'h\n'
        s.close()
    assert d.count('db.test', 1) == 1, d.queries
    assert d.count('db.test', 28) == 0, d.queries
    port2 = int(p.subs['port2'])
    s = connect(port2)
    assert read_line(s) == b''  # closed without a byte
    s.close()
    wait_for(lambda: 'gone.test could not be resolved (3: Host not found)' in p.error_log(),
             what='the resolver error line')
    # (the harness's readiness probes made sessions of their own)
    wait_for(lambda: '\n500 ' in '\n' + p.read('logs', 'st.log'), what='a 500 line')
    lines = p.read('logs', 'st.log').splitlines()
    assert lines.count('200 127.0.0.1:%d' % h.port) >= 2, lines


def test_stream_udp_resolver_keeps_the_first_datagram(t):
    """A UDP session whose proxy_pass is a name waits for the resolver
    with its first datagram kept: the question reaches the backend and the
    answer comes back (a DNS forwarder to a service by name)."""
    from test_stream_udp import ask, client, ubackend, udp_port, udp_proxy
    b = ubackend(t, 'b1')
    d = dns(t)
    d.names['udp.test'] = (['127.0.0.1'], 300)
    u = udp_port()
    p = udp_proxy(t, """
    resolver 127.0.0.1:{dns} ipv6=off;
    server {
        listen 127.0.0.1:{u} udp;
        set $be udp.test:{b};
        proxy_pass $be;
        proxy_responses 1;
    }""", b=b, u=u, dns=d.port)
    c = client()
    assert ask(c, u, b'q-1') == b'b1:q-1'
    assert ask(c, u, b'q-2') == b'b1:q-2'
    assert d.count('udp.test', 1) == 1, d.queries
    assert 'udp.test' not in p.error_log()


def test_resolver_ttl_zero_pipelined(t):
    """An answer with TTL 0, and requests for the name pipelined behind
    the one that waited for it: each is answered (the answer is not kept,
    so later requests ask again; the one being handed out stays valid for
    the requests its callbacks start)."""
    a = t.backend('a')
    d = dns(t)
    d.names['zero.test'] = (['127.0.0.1'], 0)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} ipv6=off;
    location / { proxy_pass http://zero.test:{a}$request_uri; }
}""", a=a, dns=d.port)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(b''.join(b'GET /%d HTTP/1.1\r\nHost: x\r\n\r\n' % i for i in range(4)))
    got = b''
    deadline = time.monotonic() + 10
    while got.count(b'HTTP/1.1 200') < 4 and time.monotonic() < deadline:
        d_ = s.recv(65536)
        if not d_:
            break
        got += d_
    s.close()
    assert got.count(b'HTTP/1.1 200') == 4, got[:300]
    assert d.count('zero.test', 1) >= 1, d.queries


def test_resolver_follows_a_cname_answered_alone(t):
    """A resolver that answers with an alias and no address: the alias's
    target is asked next (for A and AAAA alike) and its address used, as
    nginx does; a loop of aliases ends (lbd: after 8) in "Host not found"
    (nginx ends it sooner, with the same 502)."""
    a = t.backend('a')
    d = dns(t)
    d.cnames['www.test'] = ('app.svc.test', 300)
    d.names['app.svc.test'] = (['127.0.0.1'], 300)
    d.cnames['loop1.test'] = ('loop2.test', 300)
    d.cnames['loop2.test'] = ('loop1.test', 300)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} valid=30s;
    resolver_timeout 5s;
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    for _ in range(2):
        r = p.get('/?h=www.test')
        assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    assert d.count('www.test', 1) == 1 and d.count('app.svc.test', 1) == 1, d.queries
    assert d.count('app.svc.test', 28) == 1, d.queries
    r = p.get('/?h=loop1.test', timeout=20)
    assert r.status == 502, r
    assert 'loop1.test could not be resolved' in p.error_log()


def test_resolver_truncated_answer_asked_over_tcp(t):
    """An answer too big for a datagram comes truncated (TC): the query is
    asked again over TCP of the same server and its addresses used, as
    nginx does (here 40 addresses, 127.0.0.1 first)."""
    a = t.backend('a')
    d = dns(t)
    d.big['many.test'] = ['127.0.0.1'] + ['127.0.1.%d' % i for i in range(1, 40)]
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    resolver 127.0.0.1:{dns} ipv6=off valid=30s;
    location / { proxy_pass http://$arg_h:{a}; }
}""", a=a, dns=d.port)
    r = p.get('/?h=many.test', timeout=20)
    assert (r.status, r.header('X-Backend')) == (200, 'a'), r
    assert d.count('many.test', 1) == 1, d.queries
    assert d.tcp_queries == [('many.test', 1)], d.tcp_queries
