# SPDX-License-Identifier: MIT
"""More of nginx 1.22's stream proxy, against nginx and lbd, same config:
proxy_download_rate / proxy_upload_rate (a 2 MiB transfer at 512k/s is
held back by the rate and arrives byte-exact; a rate from a map; lbd lists
a paced session on the splice path), proxy_bind (the backend sees the
bound source address; `off` and a value with variables, an empty one
binding nothing), variables in stream `map` values (routing through a
`set` variable and a nested map, a literal address known only at run
time, a name that would need a resolver and an address without a port:
500, as nginx 1.22), `set` of a map variable, a map's value kept for the
session (and nginx's two passes over a value with $1), and the `-t`
messages of their errors.

The timing checks are lower bounds only (a rate that is not applied would
finish in milliseconds); nothing asserts an upper bound."""

import hashlib
import os
import socket
import subprocess
import threading
import time

from harness import conf_line, recv_until_close, wait_for
from test_stream import MAIN, TcpBackend, backend, connect, read_line, stream_proxy

SIZE = 2 << 20  # bytes per rate test
RATE = '512k'


class MoreBackend(TcpBackend):
    """Modes: 'blob' sends SIZE bytes of a fixed pattern then closes;
    'count' reads SIZE bytes then answers 'got N' and waits for EOF;
    'peer' answers the client address it sees."""

    def _serve(self, c):
        c.settimeout(60)
        try:
            if self.mode == 'blob':
                c.sendall(blob())
                c.shutdown(socket.SHUT_WR)
                while c.recv(65536):
                    pass
            elif self.mode == 'count':
                n, h = 0, hashlib.sha256()
                while n < SIZE:
                    d = c.recv(65536)
                    if not d:
                        break
                    n += len(d)
                    h.update(d)
                c.sendall(b'got %d %s\n' % (n, h.hexdigest().encode()))
                while c.recv(65536):
                    pass
            elif self.mode == 'peer':
                c.sendall(c.getpeername()[0].encode() + b'\n')
                while c.recv(65536):
                    pass
            else:
                return super()._serve(c)
        except OSError:
            pass
        try:
            c.close()
        except OSError:
            pass


_BLOB = []


def blob():
    if not _BLOB:
        _BLOB.append(hashlib.sha256(b'seed').digest() * (SIZE // 32))
    return _BLOB[0]


def more_backend(t, name, mode):
    b = MoreBackend(name, mode)
    t.defer(b.close)
    return b


def lbctl_conns(t, p):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    return subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns'],
                          capture_output=True, text=True, timeout=20).stdout


def download(port):
    """Read everything the server sends; (bytes, seconds from connect)."""
    t0 = time.monotonic()
    s = connect(port, timeout=30)
    buf = recv_until_close(s)
    s.close()
    return buf, time.monotonic() - t0


def test_stream_download_rate(t):
    """proxy_download_rate 512k: 2 MiB from the upstream takes at least
    (2 MiB - one second's worth) / 512k = 3 s in lbd (nginx counts whole
    seconds, so its own bound is a second lower), byte-exact; a rate from
    a map applies the same; lbd (kernel_splice on, the default) relays a
    paced session with splice(2), as `lbctl conns` shows."""
    b = more_backend(t, 'b', 'blob')
    p = stream_proxy(t, """
    map $server_port $r { default %s; }
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; proxy_download_rate %s; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{b}; proxy_download_rate $r; }
    server { listen 127.0.0.1:{port3}; proxy_pass 127.0.0.1:{b};
             proxy_download_rate 0; proxy_upload_rate 1k; }""" % (RATE, RATE), b=b)
    low = 1.9 if t.is_nginx else 2.9
    rows = []
    if not t.is_nginx:
        def watch():
            time.sleep(1.0)
            rows.append(lbctl_conns(t, p))
        threading.Thread(target=watch, daemon=True).start()
    for port in (p.port, p.subs['port2']):
        data, secs = download(port)
        assert len(data) == SIZE and data == blob(), len(data)
        assert secs >= low, 'port %d: %d bytes in %.2f s at %s/s' % (port, SIZE, secs, RATE)
    # an upload rate does not slow the download; 0 is no limit
    data, secs = download(p.subs['port3'])
    assert data == blob()
    if not t.is_nginx:
        assert rows and '127.0.0.1:%d' % b.port in rows[0], rows
        row = [ln.split() for ln in rows[0].splitlines() if str(b.port) in ln]
        assert row and row[0][2] == 'splice', rows


def test_stream_upload_rate(t):
    """proxy_upload_rate 512k: the upstream gets 2 MiB from the client no
    sooner than the rate allows, byte-exact."""
    b = more_backend(t, 'b', 'count')
    p = stream_proxy(t, """
    proxy_upload_rate %s;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; }""" % RATE, b=b)
    data = blob()
    t0 = time.monotonic()
    s = connect(p.port, timeout=30)
    th = threading.Thread(target=s.sendall, args=(data,))
    th.start()
    line = read_line(s)
    secs = time.monotonic() - t0
    th.join(30)
    s.close()
    assert line == b'got %d %s\n' % (SIZE, hashlib.sha256(data).hexdigest().encode()), line
    low = 1.9 if t.is_nginx else 2.9
    assert secs >= low, '%d bytes up in %.2f s at %s/s' % (SIZE, secs, RATE)


def test_stream_proxy_bind(t):
    """proxy_bind: the backend sees the bound address; a server's `off`
    cancels the stream-level one; a value with variables is evaluated per
    session, and an empty one binds nothing."""
    b = more_backend(t, 'b', 'peer')
    p = stream_proxy(t, """
    proxy_bind 127.0.0.2;
    map $server_port $src { {port3} 127.0.0.3; default ""; }
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{b}; proxy_bind off; }
    server { listen 127.0.0.1:{port3}; proxy_pass 127.0.0.1:{b}; proxy_bind $src; }
    server { listen 127.0.0.1:{port4}; proxy_pass 127.0.0.1:{b}; proxy_bind $src; }""",
                     b=b)
    for port, want in ((p.port, '127.0.0.2'), (p.subs['port2'], '127.0.0.1'),
                       (p.subs['port3'], '127.0.0.3'), (p.subs['port4'], '127.0.0.1')):
        s = connect(port)
        got = read_line(s).strip().decode()
        s.close()
        assert got == want, (port, got, want)


def test_stream_map_values_with_variables(t):
    """A map value with variables is evaluated per session: an address
    built from a `set` variable (no upstream group for it at load), a
    nested map naming an upstream; a host name that is no upstream would
    need a resolver (nginx's message; nginx 1.22 ends the session with 500,
    not 502), an address without a port is refused (500); `set` of a map variable overrides the map."""
    a = more_backend(t, 'a', 'hello')
    b2 = more_backend(t, 'b2', 'hello')
    c = more_backend(t, 'c', 'hello')
    p = stream_proxy(t, """
    upstream up_a { server 127.0.0.1:{a}; }
    upstream up_c { server 127.0.0.1:{c}; }
    map $server_port $route {
        {port}   up_a;
        {port2}  127.0.0.1:$pp;
        {port3}  $inner;
        {port4}  nosuch.invalid:$pp;
        {port5}  127.0.0.$pp;
        {port7}  127.0.0.1:$letter;
        default  up_a;
    }
    map $remote_addr $inner { default up_$letter; }
    log_format st '$server_port $status';
    access_log {prefix}/logs/stream.log st;
    server { listen 127.0.0.1:{port};  proxy_pass $route; }
    server { listen 127.0.0.1:{port2}; set $pp {b2}; proxy_pass $route; }
    server { listen 127.0.0.1:{port3}; set $letter c; proxy_pass $route; }
    server { listen 127.0.0.1:{port4}; set $pp 1; proxy_pass $route; }
    server { listen 127.0.0.1:{port5}; set $pp 1; proxy_pass $route; }
    server { listen 127.0.0.1:{port6}; set $route up_c; proxy_pass $route; }
    server { listen 127.0.0.1:{port7}; set $letter x; proxy_pass $route; }""",
                     a=a, b2=b2, c=c)
    for port, want in ((p.port, 'a'), (p.subs['port2'], 'b2'), (p.subs['port3'], 'c'),
                       (p.subs['port6'], 'c')):
        s = connect(port)
        got = read_line(s).strip().decode()
        s.close()
        assert got == want, (port, got, want)
    for port in (p.subs['port4'], p.subs['port5'], p.subs['port7']):
        s = connect(port)
        assert s.recv(10) == b'', port
        s.close()
    log = lambda: p.read('logs', 'stream.log')  # noqa: E731
    for port, status in ((p.subs['port4'], 500), (p.subs['port5'], 500),
                         (p.subs['port7'], 500)):
        wait_for(lambda: '%d %d\n' % (port, status) in log(), 10,
                 what='%d %d in %r' % (port, status, log()))
    err = p.error_log()
    for what, port in (('no resolver defined to resolve nosuch.invalid', p.subs['port4']),
                       ('no port in upstream "127.0.0.1"', p.subs['port5']),
                       ('invalid port in upstream "127.0.0.1:x"', p.subs['port7'])):
        want = '%s, client: 127.0.0.1, server: 127.0.0.1:%d, bytes from/to client:0/0' % (
            what, port)
        assert want in err, (want, err)


def test_stream_more_config_errors(t):
    """`-t` fails with nginx's messages, at the directive's line."""
    cases = [
        ('proxy_download_rate 1x;', '"proxy_download_rate" directive invalid value'),
        ('proxy_upload_rate 1k; proxy_upload_rate 2k;',
         '"proxy_upload_rate" directive is duplicate'),
        ('proxy_bind nothost;', 'invalid address "nothost"'),
        ('proxy_bind 127.0.0.2 x;', 'invalid parameter "x"'),
        ('proxy_bind 127.0.0.2; proxy_bind off;', '"proxy_bind" directive is duplicate'),
        ('proxy_bind 127.0.0.2:0;', 'invalid address "127.0.0.2:0"'),
    ]
    for directive, want in cases:
        p = stream_proxy(t, """
    %s
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:1; }""" % directive, start=False)
        p.write_conf()
        r = p.run('-t')
        out = r.stdout + r.stderr
        assert r.returncode != 0 and want in out, (directive, out)
        assert conf_line(p, directive) in out, (directive, out)
    # an unknown variable in a map value (nginx names no line)
    p = stream_proxy(t, """
    map $remote_addr $m { default 127.0.0.1:$nope; }
    server { listen 127.0.0.1:{port}; proxy_pass $m; }""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0 and 'unknown "nope" variable' in r.stdout + r.stderr, r.stderr
    # accepted: rates with variables, set of a map variable, `0`
    p = stream_proxy(t, """
    map $remote_addr $m { default 1k; }
    proxy_upload_rate $m; proxy_download_rate 0;
    server { listen 127.0.0.1:{port}; set $m 2k; proxy_pass 127.0.0.1:1; }""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stdout + r.stderr


def test_stream_rate_tls_leg(t):
    """proxy_download_rate on a `listen ... ssl` server (lbd relays a TLS
    leg itself, with the same pacing): 2 MiB through TLS takes no less than
    the rate allows, byte-exact."""
    import ssl
    from test_tls import make_cert
    d = t.tmpdir('srate-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    b = more_backend(t, 'b', 'blob')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
             proxy_pass 127.0.0.1:{b}; proxy_download_rate %s; }""" % RATE,
                     b=b, crt=crt, key=key)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t0 = time.monotonic()
    s = ctx.wrap_socket(connect(p.port, timeout=30), server_hostname='proxy.test')
    data = recv_until_close(s, end_on=(ssl.SSLError,))
    s.close()
    secs = time.monotonic() - t0
    assert len(data) == SIZE and data == blob(), len(data)
    low = 1.9 if t.is_nginx else 2.9
    assert secs >= low, '%d bytes in %.2f s at %s/s' % (SIZE, secs, RATE)


def test_stream_upload_rate_backpressure(t):
    """proxy_upload_rate 64k: what the proxy does not read stays in the
    kernel, so the client's sends block (TCP backpressure reaches the
    sender) instead of the proxy buffering them: in 2 s a client that
    tries to push 64 MiB gets only socket buffers' worth accepted (about
    4.3 MB here, nginx and lbd alike)."""
    b = more_backend(t, 'b', 'count')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; proxy_upload_rate 64k;
             proxy_timeout 30s; }""", b=b)
    s = connect(p.port, timeout=30)
    s.setblocking(False)
    chunk = b'x' * 65536
    sent, end = 0, time.monotonic() + 2.0
    while sent < (64 << 20) and time.monotonic() < end:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    s.close()
    # a proxy that buffered without limit would have taken all 64 MiB
    assert sent < (16 << 20), 'the client pushed %d bytes in 2 s at 64k/s' % sent


def test_stream_map_regex_captures(t):
    """$1..$9 in a stream map's value (nginx's SNI routing idiom,
    `~^(\\w+)\\.example\\.com$ $1_up;`): the upstream named by a capture;
    a capture followed by letters ("$1_up" is capture 1, then "_up");
    a group that matched nothing is empty."""
    a = more_backend(t, 'a', 'hello')
    b = more_backend(t, 'b', 'hello')
    p = stream_proxy(t, """
    upstream p{port}_up { server 127.0.0.1:{a}; }
    upstream p{port2}_up { server 127.0.0.1:{b}; }
    map $server_port $route { ~^(\\d+)$ p$1_up; }
    map $remote_addr $who { ~^(\\d+)\\.(x)?(\\d+)\\. "[$1|$2|$3]"; }
    server { listen 127.0.0.1:{port};  proxy_pass $route; }
    server { listen 127.0.0.1:{port2}; proxy_pass $route; }
    server { listen 127.0.0.1:{port3}; return "$who\\n"; }""", a=a, b=b)
    for port, want in ((p.port, 'a'), (p.subs['port2'], 'b')):
        s = connect(port)
        got = read_line(s).strip().decode()
        s.close()
        assert got == want, (port, got, want)
    s = connect(p.subs['port3'])
    assert read_line(s).strip() == b'[127||0]'
    s.close()


def test_stream_map_value_kept_per_session(t):
    """A stream map's value is computed once per session and kept, as
    nginx keeps a variable's value: a map over $bytes_received read by
    `set` at the start and again in the access log at the end says the
    same (lbd computed it at every use: b0, then b8). A kept regex map
    does not take its captures again, and a value's maps are all computed
    before its bytes (nginx's two passes): a $1 reads the captures of the
    value's last regex map."""
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    map $bytes_received $br { default "b$bytes_received"; }
    map $remote_addr $m1 { ~^(\\d)\\d*\\. a; }
    map "z$server_port" $m2 { ~^(z) b; }
    log_format kept '$early|$br';
    server {
        listen 127.0.0.1:{port};
        set $early $br;
        proxy_pass 127.0.0.1:{e};
        access_log {prefix}/logs/kept.log kept;
    }
    server { listen 127.0.0.1:{port2}; return "$m1$1$m2$1|$m1$1\\n"; }""", e=e)
    s = connect(p.port)
    s.sendall(b'hello')
    assert s.recv(5) == b'hello'
    s.sendall(b'abc')
    assert s.recv(3) == b'abc'
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b''
    s.close()
    # the harness's readiness probe wrote the first line
    wait_for(lambda: p.read('logs', 'kept.log').count('\n') >= 2, 10,
             what='the session\'s log line (have %r)' % p.read('logs', 'kept.log'))
    lines = p.read('logs', 'kept.log').split('\n')
    assert lines[1] == 'b0|b0', lines
    # $m1 ("127..." captures "1"), then $m2 (captures "z"): both $1 read
    # $m2's captures, and the second $m1 is kept (no new match)
    s = connect(p.subs['port2'])
    got = read_line(s).strip().decode()
    s.close()
    assert got == 'azbz|az', got
