"""proxy_bind (a fixed address, with or without a port, from variables,
`off` below a bound level, an address that cannot be bound: 500 and
nginx's crit line) and proxy_socket_keepalive (SO_KEEPALIVE on the
upstream socket, seen as ss's keepalive timer), with -t errors. The
upstream here answers with the address it was reached from."""
import socket
import subprocess
import threading

from harness import assert_location_t_errors, free_port, read_head, wait_for


class PeerServer:
    """A one-answer-per-connection HTTP server that says who connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                try:
                    read_head(c, chunk=4096, eof_ok=True)
                    body = ('%s:%d' % peer).encode()
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close'
                              b'\r\n\r\n%s' % (len(body), body))
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.sock.close()


def test_proxy_bind(t):
    ps = PeerServer()
    bport = free_port()
    try:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_bind 127.0.0.2;
    location / { proxy_pass http://127.0.0.1:%d; }
    location /off { proxy_bind off; proxy_pass http://127.0.0.1:%d; }
    location /var { proxy_bind $arg_a; proxy_pass http://127.0.0.1:%d; }
    location /port { proxy_bind 127.0.0.3:%d; proxy_pass http://127.0.0.1:%d; }
    location /bad { proxy_bind 192.0.2.1; proxy_pass http://127.0.0.1:%d; }
}""" % ((ps.port,) * 3 + (bport, ps.port, ps.port)))
        r = p.get('/x')
        assert r.status == 200 and r.body.decode().startswith('127.0.0.2:'), r.body
        assert p.get('/off').body.decode().startswith('127.0.0.1:')
        assert p.get('/var?a=127.0.0.4').body.decode().startswith('127.0.0.4:')
        assert p.get('/var?a=').body.decode().startswith('127.0.0.1:')  # empty: no bind
        r = p.get('/var?a=nonsense')  # logged, no bind
        assert r.status == 200 and r.body.decode().startswith('127.0.0.1:'), r.body
        r = p.get('/port')
        assert r.body.decode() == '127.0.0.3:%d' % bport, r.body
        r = p.get('/bad')
        assert r.status == 500, r.status
        wait_for(lambda: 'bind(192.0.2.1) failed (99: Cannot assign requested address) '
                 'while connecting to upstream' in p.error_log(), 5, what='the crit line')
        assert 'invalid local address "nonsense"' in p.error_log()
    finally:
        ps.close()


def keepalive_timer(backend_port):
    out = subprocess.run(['ss', '-tnoH', 'state', 'established', 'dport = :%d' % backend_port],
                         capture_output=True, text=True).stdout
    return out.strip(), 'keepalive' in out


def test_proxy_socket_keepalive(t):
    b, = t.backends('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_socket_keepalive on;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /no/ { proxy_socket_keepalive off; proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)
    for path, want in (('/hold/k1', True), ('/no/hold/k2', False)):
        with p.conn() as c:
            c.send(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode())
            try:
                wait_for(lambda: b.active, 10, what='the held request')
            except AssertionError as e:  # seen once in CI: say where it is
                ss = subprocess.run(['ss', '-tnpH', 'sport = :%d or dport = :%d or dport = :%d'
                                     % (p.port, p.port, b.port)],
                                    capture_output=True, text=True).stdout
                raise AssertionError('%s; backend saw %r; ss: %s; error log: %s' % (
                    e, b.paths(), ss.replace('\n', ' | '), p.error_log()[-600:]))
            out, ka = keepalive_timer(b.port)
            b.release(path.rsplit('/', 1)[1])
            assert c.read_response().status == 200
        assert out and ka == want, (path, out)
        wait_for(lambda: not b.active, 5, what='the request done')


def test_proxy_bind_config_errors(t):
    assert_location_t_errors(t, [
        ('proxy_bind x;', 'invalid address "x"'),
        ('proxy_bind [::1];', 'invalid address "[::1]"'),
        ('proxy_bind 127.0.0.1:99999;', 'invalid address "127.0.0.1:99999"'),
        ('proxy_bind 127.0.0.1:0;', 'invalid address "127.0.0.1:0"'),
        ('proxy_bind off transparent;', 'invalid address "off"'),
        ('proxy_bind 127.0.0.2 y;', 'invalid parameter "y"'),
        ('proxy_bind off; proxy_bind 127.0.0.1;', '"proxy_bind" directive is duplicate'),
        ('proxy_bind 1 2 3;', 'invalid number of arguments in "proxy_bind" directive'),
        ('proxy_socket_keepalive x;', 'invalid value "x" in "proxy_socket_keepalive" '
         'directive, it must be "on" or "off"'),
    ])
    # accepted forms
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /a { proxy_bind ::1; }
    location /b { proxy_bind [::1]:8080; }
    location /c { proxy_bind 127.0.0.1:5555; }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stderr


def test_proxy_bind_transparent(t):
    """`transparent` is accepted at -t (it works: test_bind_transparent.py)."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_bind 127.0.0.2 transparent; }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stderr
