# SPDX-License-Identifier: MIT
"""Integration test harness: run the same nginx config under nginx and lbd.

Owns everything a test needs besides its assertions:

* ports: free TCP ports on 127.0.0.1 taken from below the kernel's ephemeral
  range, so an outgoing connection can never steal a port between the moment
  we pick it and the moment the proxy binds it;
* fake upstreams (`Backend`): threaded raw-socket HTTP/1.1 servers that say
  who they are (`X-Backend: NAME` and a JSON body) and record every raw
  request and every accepted connection, with behaviours chosen by path
  (/status/N, /size/N, /slow/MS, /hold/KEY, /chunked, /close, /headers?..);
* a proxy under test (`Proxy`): a temp prefix, a config rendered from a
  template with {placeholders}, `BIN -p PREFIX/ -c conf/nginx.conf` run in
  the foreground in its own process group, readiness by polling the listen
  port, stop by SIGQUIT then SIGKILL of the whole group;
* a raw client (`Conn`, `request`): exact bytes out, a parsed response in
  (Content-Length, chunked or read-until-close), interim 1xx responses kept;
* raw socket readers for tests and fake upstreams that handle sockets
  themselves: `read_head` (one HTTP head and what followed it) and
  `recv_until_close` (all bytes to the peer's close), both bounded (EOF,
  a size limit or a timeout ends them, never a busy loop);
* `Case`: the per-(test, target) context handed to every test function; it
  tracks every resource it created and releases all of them in `cleanup()`,
  which the runner calls whether the test passed, failed or hung.

Only the standard library is used.
"""

import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Where each target's binary comes from. lbd is looked up relative to the
# repository so the suite works from any working directory.
TARGET_BINS = {
    'nginx': os.environ.get('NGINX', '/usr/sbin/nginx'),
    'lbd': os.environ.get('LBD', os.path.join(REPO, 'build', 'lbd')),
}

# Default timeout for one blocking client operation, in seconds.
IO_TIMEOUT = 5.0

_sanitized = None


def conf_line(p, text):
    """'nginx.conf:N' of the first line of P's config that holds TEXT (the
    skeleton around a test's server blocks differs by target)."""
    for i, ln in enumerate(p.read('conf', 'nginx.conf').splitlines(), 1):
        if text in ln:
            return 'nginx.conf:%d' % i
    raise AssertionError('%r not in the config' % text)


def assert_location_t_errors(t, cases, http=''):
    """For each (DIRECTIVE, MESSAGE) of CASES: DIRECTIVE written in a
    location makes `-t` fail with MESSAGE, naming the file and its line.
    HTTP: http-level lines before the server (zones the cases name)."""
    for directive, want in cases:
        p = t.proxy(http + """
server {
    listen 127.0.0.1:{port};
    location / { %s }
}""" % directive, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (directive, out)
        assert conf_line(p, directive) in out, (directive, out)


def lbd_sanitized():
    """Whether the lbd under test is a sanitizer build (make
    SANITIZE=address,undefined): its RSS is then ASan's (freed memory sits
    in the quarantine), not lbd's, and is not to be judged."""
    global _sanitized
    if _sanitized is None:
        out = subprocess.run(['ldd', TARGET_BINS['lbd']], capture_output=True,
                             text=True).stdout
        _sanitized = 'libasan' in out
    return _sanitized


class Skip(Exception):
    """Raised by a test that cannot run here; the message is the reason."""


class TestTimeout(AssertionError):
    """A deadline passed while polling for a condition."""


def wait_for(pred, timeout=5.0, interval=0.01, what='condition'):
    """wait_for - poll pred() until it returns a truthy value.

    Returns that value; raises TestTimeout naming `what` when `timeout`
    seconds pass first. This is the only way tests wait: no guessed sleeps.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestTimeout('timed out after %.1fs waiting for %s' %
                              (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- ports

_port_lock = threading.Lock()
_ports_given = set()


def _ephemeral_low():
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """free_port - a TCP port on 127.0.0.1 that is free right now.

    Drawn at random below the ephemeral range (so connect() never picks it
    by itself) and never handed out twice in one run. Binding is still
    racy against other programs; Proxy.start() retries on EADDRINUSE.
    """
    hi = _ephemeral_low() - 1
    lo = max(1024, hi - 12000)
    for _ in range(1000):
        p = random.randint(lo, hi)
        with _port_lock:
            if p in _ports_given:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(('127.0.0.1', p))
            except OSError:
                continue
            finally:
                s.close()
            _ports_given.add(p)
            return p
    raise RuntimeError('no free port found')


class DeadPort:
    """A port on 127.0.0.1 where nothing listens: connect() is refused.

    The port stays bound (without listen) while the object lives, so no other
    socket in this run can start listening there by chance.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class Blackhole:
    """A port whose accept queue is full: SYNs are dropped, connect() hangs.

    listen(0) admits one connection into the accept queue; we fill it
    ourselves and never accept, so the proxy's connect() can only time out.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        # Connect until one attempt hangs: that proves the queue is full.
        for _ in range(8):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(0.3)
            try:
                c.connect(('127.0.0.1', self.port))
            except socket.timeout:
                c.close()
                return
            self.fillers.append(c)
        raise RuntimeError('could not fill the accept queue of a listener')

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------- backend


class BackendRequest:
    """One request as a Backend received it."""

    def __init__(self, conn_id, raw_head, body_raw, body):
        self.conn_id = conn_id  # index of the accepted connection it came on
        self.raw = raw_head + body_raw  # bytes exactly as received
        self.raw_head = raw_head  # request line + headers + blank line
        self.body = body  # decoded body (chunked framing removed)
        lines = raw_head.decode('latin-1').split('\n')
        parts = lines[0].rstrip('\r').split(' ')
        self.method = parts[0]
        self.target = parts[1] if len(parts) > 1 else ''
        self.version = parts[2] if len(parts) > 2 else ''
        u = urllib.parse.urlsplit(self.target)
        self.path = u.path
        self.query = u.query
        self.headers = []  # (name, value) in order received
        for line in lines[1:]:
            line = line.rstrip('\r')
            if not line:
                break
            k, _, v = line.partition(':')
            self.headers.append((k.strip(), v.strip()))

    def header(self, name):
        """First value of header `name` (case-insensitive) or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class _BadRequest(Exception):
    pass


class Backend:
    """A fake upstream that says who it is and records what it received.

    Behaviour by request path (a `force_path` makes every request behave as
    if it had that path):
      /status/N[?Hdr=V]  status N, query params become response headers
      /headers?Hdr=V&..  200, query params become response headers
      /size/N            N bytes of body (a repeating pattern)
      /slow/MS           answer after MS milliseconds
      /hold/KEY          answer once release(KEY) is called (or 30 s pass)
      /chunked           a chunked response (alpha/beta/gamma lines)
      /close             read the request, close without answering
      anything else      200 with the JSON description of the request
    Every answer carries `X-Backend: NAME`, `Server: integ-backend` and a
    fixed old `Date`, so tests can check what the proxy hides or replaces.
    """

    CHUNKS = [b'alpha\n', b'beta\n', b'gamma\n']
    FIXED_DATE = 'Mon, 01 Jan 2001 00:00:00 GMT'

    def __init__(self, name, port=0, force_path=None, unix=None):
        self.name = name
        self.unix = unix  # listen on this unix socket path instead of TCP
        self.force_path = force_path
        self.lock = threading.Lock()
        self.requests = []  # BackendRequest, in arrival order
        self.connections = 0  # connections accepted since creation
        self.active = 0  # requests being handled right now
        self._holds = {}  # KEY -> threading.Event for /hold/KEY
        self._released_all = False  # release() with no key: never hold
        self._conns = set()  # open client sockets, closed by stop()
        self._lsock = None
        self.port = port
        self.start()

    # -- lifecycle

    def start(self):
        """Listen (again) on self.port, or on a new port the first time
        (on self.unix instead when set: the file is made world-writable so
        unprivileged workers can connect, and stop() removes it)."""
        if self.unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(self.unix):
                os.unlink(self.unix)
            s.bind(self.unix)
            os.chmod(self.unix, 0o666)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('127.0.0.1', self.port))
        s.listen(128)
        if not self.unix:
            self.port = s.getsockname()[1]
        self._lsock = s
        t = threading.Thread(target=self._accept_loop, args=(s,),
                             daemon=True, name='backend-%s' % self.name)
        t.start()

    def stop(self):
        """Stop listening and drop every open connection (port refuses)."""
        s, self._lsock = self._lsock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
            if self.unix and os.path.exists(self.unix):
                os.unlink(self.unix)
        with self.lock:
            conns = list(self._conns)
            self._conns.clear()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    restart = start

    def release(self, key=None):
        """Let /hold/KEY requests answer, including ones not yet arrived.
        With no key: release every hold now and never hold again."""
        with self.lock:
            if key is None:
                evs = list(self._holds.values())
                self._holds = {}
                self._released_all = True
            else:
                evs = [self._holds.setdefault(key, threading.Event())]
        for e in evs:
            e.set()

    # -- observation helpers

    def paths(self):
        with self.lock:
            return [r.path for r in self.requests]

    def count(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def wait_requests(self, n, timeout=5.0):
        wait_for(lambda: self.count() >= n, timeout,
                 what='%s to receive %d requests' % (self.name, n))

    # -- server side

    def _accept_loop(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            with self.lock:
                if self._lsock is not lsock:
                    c.close()
                    return
                self.connections += 1
                cid = self.connections
                self._conns.add(c)
            threading.Thread(target=self._serve, args=(c, cid),
                             daemon=True).start()

    def _serve(self, c, cid):
        buf = b''
        try:
            c.settimeout(60)
            while True:
                req, buf = self._read_request(c, buf, cid)
                if req is None:
                    return
                with self.lock:
                    self.requests.append(req)
                    self.active += 1
                try:
                    keep = self._respond(c, req)
                finally:
                    with self.lock:
                        self.active -= 1
                if not keep:
                    return
        except (OSError, _BadRequest):
            return
        finally:
            with self.lock:
                self._conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    @staticmethod
    def _recv_more(c, buf):
        d = c.recv(262144)
        if not d:
            raise _BadRequest('eof')
        return buf + d

    def _read_request(self, c, buf, cid):
        while True:
            i = buf.find(b'\r\n\r\n')
            if i >= 0:
                head, buf = buf[:i + 4], buf[i + 4:]
                break
            if len(buf) > 1 << 20:
                raise _BadRequest('head too big')
            try:
                buf = self._recv_more(c, buf)
            except _BadRequest:
                if buf:
                    raise
                return None, b''  # clean close between requests
        probe = BackendRequest(cid, head, b'', b'')
        te = (probe.header('Transfer-Encoding') or '').lower()
        cl = probe.header('Content-Length')
        if 'chunked' in te:
            raw, body, buf = self._read_chunked(c, buf)
        elif cl is not None:
            n = int(cl)
            while len(buf) < n:
                buf = self._recv_more(c, buf)
            raw, body, buf = buf[:n], buf[:n], buf[n:]
        else:
            raw, body = b'', b''
        return BackendRequest(cid, head, raw, body), buf

    def _read_chunked(self, c, buf):
        pos = 0
        body = []
        while True:
            while buf.find(b'\r\n', pos) < 0:
                buf = self._recv_more(c, buf)
            e = buf.find(b'\r\n', pos)
            size = int(buf[pos:e].split(b';')[0].strip(), 16)
            pos = e + 2
            if size == 0:
                # Trailers end with an empty line.
                while True:
                    while buf.find(b'\r\n', pos) < 0:
                        buf = self._recv_more(c, buf)
                    e = buf.find(b'\r\n', pos)
                    line = buf[pos:e]
                    pos = e + 2
                    if not line:
                        return buf[:pos], b''.join(body), buf[pos:]
            while len(buf) < pos + size + 2:
                buf = self._recv_more(c, buf)
            body.append(buf[pos:pos + size])
            pos += size + 2

    def describe(self, req):
        """The JSON document a default answer carries."""
        d = {
            'name': self.name,
            'port': self.port,
            'method': req.method,
            'target': req.target,
            'path': req.path,
            'query': req.query,
            'version': req.version,
            'headers': req.headers,
            'body_len': len(req.body),
            'body_sha256': hashlib.sha256(req.body).hexdigest(),
            'conn_id': req.conn_id,
        }
        if len(req.raw) <= 65536:
            d['raw_b64'] = base64.b64encode(req.raw).decode()
        else:
            d['raw_head_b64'] = base64.b64encode(req.raw_head).decode()
        return d

    def _respond(self, c, req):
        path = self.force_path or req.path
        query = self.force_path and '' or req.query
        if self.force_path and '?' in self.force_path:
            path, query = self.force_path.split('?', 1)
        conn_hdr = (req.header('Connection') or '').lower()
        if req.version == 'HTTP/1.1':
            keep = 'close' not in conn_hdr
        else:
            keep = 'keep-alive' in conn_hdr
        status, extra = 200, []
        body = None
        ctype = 'application/json'
        chunked = False
        parts = path.split('/')
        kind = parts[1] if len(parts) > 1 else ''
        arg = parts[2] if len(parts) > 2 else ''
        if kind == 'close':
            return False
        if kind == 'status' and arg.isdigit():
            status = int(arg)
            extra = urllib.parse.parse_qsl(query, keep_blank_values=True)
        elif kind == 'headers':
            extra = urllib.parse.parse_qsl(query, keep_blank_values=True)
        elif kind == 'size' and arg.isdigit():
            n = int(arg)
            pat = b'0123456789abcdef' * 64
            body = (pat * (n // len(pat) + 1))[:n]
            ctype = 'application/octet-stream'
        elif kind == 'slow' and arg.isdigit():
            time.sleep(int(arg) / 1000.0)
        elif kind == 'hold':
            with self.lock:
                ev = self._holds.setdefault(arg, threading.Event())
                if self._released_all:
                    ev.set()
            ev.wait(30)
        elif kind == 'chunked':
            chunked = req.version == 'HTTP/1.1'
            body = b''.join(self.CHUNKS)
            ctype = 'text/plain'
        if body is None:
            body = json.dumps(self.describe(req)).encode() + b'\n'
        if status in (204, 304) or 100 <= status < 200:
            body = b''
        hdrs = [('X-Backend', self.name), ('Server', 'integ-backend'),
                ('Date', self.FIXED_DATE)]
        names = {k.lower() for k, _ in extra}
        for k, v in (('Content-Type', ctype),):
            if k.lower() not in names:
                hdrs.append((k, v))
        hdrs += extra
        if chunked:
            hdrs.append(('Transfer-Encoding', 'chunked'))
        elif status not in (204, 304):
            hdrs.append(('Content-Length', str(len(body))))
        hdrs.append(('Connection', 'keep-alive' if keep else 'close'))
        out = ['HTTP/1.1 %d %s' % (status, REASONS.get(status, 'Status'))]
        out += ['%s: %s' % kv for kv in hdrs]
        data = ('\r\n'.join(out) + '\r\n\r\n').encode('latin-1')
        if req.method == 'HEAD':
            c.sendall(data)
        elif chunked:
            c.sendall(data)
            for ch in self.CHUNKS:
                c.sendall(b'%x\r\n%s\r\n' % (len(ch), ch))
            c.sendall(b'0\r\n\r\n')
        else:
            c.sendall(data + body)
        return keep


REASONS = {
    100: 'Continue', 200: 'OK', 201: 'Created', 204: 'No Content',
    301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
    400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
    500: 'Internal Server Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 504: 'Gateway Timeout',
}


# ---------------------------------------------------------------- client


class Response:
    """A parsed HTTP response as the client received it."""

    def __init__(self, version, status, reason, headers, body, interim):
        self.version = version  # e.g. 'HTTP/1.1'
        self.status = status  # int
        self.reason = reason
        self.headers = headers  # [(name, value)] in order received
        self.body = body  # bytes, transfer coding removed
        self.interim = interim  # earlier 1xx Responses on this exchange

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def backend(self):
        """Which Backend answered (its X-Backend header), or None."""
        return self.header('X-Backend')

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return '<Response %d backend=%s len=%d>' % (
            self.status, self.backend, len(self.body))


class ConnClosed(ConnectionError):
    """The peer closed the connection before a complete response."""


class Conn:
    """A raw client connection: exact bytes out, parsed responses in."""

    def __init__(self, port, host='127.0.0.1', timeout=IO_TIMEOUT,
                 source=None):
        # source: a local address to connect from (127.0.0.2 is another
        # client to the proxy on 127.0.0.1)
        self.timeout = timeout
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b''
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        if self.eof:
            raise ConnClosed('connection closed by peer')
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout('response deadline passed')
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(262144)
        except ConnectionResetError:
            d = b''
        if not d:
            self.eof = True
            raise ConnClosed('connection closed by peer')
        self.buf += d

    def _line(self, deadline):
        while b'\n' not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b'\n')
        return line.rstrip(b'\r')

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_head(self, timeout=None):
        """Read one status line + headers; returns (version, status,
        reason, headers)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        line = self._line(deadline).decode('latin-1')
        parts = line.split(' ', 2)
        if len(parts) < 2 or not parts[0].startswith('HTTP/'):
            raise AssertionError('bad status line %r' % line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ''
        headers = []
        while True:
            h = self._line(deadline).decode('latin-1')
            if not h:
                break
            k, _, v = h.partition(':')
            headers.append((k.strip(), v.strip()))
        return version, status, reason, headers

    def read_response(self, method='GET', timeout=None, skip_interim=True):
        """Read one full response. 1xx interim responses are collected in
        .interim of the final one (or returned alone if skip_interim is
        False)."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        interim = []
        while True:
            version, status, reason, headers = self.read_head(timeout)
            if 100 <= status < 200 and status != 101:
                r = Response(version, status, reason, headers, b'', [])
                if not skip_interim:
                    return r
                interim.append(r)
                continue
            break
        r = Response(version, status, reason, headers, b'', interim)
        te = (r.header('Transfer-Encoding') or '').lower()
        cl = r.header('Content-Length')
        if method == 'HEAD' or status in (204, 304) or status < 200:
            return r
        if 'chunked' in te:
            parts = []
            while True:
                size = int(self._line(deadline).split(b';')[0].strip(), 16)
                if size == 0:
                    while self._line(deadline):
                        pass
                    break
                parts.append(self._exact(size, deadline))
                self._exact(2, deadline)
            r.body = b''.join(parts)
        elif cl is not None:
            r.body = self._exact(int(cl), deadline)
        else:
            while True:
                try:
                    self._fill(deadline)
                except ConnClosed:
                    break
            r.body, self.buf = self.buf, b''
        return r

    def request(self, method='GET', path='/', headers=None, body=b'',
                host='localhost', version='HTTP/1.1', timeout=None):
        """Send one request on this connection and read its response."""
        self.send(build_request(method, path, headers, body, host, version))
        return self.read_response(method, timeout)

    def is_closed(self, timeout=None):
        """True once the peer has closed (EOF); False if it stays open for
        `timeout` seconds with nothing to read. Data read is kept."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while True:
                self._fill(deadline)
        except ConnClosed:
            return True
        except socket.timeout:
            return False
        except OSError:
            return True


def build_request(method='GET', path='/', headers=None, body=b'',
                  host='localhost', version='HTTP/1.1'):
    """The bytes of a well-formed request; Content-Length added for a
    body unless the caller gave its own framing headers."""
    hl = list(headers.items() if isinstance(headers, dict) else headers or [])
    names = {k.lower() for k, _ in hl}
    if host is not None and 'host' not in names:
        hl.insert(0, ('Host', host))
    if body and 'content-length' not in names and \
            'transfer-encoding' not in names:
        hl.append(('Content-Length', str(len(body))))
    if isinstance(body, str):
        body = body.encode()
    lines = ['%s %s %s' % (method, path, version)]
    lines += ['%s: %s' % (k, v) for k, v in hl]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


def request(port, method='GET', path='/', headers=None, body=b'',
            host='localhost', version='HTTP/1.1', timeout=IO_TIMEOUT):
    """One request on a fresh connection; returns the Response."""
    with Conn(port, timeout=timeout) as c:
        return c.request(method, path, headers, body, host, version, timeout)


def raw_server(t, handle, ls=None, threaded=False):
    """Accept connections for case T until it ends, on LS (a bound socket)
    or a new one on 127.0.0.1; HANDLE(sock) serves each (5 s socket
    timeout; OSError, AssertionError, ValueError and KeyError end that
    connection quietly) and returns True to keep it open until the case
    ends, else it is closed. THREADED: each connection in its own thread.
    Returns LS's port (0 for a unix socket)."""
    if ls is None:
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
    ls.listen(16)
    ls.settimeout(0.3)
    stop = threading.Event()
    held = []

    def one(s):
        s.settimeout(5)
        keep = False
        try:
            keep = handle(s)
        except (OSError, AssertionError, ValueError, KeyError):
            pass
        if keep:
            held.append(s)
        else:
            s.close()

    def serve():
        while not stop.is_set():
            try:
                s, _ = ls.accept()
            except OSError:
                continue
            if threaded:
                threading.Thread(target=one, args=(s,), daemon=True).start()
            else:
                one(s)
    th = threading.Thread(target=serve, daemon=True)
    th.start()

    def close():
        stop.set()
        th.join(2)
        ls.close()
        for s in held:
            s.close()
    t.defer(close)
    name = ls.getsockname()
    return name[1] if isinstance(name, tuple) else 0


def raw_upstream(t, answer, half_close=False):
    """A raw HTTP upstream on 127.0.0.1 for case T; returns its port. Each
    connection's request head is read, then ANSWER (bytes, or a dict of
    request path -> bytes; an unknown path gets a 404) is written as it
    is. With HALF_CLOSE the answer and a FIN go together and the socket
    stays open (half-closed) until the case ends, so that only the FIN
    says the answer is over; else the connection is closed."""
    def handle(s):
        buf, _ = read_head(s, chunk=4096, eof_ok=True)
        a = answer
        if isinstance(answer, dict):
            path = buf.split(b' ')[1] if b' ' in buf else b''
            a = answer.get(path, b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
        s.sendall(a)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return half_close
    return raw_server(t, handle)


class HeadIncomplete(AssertionError):
    """read_head: the peer closed, or sent more than the limit, before
    the blank line that ends a head. .got holds the bytes read."""

    def __init__(self, msg, got):
        AssertionError.__init__(self, '%s: %r' % (msg, got[:300]))
        self.got = got


def _reader(s, timeout):
    """recv for read_head / recv_until_close: with TIMEOUT None each read
    waits as long as S's own timeout (None: blocking); with a number all
    reads together end by that deadline (socket.timeout past it). It
    changes S's timeout: the caller puts it back."""
    deadline = None if timeout is None else time.monotonic() + timeout

    def recv(n):
        if deadline is None:
            return s.recv(n)
        left = deadline - time.monotonic()
        if left > 0:
            s.settimeout(left)
            try:
                return s.recv(n)
            except socket.timeout:
                pass
        raise socket.timeout('timed out (%gs for all reads)' % timeout)
    return recv


def read_head(s, timeout=None, limit=1 << 20, chunk=65536, eof_ok=False,
              pending=b'', reset_ok=False):
    """Read one HTTP head (request or response) off raw socket S (plain
    or TLS) up to the blank line that ends it.

    Returns (head, rest): HEAD is the bytes before the first CRLF CRLF
    (without it), REST what came after it in the same reads (the start
    of a body, or of the next message). Reads CHUNK bytes at a time.
    PENDING: bytes already read off S that come first (the REST of the
    previous head on a keep-alive connection); no read is made when they
    hold a whole head.

    It never spins: it stops when
    * the peer closes (EOF) first: raises HeadIncomplete (an
      AssertionError, so a test fails with what was read); with EOF_OK
      it returns (bytes read, None) instead, REST None saying "no
      complete head" (for fake upstreams that quietly drop such a
      connection). A reset (ConnectionResetError) is raised as it is,
      unless RESET_OK: then it counts as that EOF;
    * LIMIT bytes came without the end of a head: raises HeadIncomplete;
    * time runs out: socket.timeout (TimeoutError) is raised as recv
      raises it, with the bytes read so far in its .got. TIMEOUT None:
      each read waits S's own timeout (as a plain recv loop); a number:
      the whole head within that many seconds. S's timeout is left as
      it was."""
    recv = _reader(s, timeout)
    saved = s.gettimeout()
    buf = pending
    try:
        while True:
            i = buf.find(b'\r\n\r\n')
            if i >= 0:
                return buf[:i], buf[i + 4:]
            if len(buf) > limit:
                raise HeadIncomplete('no end of head in %d bytes' % limit,
                                     buf)
            try:
                d = recv(chunk)
            except ConnectionResetError:
                if not reset_ok:
                    raise
                d = b''
            except socket.timeout as e:
                e.got = buf
                raise
            if not d:
                if eof_ok:
                    return buf, None
                raise HeadIncomplete('closed before the end of the head',
                                     buf)
            buf += d
    finally:
        s.settimeout(saved)


def recv_until_close(s, timeout=None, reset_ok=False, end_on=(),
                     chunk=65536, limit=None):
    """Every byte socket S receives until the peer closes (EOF).

    TIMEOUT None: each read waits as long as S's own timeout; a number:
    everything within that many seconds. Past either, socket.timeout is
    raised, the bytes read so far in its .got (a test that must see the
    close fails; one that reads "what came in N seconds" says so with
    END_ON=(socket.timeout,)).
    A reset (ConnectionResetError) is raised too, unless RESET_OK: then
    it ends the data like an EOF (the bytes before it are returned).
    END_ON: more exception classes that end the data like an EOF (e.g.
    ssl.SSLError for a TLS peer that stops without close_notify). LIMIT:
    stop (returning what was read) once more than that many bytes came,
    for a peer that might never stop. S's timeout is left as it was."""
    recv = _reader(s, timeout)
    saved = s.gettimeout()
    ends = tuple(end_on) + ((ConnectionResetError,) if reset_ok else ())
    data = b''
    try:
        while True:
            try:
                d = recv(chunk)
            except ends:
                return data
            except socket.timeout as e:
                e.got = data
                raise
            if not d:
                return data
            data += d
            if limit is not None and len(data) > limit:
                return data
    finally:
        s.settimeout(saved)


def raw_status_line(port, path, timeout=5.0):
    """The first line of the answer to GET PATH on a new connection, as
    bytes, exactly as it came (a trailing space shows)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        s.sendall(b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        got = b''
        while b'\r\n' not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    finally:
        s.close()
    return got.split(b'\r\n')[0]


def raw_exchange(port, data, timeout=3.0):
    """Send raw bytes on a fresh connection and classify what came back.

    Returns (outcome, responses, conn) where outcome is the first response's
    status (int), 'close' if the server closed without answering, or
    'timeout' if it neither answered nor closed within `timeout`. The
    caller owns `conn` (for reading further responses) and must close it.
    """
    c = Conn(port, timeout=timeout)
    try:
        c.send(data)
    except OSError:
        pass
    try:
        r = c.read_response(timeout=timeout)
    except ConnClosed:
        return 'close', [], c
    except socket.timeout:
        return 'timeout', [], c
    return r.status, [r], c


# ---------------------------------------------------------------- proxy


def _accepts(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


CONF_SKELETON = """\
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log info;
{main}
events {
    worker_connections 1024;
}

http {
    access_log {prefix}/logs/access.log;
{http}
}
"""

_PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]*)\}')


def render(template, subs):
    """Replace {name} for every name in subs; leave other braces alone
    (nginx blocks and regex quantifiers such as \\d{3} are untouched)."""
    def rep(m):
        k = m.group(1)
        if k in subs:
            v = subs[k]
            return str(v.port if hasattr(v, 'port') else v)
        return m.group(0)
    return _PLACEHOLDER.sub(rep, template)


def make_conf(http, main='', workers=1):
    """Full config text around an http{} body; placeholders stay for
    Proxy to fill ({prefix}, {port}, backend names...)."""
    text = CONF_SKELETON.replace('{main}', main).replace('{workers}',
                                                         str(workers))
    body = '\n'.join('    ' + ln if ln.strip() else ln
                     for ln in http.strip('\n').split('\n'))
    return text.replace('{http}', body)


class ProxyStartError(AssertionError):
    pass


class Proxy:
    """One proxy process (nginx or lbd) in its own temp prefix.

    `http` is the body of the http{} block, with {placeholders}: {prefix},
    every {port...} name (a free port is picked for each one not given),
    and whatever the caller passes in `subs` (Backends render as their
    port). Use `conf=` instead of `http=` for a complete config text.
    """

    def __init__(self, case, http=None, conf=None, main='', workers=1,
                 subs=None):
        self.case = case
        self.bin = case.bin
        self.prefix = case.tmpdir('prefix-')
        for d in ('conf', 'logs', 'html'):
            os.makedirs(os.path.join(self.prefix, d), mode=0o755)
        self.conf_path = os.path.join(self.prefix, 'conf', 'nginx.conf')
        self.subs = dict(subs or {})
        self.subs['prefix'] = self.prefix
        self._given_ports = {k for k in self.subs if k.startswith('port')}
        # Each lbd gets its own BPF pin directory unless the test names
        # one: lbds of concurrent test runs must not share (and prune)
        # each other's pinned maps under the default /sys/fs/bpf/lbd.
        self.pin_dir = None
        if case.target == 'lbd' and conf is None:
            main = self._own_pin(main)
        self.template = conf if conf is not None else make_conf(
            http, main, workers)
        self.proc = None
        self.stderr_path = os.path.join(self.prefix, 'logs', 'stderr.log')

    # -- config

    def _alloc_ports(self, template):
        for k in _PLACEHOLDER.findall(template):
            if k.startswith('port') and k not in self.subs:
                self.subs[k] = free_port()

    @property
    def port(self):
        return self.subs['port']

    def _own_pin(self, main):
        if 'bpf_pin_path' in main:
            return main
        if self.pin_dir is None:
            self.pin_dir = '/sys/fs/bpf/lbd-test-%s' % uuid.uuid4().hex[:12]
            self.case.defer(lambda d=self.pin_dir: shutil.rmtree(
                d, ignore_errors=True))
        return main + '\nbpf_pin_path %s;' % self.pin_dir

    def write_conf(self, template=None, http=None, main='', workers=1):
        """Write the config file (a new template or http body for reloads,
        keeping already allocated ports). Returns the rendered text."""
        if http is not None and self.case.target == 'lbd':
            main = self._own_pin(main)
        if http is not None:
            template = make_conf(http, main, workers)
        if template is not None:
            self.template = template
        self._alloc_ports(self.template)
        self.text = render(self.template, self.subs)
        with open(self.conf_path, 'w') as f:
            f.write(self.text)
        return self.text

    def args(self, *extra):
        return [self.bin, '-p', self.prefix + '/', '-c', 'conf/nginx.conf'] \
            + list(extra)

    # -- lifecycle

    def start(self, timeout=10.0):
        """Start the proxy and wait until its {port} accepts connections.
        Retries with new ports if one was taken meanwhile."""
        for attempt in range(3):
            self.write_conf()
            err = open(self.stderr_path, 'wb')
            self.proc = subprocess.Popen(
                self.args(), stdin=subprocess.DEVNULL, stdout=err,
                stderr=subprocess.STDOUT, start_new_session=True)
            err.close()
            self.case._procs.append(self)
            try:
                self.wait_ready(timeout)
                return self
            except ProxyStartError as e:
                log = self.logs_text()
                if 'Address already in use' in log and attempt < 2:
                    self.kill()
                    for k in list(self.subs):
                        if k.startswith('port') and \
                                k not in self._given_ports:
                            del self.subs[k]
                    continue
                raise ProxyStartError('%s did not start: %s\n%s' %
                                      (self.case.target, e, log[-2000:]))
        raise ProxyStartError('could not start')

    def wait_ready(self, timeout=10.0):
        """Ready means: every {port...} accepts connections and the pid
        file (if the config names one) holds our pid. nginx binds before
        it installs its signal handlers and writes the pid file after, so
        a signal sent in between would kill it: wait for both."""
        deadline = time.monotonic() + timeout
        m = re.search(r'^\s*pid\s+([^;\s]+)\s*;', self.text, re.M)
        pidfile = m and os.path.join(self.prefix, m.group(1))

        def check(what, pred):
            while not pred():
                if self.proc.poll() is not None:
                    raise ProxyStartError('exited with status %d' %
                                          self.proc.returncode)
                if time.monotonic() > deadline:
                    raise ProxyStartError('%s after %.0fs' % (what, timeout))
                time.sleep(0.01)

        for k, port in sorted(self.subs.items()):
            if k.startswith('port'):
                check('port %d not accepting' % port,
                      lambda: _accepts(port))
        if pidfile:
            check('pid file %s does not hold pid %d' % (pidfile,
                                                        self.proc.pid),
                  lambda: _read_text(pidfile).strip() == str(self.proc.pid))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestTimeout('%s did not exit within %.0fs' %
                              (self.case.target, timeout))

    def kill(self):
        """SIGKILL the whole process group (master and any workers)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout=5.0):
        """Graceful stop (SIGQUIT), then SIGKILL of the group after the
        deadline; also reaps leftover workers of an exited master."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGQUIT)
                self.proc.wait(timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        self.kill()

    # -- files

    def path(self, *p):
        return os.path.join(self.prefix, *p)

    def read(self, *p):
        try:
            with open(self.path(*p), 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def error_log(self):
        return self.read('logs', 'error.log')

    def access_log(self):
        return self.read('logs', 'access.log')

    def logs_text(self):
        return self.read('logs', 'stderr.log') + self.error_log()

    # -- client shortcuts

    def get(self, path='/', **kw):
        return request(self.port, 'GET', path, **kw)

    def req(self, method='GET', path='/', **kw):
        return request(self.port, method, path, **kw)

    def conn(self, port=None, timeout=IO_TIMEOUT):
        return Conn(port or self.port, timeout=timeout)

    def run(self, *extra, timeout=20):
        """Run the target binary with -p/-c and extra args (e.g. -t,
        -s reload); returns CompletedProcess with text stdout/stderr."""
        return subprocess.run(self.args(*extra), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout)


# ---------------------------------------------------------------- case


_live_lock = threading.Lock()
_live_cases = set()  # Cases not yet cleaned up, for cleanup_all()


def cleanup_all():
    """Clean up every Case still alive (on Ctrl-C or SIGTERM)."""
    with _live_lock:
        cases = list(_live_cases)
    for c in cases:
        c.cleanup()


class Case:
    """Everything one test run against one target may create.

    The runner builds one Case per (test, target), passes it to the test
    function, and calls cleanup() afterwards no matter what.
    """

    def __init__(self, target, name=''):
        if target not in TARGET_BINS:
            raise AssertionError('unknown target %r' % target)
        self.target = target  # 'nginx' or 'lbd'
        self.name = name  # module.test for messages
        self.bin = TARGET_BINS[target]
        self._procs = []
        self._backends = []
        self._closers = []
        self._dirs = []
        self._lock = threading.Lock()
        with _live_lock:
            _live_cases.add(self)
        if not (os.path.isfile(self.bin) and os.access(self.bin, os.X_OK)):
            raise AssertionError(
                'target binary not found: %s (set %s=... or leave %s out '
                'of TARGETS)' % (self.bin, target.upper(), target))

    @property
    def is_nginx(self):
        return self.target == 'nginx'

    def skip(self, reason):
        raise Skip(reason)

    def tmpdir(self, prefix='integ-', memory=False):
        """A directory removed at the test's end; MEMORY: on /dev/shm when
        it is a writable tmpfs (a hundred thousand files are made there
        in a fraction of the time a disk takes), else in the temp dir."""
        where = None
        if memory and os.access('/dev/shm', os.W_OK) and \
                os.statvfs('/dev/shm').f_ffree > 200000:
            where = '/dev/shm'
        d = tempfile.mkdtemp(prefix='lbd-integ-' + prefix, dir=where)
        # Workers run as an unprivileged user when started as root.
        os.chmod(d, 0o755)
        self._dirs.append(d)
        return d

    def write(self, path, data, mode=0o644):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(path, mode)
        return path

    def backend(self, name, **kw):
        b = Backend(name, **kw)
        self._backends.append(b)
        return b

    def backends(self, *names, **kw):
        return [self.backend(n, **kw) for n in names]

    def dead_port(self):
        d = DeadPort()
        self._closers.append(d.close)
        return d.port

    def blackhole(self):
        b = Blackhole()
        self._closers.append(b.close)
        return b.port

    def proxy(self, http=None, start=True, **kw):
        """Create (and by default start) a Proxy; keyword args other than
        conf/main/workers are placeholder substitutions."""
        opts = {k: kw.pop(k) for k in ('conf', 'main', 'workers')
                if k in kw}
        p = Proxy(self, http=http, subs=kw, **opts)
        if start:
            p.start()
        return p

    def defer(self, fn):
        self._closers.append(fn)

    def cleanup(self):
        """Release every resource; safe to call twice and from another
        thread than the test's."""
        with _live_lock:
            _live_cases.discard(self)
        with self._lock:
            backends, self._backends = self._backends, []
            procs, self._procs = self._procs, []
            closers, self._closers = self._closers, []
            dirs, self._dirs = self._dirs, []
        for b in backends:
            b.release()
        for p in procs:
            try:
                p.stop(timeout=3.0)
            except Exception:  # noqa: BLE001 - cleanup must go on
                p.kill()
        for b in backends:
            b.stop()
        for fn in reversed(closers):
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass
        if not os.environ.get('KEEP_TMP'):
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)

    def log_tails(self, lines=15):
        """Last lines of each proxy's stderr and error log (for reports)."""
        out = []
        for p in self._procs:
            t = p.logs_text().strip().split('\n')[-lines:]
            out.append('\n'.join(t))
        return '\n'.join(out)


def serial(fn):
    """Mark a test to run alone, after the parallel ones."""
    fn.serial = True
    return fn
