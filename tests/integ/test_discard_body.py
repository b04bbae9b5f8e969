"""A request body nobody reads (a `return`, a static file, an error
answer) that is still on its way when the answer is sent: nginx reads the
rest and drops it (its "discarded body"), then goes on with the next
request on the same connection; it says "100 Continue" first when a
content handler (a `return` with text or under 400, a static file) does
so; the rest must come within lingering_timeout per read and
lingering_time in all, and a framing error in it ends the connection.
Every case runs against nginx 1.22 with the same config text."""

import socket
import time

from harness import read_head, wait_for

SERVER = """
server {
    listen 127.0.0.1:{port};
    root {root};
    lingering_timeout 1s;
    lingering_time 3s;
    client_max_body_size 16m;
    location = /r { return 200 "r\\n"; }
    location = /nf { return 404 "nf\\n"; }
    location = /rd { return 302 /r; }
    location = /deny { deny all; }
    location = /bare { return 403; }
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
}"""


def start(t):
    root = t.tmpdir('root-')
    t.write(root + '/f.txt', 'file\n')
    b = t.backend('b')
    p = t.proxy(SERVER, b=b, root=root)
    return p, b


def connect(t, p):
    s = socket.create_connection(('127.0.0.1', p.port))
    t.defer(s.close)
    s.settimeout(5)
    return s


def read_answers(s, n, timeout=5.0):
    """Bytes until N answers with a Content-Length body are in, EOF, or the
    timeout (a 100 Continue counts as none)."""
    out = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = 0
        rest = out.replace(b'HTTP/1.1 100 Continue\r\n\r\n', b'')
        while b'\r\n\r\n' in rest:
            head, rest = rest.split(b'\r\n\r\n', 1)
            cl = [int(x.split(b':')[1]) for x in head.split(b'\r\n')
                  if x.lower().startswith(b'content-length:')]
            if cl and len(rest) < cl[0]:
                break
            rest = rest[cl[0]:] if cl else rest
            done += 1
        if done >= n:
            return out
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            k = s.recv(65536)
        except socket.timeout:
            break
        if not k:
            return out + b'<EOF>'
        out += k
    return out


def wait_eof(s, limit):
    """Seconds until the peer closes (EOF or reset), or None past LIMIT."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while True:
            k = s.recv(65536)
            if not k:
                return time.monotonic() - t0
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.monotonic() - t0


def test_discarded_body_keeps_the_connection(t):
    """The answer says keep-alive, the rest of the body (which holds a
    request line) is dropped, and the next request on the connection is
    answered; the backend never sees the request inside the body."""
    p, b = start(t)
    inner = b'GET /p/smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
    cases = [(b'POST', b'/r', 200), (b'POST', b'/deny', 403), (b'POST', b'/bare', 403),
             (b'POST', b'/f.txt', 405), (b'POST', b'/missing', 404),
             (b'GET', b'/f.txt', 200), (b'POST', b'/rd', 302)]
    for i, (method, target, status) in enumerate(cases):
        # Content-Length: the head and 3 bytes first, the rest later
        body = b'abc' + inner + b'z' * 5000
        s = connect(t, p)
        s.sendall(b'%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nabc'
                  % (method, target, len(body)))
        first = read_answers(s, 1)
        assert first.startswith(b'HTTP/1.1 %d' % status), (target, first)
        assert b'Connection: keep-alive' in first, (target, first)
        s.sendall(body[3:] + b'GET /p/next%d HTTP/1.1\r\nHost: x\r\n\r\n' % i)
        second = read_answers(s, 1)
        assert second.startswith(b'HTTP/1.1 200'), (target, second)
        # chunked: a first chunk, then the rest with the last chunk
        s = connect(t, p)
        s.sendall(b'%s %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                  b'3\r\nabc\r\n' % (method, target))
        first = read_answers(s, 1)
        assert first.startswith(b'HTTP/1.1 %d' % status), (target, first)
        assert b'Connection: keep-alive' in first, (target, first)
        s.sendall(b'%x\r\n%s\r\n0\r\n\r\nGET /p/chunked%d HTTP/1.1\r\nHost: x\r\n\r\n'
                  % (len(inner), inner, i))
        second = read_answers(s, 1)
        assert second.startswith(b'HTTP/1.1 200'), (target, second)
    paths = [rq.path for rq in b.requests]
    assert '/smuggled' not in paths, paths
    for i in range(len(cases)):
        assert '/next%d' % i in paths and '/chunked%d' % i in paths, (i, paths)


def test_discarded_body_big(t):
    """An 8 MiB body the answer did not need is read and dropped; the
    connection then serves the next request."""
    p, b = start(t)
    s = connect(t, p)
    size = 8 << 20
    s.sendall(b'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % size)
    first = read_answers(s, 1)
    assert first.startswith(b'HTTP/1.1 200') and b'keep-alive' in first, first
    chunk = b'y' * 65536
    for _ in range(size // len(chunk)):
        s.sendall(chunk)
    s.sendall(b'GET /p/after HTTP/1.1\r\nHost: x\r\n\r\n')
    second = read_answers(s, 1, timeout=10)
    assert second.startswith(b'HTTP/1.1 200'), second
    assert [rq.path for rq in b.requests] == ['/after']


def test_discard_answers_expect_continue(t):
    """"100 Continue" before the answer of a `return` with text or under
    400 and of a static file, none before an error page; either way the
    body that follows is dropped and the connection goes on."""
    p, b = start(t)
    cases = [(b'POST', b'/r', True), (b'POST', b'/nf', True), (b'POST', b'/rd', True),
             (b'GET', b'/f.txt', True), (b'POST', b'/bare', False),
             (b'POST', b'/deny', False), (b'GET', b'/missing', False),
             (b'POST', b'/f.txt', False)]
    for i, (method, target, cont) in enumerate(cases):
        s = connect(t, p)
        s.sendall(b'%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n'
                  b'Expect: 100-continue\r\n\r\n' % (method, target))
        first = read_answers(s, 1)
        assert first.startswith(b'HTTP/1.1 100 Continue\r\n\r\n') == cont, (target, first)
        assert first.count(b'HTTP/1.1 ') == 1 + cont, (target, first)
        s.sendall(b'0123456789GET /p/e%d HTTP/1.1\r\nHost: x\r\n\r\n' % i)
        second = read_answers(s, 1)
        assert second.startswith(b'HTTP/1.1 200'), (target, second)
    # HTTP/1.0 never gets a 100
    s = connect(t, p)
    s.sendall(b'POST /r HTTP/1.0\r\nHost: x\r\nContent-Length: 10\r\n'
              b'Expect: 100-continue\r\n\r\n')
    first = read_answers(s, 1)
    assert first.startswith(b'HTTP/1.1 200'), first


def test_discard_timeouts(t):
    """A body that stops coming: the connection ends lingering_timeout
    (1s here) after the last byte; one that trickles in slower than it
    ends: at lingering_time (3s here) in all."""
    p, b = start(t)
    s = connect(t, p)
    s.sendall(b'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
    assert read_answers(s, 1).startswith(b'HTTP/1.1 200')
    took = wait_eof(s, 10)
    assert took is not None and took >= 0.5, took
    # a byte every 0.5 s keeps each read within lingering_timeout; the
    # connection still ends by lingering_time
    s = connect(t, p)
    s.sendall(b'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
    assert read_answers(s, 1).startswith(b'HTTP/1.1 200')
    t0 = time.monotonic()
    closed = None
    for _ in range(40):
        try:
            s.sendall(b'x')
        except OSError:
            closed = time.monotonic() - t0
            break
        if wait_eof(s, 0.5) is not None:
            closed = time.monotonic() - t0
            break
    assert closed is not None and closed >= 1.5, closed


def test_discard_bad_chunk_ends_connection(t):
    """A framing error in a chunked body being dropped ends the
    connection: the request after it is never answered."""
    p, b = start(t)
    s = connect(t, p)
    s.sendall(b'POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
              b'3\r\nabc\r\n')
    first = read_answers(s, 1)
    assert first.startswith(b'HTTP/1.1 200') and b'keep-alive' in first, first
    s.sendall(b'zz\r\nGET /p/after-bad HTTP/1.1\r\nHost: x\r\n\r\n')
    assert wait_eof(s, 5) is not None
    assert '/after-bad' not in [rq.path for rq in b.requests]


def test_discard_on_cache_hit(t):
    """A cache hit for a request whose body is still coming keeps the
    connection too: the rest of the body is dropped (lbd answers first;
    nginx reads the body before the lookup), then the next request is
    answered."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_valid 200 1m;
        add_header X-Cache $upstream_cache_status;
    }
}""", b=b)
    assert p.get('/c/x').status == 200
    s = connect(t, p)
    body = b'abc' + b'z' * 2000
    s.sendall(b'GET /c/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nabc' % len(body))
    time.sleep(0.3)  # lbd answers now, nginx once the body is in
    s.sendall(body[3:] + b'GET /c/next HTTP/1.1\r\nHost: x\r\n\r\n')
    both = read_answers(s, 2)
    first, _, second = both.partition(b'HTTP/1.1 200 OK\r\n')[2].partition(b'HTTP/1.1 ')
    assert b'X-Cache: HIT' in first and b'Connection: keep-alive' in first, both
    assert second.startswith(b'200') and b'X-Cache: MISS' in second, both
    assert [rq.path for rq in b.requests] == ['/c/x', '/c/next']


def test_discard_while_answer_is_written(t):
    """A client that sends its whole body before it reads (a GET with a
    16 MiB body for a 16 MiB file): the body is dropped while the answer
    is written, so neither side waits on the other; then the connection
    serves the next request."""
    root = t.tmpdir('root-')
    size = 16 << 20
    t.write(root + '/big.bin', b'\x5a' * size)
    t.write(root + '/f.txt', 'file\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {root};
    client_max_body_size 64m;
}""", root=root)
    s = connect(t, p)
    s.settimeout(20)
    # the head and the body in one write: the read of the head fills the
    # input buffer with the body's start (the first version of this
    # reset the connection then, and its reads would have overwritten the
    # head the access log line still reads)
    s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: big-body\r\n'
              b'Content-Length: %d\r\n\r\n' % size + b'y' * size)  # stuck if nobody reads
    head, got = read_head(s)
    assert head.startswith(b'HTTP/1.1 200') and b'keep-alive' in head, head
    n = len(got)
    while n < size:
        k = s.recv(1 << 20)
        assert k, n
        n += len(k)
    assert n == size
    s.sendall(b'GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n')
    assert read_answers(s, 1).startswith(b'HTTP/1.1 200')
    # the head was intact when the answer was logged
    wait_for(lambda: '"GET /f.txt' in p.read('logs', 'access.log'), 5, what='log')
    log = p.read('logs', 'access.log')
    assert '"GET /big.bin HTTP/1.1" 200 %d ' % size in log and '"big-body"' in log, log
