# SPDX-License-Identifier: MIT
"""uwsgi_pass (ngx_http_uwsgi_module) against the real uWSGI server (Debian's
uwsgi-core with the python3 plugin, started per test on a uwsgi-protocol
socket: 127.0.0.1:PORT or a unix socket in the test's temp dir) running a
small WSGI app that echoes its environ as JSON, with the same config text for
nginx 1.22 and lbd and Debian's /etc/nginx/uwsgi_params included unchanged.
Checked: the vars the app sees (uwsgi_params, custom uwsgi_param with
if_not_empty, HTTP_* headers and a param shadowing one), GET/HEAD/POST
(Content-Length, chunked: CONTENT_LENGTH sent, unbuffered), several MiB
answers byte-exact (Content-Length and close-delimited, buffered and not), a
streamed answer reaching the client before the app finished, the app down
(502) and slow (uwsgi_read_timeout: 504), failover in an upstream block,
hidden/passed headers, error statuses and uwsgi_intercept_errors, a CGI-style
head (Status:) from a raw uwsgi server, the packet's modifiers and "too big"
(500), -t errors."""

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import Conn, free_port, raw_server, wait_for

UWSGI = shutil.which('uwsgi') or '/usr/bin/uwsgi'

APP = r'''
import hashlib, json, os, time, urllib.parse

def blk():
    return bytes(((i * 7 + 3) & 255) for i in range(4096)) * 16

def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    args = dict(urllib.parse.parse_qsl(environ.get('QUERY_STRING', '')))
    if path == '/big':
        n = int(args['n'])
        hdrs = [('Content-Type', 'application/octet-stream')]
        if 'cl' in args:
            hdrs.append(('Content-Length', str(n)))
        start_response('200 OK', hdrs)
        b = blk()
        def gen(n=n):
            while n > 0:
                k = min(n, len(b))
                yield b[:k]
                n -= k
        return gen()
    if path == '/stream':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            yield b'first;'
            for _ in range(1000):  # up to 10 s for the test's go file
                if os.path.exists(args['go']):
                    break
                time.sleep(0.01)
            yield b'second'
        return gen()
    if path == '/slow':
        time.sleep(int(args['ms']) / 1000.0)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'slept']
    if path == '/status':
        start_response(args['code'] + ' Whatever', [('Content-Type', 'text/plain')])
        return [b'app status body']
    if path == '/headers':
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('X-Accel-Expires', '10'),
                                  ('X-Accel-Charset', 'utf-8'),
                                  ('X-Secret', 's'), ('X-Kept', 'k')])
        return [b'headers']
    body = environ['wsgi.input'].read()
    env = {k: v for k, v in environ.items() if isinstance(v, str)}
    out = json.dumps({'env': env, 'len': len(body),
                      'sha': hashlib.sha256(body).hexdigest()}).encode()
    start_response('200 OK', [('Content-Type', 'application/json'), ('X-App', 'yes')])
    return [out]
'''


def big_bytes(n):
    blk = bytes(((i * 7 + 3) & 255) for i in range(4096)) * 16
    return blk * (n // len(blk)) + blk[:n % len(blk)]


class Uwsgi:
    """A uWSGI master with one worker for one test, on a uwsgi-protocol
    socket (an SCGI one with SCGI): 127.0.0.1:PORT, or DIR/app.sock with
    UNIX; `.addr` is what uwsgi_pass (scgi_pass) takes. It runs the WSGI
    app APP (source text; this module's echo app by default). Stopped
    (TERM, then KILL) at the test's end. SSL: "CRT,KEY[,CIPHERS[,CA]]", a
    uwsgi-over-TLS socket (--ssl-socket; CA: client certificates required)."""

    def __init__(self, t, unix=False, app=APP, scgi=False, ssl=None):
        self.dir = t.tmpdir('uwsgi-')
        app = t.write(os.path.join(self.dir, 'app.py'), app)
        if unix:
            self.sock = os.path.join(self.dir, 'app.sock')
            listen, self.addr = self.sock, 'unix:' + self.sock
        else:
            self.port = free_port()
            listen = '127.0.0.1:%d' % self.port
            self.addr = listen
        self.log = os.path.join(self.dir, 'uwsgi.log')
        self.proc = subprocess.Popen(
            [UWSGI, '--plugin', 'python3',
             '--ssl-socket' if ssl else '--scgi-socket' if scgi else '--socket',
             listen + ',' + ssl if ssl else listen,
             '--chmod-socket=666',
             '--wsgi-file', app, '--master', '--processes', '1', '--die-on-term',
             '--need-app', '--buffer-size', '65535', '--logto', self.log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        t.defer(self.stop)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('uwsgi exited: %s' % self.text())
            try:
                if unix:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock)
                    s.close()
                else:
                    socket.create_connection(('127.0.0.1', self.port), 1).close()
                return 'spawned uWSGI worker' in self.text()
            except OSError:
                return False
        wait_for(up, 20, what='uwsgi up')

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(3)


def raw_uwsgi(t, answer):
    """A raw uwsgi-protocol server: reads each packet (header, vars, the
    body by CONTENT_LENGTH), records it in the returned list as (modifier1,
    modifier2, vars dict, body) and writes ANSWER, then closes. Returns
    (port, packets)."""
    got = []

    def exact(s, n):
        b = b''
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                raise OSError('short')
            b += d
        return b

    def handle(s):
        h = exact(s, 4)
        size = struct.unpack('<H', h[1:3])[0]
        raw = exact(s, size)
        env, p = {}, 0
        while p < size:
            kl = struct.unpack('<H', raw[p:p + 2])[0]
            k = raw[p + 2:p + 2 + kl]
            p += 2 + kl
            vl = struct.unpack('<H', raw[p:p + 2])[0]
            env[k.decode('latin-1')] = raw[p + 2:p + 2 + vl].decode('latin-1')
            p += 2 + vl
        body = exact(s, int(env.get('CONTENT_LENGTH') or 0))
        got.append((h[0], h[3], env, body))
        s.sendall(answer)
    return raw_server(t, handle), got


def uw_proxy(t, target, loc_extra='', srv_extra='', http_extra=''):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    %s
    location / {
        include /etc/nginx/uwsgi_params;
        uwsgi_pass %s;
        %s
    }
}""" % (http_extra, srv_extra, target, loc_extra))


def jbody(r):
    assert r.status == 200, (r.status, r.body[:300])
    return json.loads(r.body)


def test_uwsgi_params_tcp_and_unix(t):
    """Debian's uwsgi_params, a custom uwsgi_param (if_not_empty skipped
    when empty), the client's headers as HTTP_* (HTTP_HOST from the param,
    not the header): what the WSGI app sees, over TCP and a unix socket."""
    for unix in (False, True):
        app = Uwsgi(t, unix=unix)
        p = uw_proxy(t, app.addr, loc_extra="""
        uwsgi_param X_EMPTY $arg_none if_not_empty;
        uwsgi_param X_FULL $arg_a if_not_empty;
        uwsgi_param X_LIT "lit value";""")
        r = p.get('/some/path?a=1&b=two%20x', host='example.com:81',
                  headers={'Cookie': 'c1=v1', 'X-Custom-Hdr': 'hv', 'User-Agent': 'ua/1'})
        j = jbody(r)
        e = j['env']
        assert r.header('X-App') == 'yes'
        assert r.header('Content-Type') == 'application/json'
        assert e['REQUEST_METHOD'] == 'GET'
        assert e['PATH_INFO'] == '/some/path'
        assert e['QUERY_STRING'] == 'a=1&b=two%20x'
        assert e['REQUEST_URI'] == '/some/path?a=1&b=two%20x'
        assert e['SERVER_PROTOCOL'] == 'HTTP/1.1'
        assert e['REQUEST_SCHEME'] == 'http'
        assert e['REMOTE_ADDR'] == '127.0.0.1'
        assert e['SERVER_PORT'] == str(p.port)
        assert e['SERVER_NAME'] == 'localhost'
        assert e['CONTENT_LENGTH'] == '' and e['CONTENT_TYPE'] == ''
        assert e['HTTP_HOST'] == 'example.com'  # the param's $host
        assert e['HTTP_COOKIE'] == 'c1=v1'
        assert e['HTTP_X_CUSTOM_HDR'] == 'hv'
        assert e['HTTP_USER_AGENT'] == 'ua/1'
        assert e['X_FULL'] == '1' and e['X_LIT'] == 'lit value'
        assert 'X_EMPTY' not in e and 'HTTPS' not in e
        assert j['len'] == 0
        p.stop()
        app.stop()


def test_uwsgi_head_and_post_bodies(t):
    """HEAD (no body to the client), POST with Content-Length and chunked
    (read whole, CONTENT_LENGTH sent), 3 MiB unbuffered, byte-exact at the
    app."""
    app = Uwsgi(t)
    p = uw_proxy(t, app.addr, loc_extra='client_max_body_size 16m;')
    r = p.req('HEAD', '/x')
    assert r.status == 200 and r.body == b''
    body = os.urandom(300000)
    r = p.req('POST', '/post', body=body, headers={'Content-Type': 'application/x-test'})
    j = jbody(r)
    assert j['len'] == len(body) and j['sha'] == hashlib.sha256(body).hexdigest()
    assert j['env']['CONTENT_LENGTH'] == str(len(body))
    assert j['env']['CONTENT_TYPE'] == 'application/x-test'
    assert j['env']['REQUEST_METHOD'] == 'POST'
    chunked = b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
    with Conn(p.port) as c:
        c.send(b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked)
        j = jbody(c.read_response())
    assert j['len'] == 11 and j['env']['CONTENT_LENGTH'] == '11'
    assert j['sha'] == hashlib.sha256(b'hello world').hexdigest()
    p.stop()
    p = uw_proxy(t, app.addr, loc_extra='client_max_body_size 16m; uwsgi_request_buffering off;')
    body = os.urandom(3 << 20)
    j = jbody(p.req('POST', '/post', body=body, timeout=30))
    assert j['len'] == len(body) and j['sha'] == hashlib.sha256(body).hexdigest()


def test_uwsgi_big_answer(t):
    """A 5 MiB answer byte-exact: with Content-Length and close-delimited
    (chunked to an HTTP/1.1 client), uwsgi_buffering on and off."""
    app = Uwsgi(t)
    n = 5 * 1024 * 1024 + 123
    want = big_bytes(n)
    for buf in ('on', 'off'):
        p = uw_proxy(t, app.addr, loc_extra='uwsgi_buffering %s;' % buf)
        r = p.get('/big?n=%d&cl=1' % n, timeout=30)
        assert r.status == 200 and r.header('Content-Length') == str(n)
        assert r.body == want
        r = p.get('/big?n=%d' % n, timeout=30)
        assert r.status == 200 and r.header('Content-Length') is None
        assert 'chunked' in (r.header('Transfer-Encoding') or '')
        assert r.body == want
        p.stop()


def test_uwsgi_streaming_answer(t):
    """uwsgi_buffering off: the app's first piece reaches the client while
    the app still waits (for a file the test makes only after reading it)."""
    app = Uwsgi(t)
    go = os.path.join(t.tmpdir('go-'), 'go')
    p = uw_proxy(t, app.addr, loc_extra='uwsgi_buffering off;')
    with Conn(p.port) as c:
        c.send(b'GET /stream?go=%s HTTP/1.1\r\nHost: x\r\n\r\n' % go.encode())
        got = b''
        deadline = time.monotonic() + 10
        while b'first;' not in got and time.monotonic() < deadline:
            got += c.sock.recv(65536)
        assert b'first;' in got and b'second' not in got, got
        t.write(go, 'go')
        while b'0\r\n\r\n' not in got and time.monotonic() < deadline:
            d = c.sock.recv(65536)
            if not d:
                break
            got += d
        assert b'second' in got, got


def test_uwsgi_errors_502_504(t):
    """The app down: 502 and nginx's connect() line naming uwsgi://; a slow
    app past uwsgi_read_timeout: 504 and "upstream timed out"; an upstream
    block passes a dead server over to a live one; variables in uwsgi_pass."""
    app = Uwsgi(t)
    dead = t.dead_port()
    p = uw_proxy(t, '127.0.0.1:%d' % dead)
    r = p.get('/x')
    assert r.status == 502
    log = p.error_log()
    assert 'connect() failed (111: Connection refused) while connecting to upstream' in log
    assert 'upstream: "uwsgi://127.0.0.1:%d"' % dead in log, log
    p.stop()
    p = uw_proxy(t, app.addr, loc_extra='uwsgi_read_timeout 300ms;')
    r = p.get('/slow?ms=1500')
    assert r.status == 504
    assert 'upstream timed out (110: Connection timed out) while reading response header ' \
        'from upstream' in p.error_log()
    p.stop()
    p = uw_proxy(t, 'app', http_extra="""
upstream app { server 127.0.0.1:%d; server %s; }""" % (dead, app.addr))
    for _ in range(3):
        assert jbody(p.get('/y'))['env']['PATH_INFO'] == '/y'
    p.stop()
    # variables in uwsgi_pass: an address, or an upstream block's name
    p = uw_proxy(t, '$up', srv_extra='set $up %s; if ($arg_g) { set $up app; }' % app.addr,
                 http_extra='upstream app { server %s; }' % app.addr)
    assert jbody(p.get('/v'))['env']['PATH_INFO'] == '/v'
    assert jbody(p.get('/w?g=1'))['env']['PATH_INFO'] == '/w'


def test_uwsgi_headers_and_statuses(t):
    """X-Accel-* hidden by default (uwsgi_pass_header shows one),
    uwsgi_hide_header; an app's 404 passed, and replaced by error_page
    under uwsgi_intercept_errors."""
    app = Uwsgi(t)
    p = uw_proxy(t, app.addr, loc_extra="""
        uwsgi_hide_header X-Secret;
        uwsgi_pass_header X-Accel-Charset;""")
    r = p.get('/headers')
    assert r.status == 200 and r.body == b'headers'
    assert r.header('X-Accel-Expires') is None
    assert r.header('X-Secret') is None
    assert r.header('X-Accel-Charset') == 'utf-8'
    assert r.header('X-Kept') == 'k'
    r = p.get('/status?code=404')
    assert r.status == 404 and r.body == b'app status body'
    r = p.get('/status?code=503')
    assert r.status == 503 and r.body == b'app status body'
    p.stop()
    p = uw_proxy(t, app.addr, loc_extra='uwsgi_intercept_errors on; error_page 404 /e404;',
                 srv_extra='location = /e404 { return 200 "own 404 page"; }')
    r = p.get('/status?code=404')
    assert r.status == 404 and r.body == b'own 404 page'
    r = p.get('/status?code=503')
    assert r.status == 503 and r.body == b'app status body'


def test_uwsgi_settings_apart(t):
    """The uwsgi_* twins are their own settings: proxy_hide_header and
    proxy_set_header at http level do not touch a uwsgi_pass location,
    uwsgi_hide_header inherited from http does; uwsgi_pass_request_headers
    off sends no HTTP_* but the params'."""
    app = Uwsgi(t)
    p = uw_proxy(t, app.addr, loc_extra='uwsgi_pass_request_headers off;',
                 http_extra='proxy_hide_header X-App; proxy_set_header X-Set 1; '
                            'uwsgi_hide_header X-Kept;')
    r = p.get('/e', headers={'User-Agent': 'ua/2', 'X-Set': 'client'})
    e = jbody(r)['env']
    assert r.header('X-App') == 'yes'
    assert 'HTTP_USER_AGENT' not in e and 'HTTP_X_SET' not in e
    assert e['HTTP_HOST'] == 'localhost'  # uwsgi_params' HTTP_HOST $host
    r = p.get('/headers')
    assert r.status == 200 and r.header('X-Kept') is None


def test_uwsgi_packet_and_cgi_head(t):
    """A raw uwsgi server: uwsgi_modifier1/2 in the packet header, the body
    after the vars; a CGI head (no status line) read with Status:, and with
    Location (302); vars over 65535 bytes refused (500, nginx's alert)."""
    port, got = raw_uwsgi(t, b'Status: 201 Made\r\nContent-Type: text/plain\r\n'
                             b'X-Cgi: 1\r\n\r\ncgi body')
    p = uw_proxy(t, '127.0.0.1:%d' % port, loc_extra="""
        uwsgi_modifier1 5;
        uwsgi_modifier2 9;
        uwsgi_param BIG $arg_x$arg_x$arg_x$arg_x$arg_x$arg_x$arg_x$arg_x$arg_x$arg_x;""")
    r = p.req('POST', '/p', body=b'payload')
    assert r.status == 201 and r.body == b'cgi body', (r.status, r.body)
    assert r.header('X-Cgi') == '1'
    assert r.header('Status') == '201 Made'  # not hidden by the uwsgi module
    m1, m2, env, body = got[-1]
    assert (m1, m2, body) == (5, 9, b'payload')
    assert env['PATH_INFO'] == '/p' and 'BIG' in env
    r = p.get('/p?x=' + 'a' * 7000)
    assert r.status == 500
    wait_for(lambda: 'uwsgi request is too big: ' in p.error_log(), 5, what='alert')
    assert len(got) == 1
    p.stop()
    port, got = raw_uwsgi(t, b'Location: http://x.example/y\r\n\r\n')
    p = uw_proxy(t, '127.0.0.1:%d' % port)
    r = p.get('/l')
    assert r.status == 302 and r.header('Location') == 'http://x.example/y'


def test_uwsgi_pass_variable_after_scheme(t):
    """uwsgi_pass uwsgi://$v (or suwsgi://$v): the value is the host, as
    nginx's (it strips one scheme from the whole): a value with its own
    scheme, or a path or arguments, is 500 and nginx's "invalid host in
    upstream" line naming what followed the scheme; uwsgi_pass $v takes
    one scheme from the value. (lbd before: the value's scheme stripped
    too, and the request went through.)"""
    port, got = raw_uwsgi(t, b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuw\n')
    p = uw_proxy(t, '$arg_to', srv_extra="""
    location /u/ { uwsgi_pass uwsgi://$arg_to; }
    location /s/ { uwsgi_pass suwsgi://$arg_to; }""",
                 http_extra='upstream app { server 127.0.0.1:%d; }' % port)
    for path, to in (('/u/1', '127.0.0.1:%d' % port), ('/u/2', 'app'),
                     ('/v/3', 'uwsgi://app'), ('/v/4', 'UWSGI://127.0.0.1:%d' % port)):
        r = p.get(path + '?to=' + to)
        assert (r.status, r.body) == (200, b'uw\n'), (path, to, r)
    n = len(got)
    for path, to, named in (
            ('/u/5', 'uwsgi://127.0.0.1:%d' % port, None), ('/u/6', 'uwsgi://app', None),
            ('/s/7', 'uwsgi://app', None), ('/u/8', 'suwsgi://app', None),
            ('/u/9', '127.0.0.1:%d/x' % port, None), ('/u/10', 'app?x', None),
            ('/v/11', 'uwsgi://uwsgi://app', 'uwsgi://app')):
        r = p.get(path + '?to=' + to)
        assert r.status == 500, (path, to, r)
        line = 'invalid host in upstream "%s", client: 127.0.0.1' % (named or to)
        assert line in p.error_log(), (line, p.error_log()[-600:])
    assert len(got) == n  # none reached the server


def test_uwsgi_config_errors(t):
    """-t: uwsgi_modifier1 out of a byte, a bad uwsgi_param flag, a
    duplicate uwsgi_pass, a path in the address (uwsgi_ssl_*:
    test_uwsgi_ssl.py)."""
    cases = [
        ('uwsgi_modifier1 300; uwsgi_pass 127.0.0.1:1;',
         'value must be between 0 and 255'),
        ('uwsgi_modifier2 x; uwsgi_pass 127.0.0.1:1;',
         '"uwsgi_modifier2" directive invalid number'),
        ('uwsgi_param A b if_empty; uwsgi_pass 127.0.0.1:1;',
         'invalid parameter "if_empty"'),
        ('uwsgi_pass 127.0.0.1:1; uwsgi_pass 127.0.0.1:2;',
         '"uwsgi_pass" directive is duplicate'),
    ]
    for conf, msg in cases:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { %s }
}""" % conf, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg in r.stderr, (conf, r.stderr)
        assert 'nginx.conf:' in r.stderr


# ---------------------------------------------------------------- SCGI


def scgi_server(t, unix=None):
    """A small threaded SCGI server: parses the netstring (headers in
    order, CONTENT_LENGTH first), reads the body by CONTENT_LENGTH and
    answers by path: /status?... a CGI head with Status:, /loc a Location,
    /http an HTTP status line, /big?n=N N bytes until the close, else a
    CGI head and the JSON {keys, env, len, sha}. Returns (address, the list
    of key orders it saw)."""
    if unix:
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(unix)
        os.chmod(unix, 0o666)
        addr = 'unix:' + unix
    else:
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        addr = '127.0.0.1:%d' % ls.getsockname()[1]
    orders = []

    def handle(s):
        f = s.makefile('rb')
        n = b''
        while not n.endswith(b':'):
            c = f.read(1)
            if not c:
                return
            n += c
        raw = f.read(int(n[:-1]))
        assert f.read(1) == b','
        parts = raw.split(b'\0')[:-1]
        keys = [k.decode() for k in parts[0::2]]
        env = dict(zip(keys, (v.decode('latin-1') for v in parts[1::2])))
        orders.append(keys)
        body = f.read(int(env['CONTENT_LENGTH']))
        path = env.get('DOCUMENT_URI', '')
        q = dict(p.split('=', 1) for p in env.get('QUERY_STRING', '').split('&') if '=' in p)
        if path == '/status':
            out = b'Status: %s Custom\r\nX-Accel-Expires: 5\r\n\r\nscgi status' % \
                q['code'].encode()
        elif path == '/loc':
            out = b'Location: http://x.example/z\r\n\r\n'
        elif path == '/http':
            out = b'HTTP/1.1 203 Fine\r\nContent-Type: text/plain\r\n\r\nhttp line'
        elif path == '/big':
            out = b'Content-Type: application/octet-stream\r\n\r\n' + big_bytes(int(q['n']))
        else:
            js = json.dumps({'keys': keys, 'env': env, 'len': len(body),
                             'sha': hashlib.sha256(body).hexdigest()}).encode()
            out = b'Status: 200 OK\r\nContent-Type: application/json\r\n\r\n' + js
        s.sendall(out)
    raw_server(t, handle, ls=ls, threaded=True)
    return addr, orders


def scgi_proxy(t, target, loc_extra='', http_extra=''):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    location / {
        include /etc/nginx/scgi_params;
        scgi_pass %s;
        %s
    }
}""" % (http_extra, target, loc_extra))


def test_scgi_params_and_bodies(t):
    """scgi_pass with Debian's scgi_params over TCP and a unix socket:
    CONTENT_LENGTH first (0 without a body), SCGI=1, the params and the
    client's headers; POST with Content-Length and chunked (read whole:
    CONTENT_LENGTH is its length), byte-exact."""
    for unix in (None, os.path.join(t.tmpdir('scgi-'), 's.sock')):
        addr, orders = scgi_server(t, unix)
        p = scgi_proxy(t, addr, loc_extra='scgi_param X_NONE $arg_none if_not_empty; '
                                           'client_max_body_size 8m;')
        j = jbody(p.get('/path/x?a=1', host='example.com', headers={'X-Hdr': 'v'}))
        e = j['env']
        assert j['keys'][0] == 'CONTENT_LENGTH' and e['CONTENT_LENGTH'] == '0'
        assert e['SCGI'] == '1' and e['REQUEST_METHOD'] == 'GET'
        assert e['REQUEST_URI'] == '/path/x?a=1' and e['QUERY_STRING'] == 'a=1'
        assert e['DOCUMENT_URI'] == '/path/x'
        assert e['HTTP_HOST'] == 'example.com' and e['HTTP_X_HDR'] == 'v'
        assert e['SERVER_PORT'] == str(p.port) and 'X_NONE' not in e
        assert j['keys'].count('HTTP_HOST') == 1  # the param shadows the header
        body = os.urandom(2 << 20)
        j = jbody(p.req('POST', '/post', body=body, timeout=30))
        assert j['len'] == len(body) and j['sha'] == hashlib.sha256(body).hexdigest()
        assert j['env']['CONTENT_LENGTH'] == str(len(body))
        with Conn(p.port) as c:
            c.send(b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                   b'4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n')
            j = jbody(c.read_response())
        assert j['len'] == 7 and j['env']['CONTENT_LENGTH'] == '7'
        p.stop()


def test_scgi_answers(t):
    """The SCGI answer: a CGI head's Status (hidden from the client, as
    X-Accel-*), a Location without Status (302), an HTTP status line, a
    3 MiB close-delimited body byte-exact; a dead server is a 502 logged
    with scgi://; scgi_intercept_errors."""
    addr, _ = scgi_server(t)
    p = scgi_proxy(t, addr)
    r = p.get('/status?code=404')
    assert r.status == 404 and r.body == b'scgi status'
    assert r.header('Status') is None and r.header('X-Accel-Expires') is None
    r = p.get('/loc')
    assert r.status == 302 and r.header('Location') == 'http://x.example/z'
    r = p.get('/http')
    assert r.status == 203 and r.body == b'http line'
    n = 3 * 1024 * 1024 + 7
    r = p.get('/big?n=%d' % n, timeout=30)
    assert r.status == 200 and r.body == big_bytes(n)
    p.stop()
    dead = t.dead_port()
    p = scgi_proxy(t, '127.0.0.1:%d' % dead)
    assert p.get('/x').status == 502
    assert 'upstream: "scgi://127.0.0.1:%d"' % dead in p.error_log()
    p.stop()
    p = scgi_proxy(t, addr, loc_extra='scgi_intercept_errors on; error_page 404 = /x;')
    r = p.get('/status?code=404')
    assert r.status == 200 and json.loads(r.body)['env']['DOCUMENT_URI'] == '/x'
