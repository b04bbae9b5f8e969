# SPDX-License-Identifier: MIT
"""nginx's proxy_store and its twins: the mirror on demand of nginx's
documentation (a 404 from root goes to an internal location that fetches
the file and stores it under alias), a body of a few MiB stored as it
passes, the file's mode from proxy_store_access, its mtime from
Last-Modified, the directories made on the way; what is not stored (a cut
answer, non-200, HEAD, proxy_buffering off); a STRING name with variables;
an answer stored after its client went away; the -t errors. With them the
other leftovers of the upstream modules: fastcgi_/uwsgi_/scgi_force_ranges
and *_store at runtime, proxy_cache_max_range_offset, and
client_body_in_file_only with $request_body_file. Every case runs against
nginx 1.22 too."""

import calendar
import hashlib
import os
import socket
import stat
import struct

from harness import assert_location_t_errors, raw_server, raw_upstream, read_head, wait_for

LM = 'Wed, 21 Oct 2015 07:28:00 GMT'
LM_EPOCH = calendar.timegm((2015, 10, 21, 7, 28, 0))


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def _dirs(t):
    """A document root and a temp path the unprivileged workers may write."""
    www, tmp = t.tmpdir('www'), t.tmpdir('tmp')
    os.chmod(www, 0o777)
    os.chmod(tmp, 0o777)
    return www, tmp


def _read_when(path, size):
    """PATH's bytes once it holds SIZE of them: the file is renamed into
    place once the upstream's answer ended, which may be after the client
    read its last byte (nginx's order too)."""
    def get():
        try:
            with open(path, 'rb') as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        return [data] if len(data) == size else None
    return wait_for(get, what='%s with %d bytes' % (path, size))[0]


def _files(d):
    out = []
    for root, dirs, files in os.walk(d):
        out += [os.path.relpath(os.path.join(root, n), d) for n in dirs + files]
    return sorted(out)


def test_store_mirror_on_demand(t):
    """The documentation's config, as it is: the first request goes
    upstream and leaves the file, the next is served from disk."""
    www, tmp = _dirs(t)
    body = b'JPEGDATA' * 100
    up = raw_upstream(t, {
        b'/images/a/b.jpg': b'HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n'
                            b'Last-Modified: ' + LM.encode() + b'\r\n'
                            b'Content-Length: %d\r\n\r\n' % len(body) + body,
    })
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /images/ {
        root %s;
        error_page 404 = /fetch$uri;
    }
    location /fetch/ {
        internal;
        proxy_pass http://127.0.0.1:{up}/;
        proxy_store on;
        proxy_store_access user:rw group:rw all:r;
        proxy_temp_path %s;
        alias %s/;
    }
}""" % (www, tmp, www), up=up)
    r = p.get('/images/a/b.jpg')
    assert (r.status, r.body) == (200, body), r
    f = os.path.join(www, 'images', 'a', 'b.jpg')
    assert _read_when(f, len(body)) == body
    st = os.stat(f)
    # the mode of proxy_store_access (a chmod: no umask), the mtime of
    # Last-Modified, the directories with x where r, under the umask
    assert stat.S_IMODE(st.st_mode) == 0o664, oct(st.st_mode)
    assert st.st_mtime == LM_EPOCH, st.st_mtime
    for d in ('images', 'images/a'):
        m = stat.S_IMODE(os.stat(os.path.join(www, d)).st_mode)
        assert m == 0o775 & ~_umask(), (d, oct(m))
    assert _files(tmp) == [], _files(tmp)
    # served from the file now (a static answer: its Last-Modified is the
    # mtime the store gave it)
    r2 = p.get('/images/a/b.jpg')
    assert (r2.status, r2.body) == (200, body), r2
    assert r2.header('Last-Modified') == LM and r2.header('Content-Type') == 'image/jpeg'


def test_store_big_body(t):
    """A few MiB, through the response buffers and their temp file, stored
    whole; served from disk the second time."""
    www, tmp = _dirs(t)
    b = t.backend('b')
    n = 3 * 1024 * 1024 + 17
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /size/ {
        root %s;
        error_page 404 = /fetch$uri;
    }
    location /fetch/ {
        internal;
        proxy_pass http://127.0.0.1:{b}/;
        proxy_store on;
        proxy_temp_path %s;
        proxy_buffers 4 16k;
        alias %s/;
    }
}""" % (www, tmp, www), b=b)
    r = p.get('/size/%d' % n)
    assert r.status == 200 and len(r.body) == n, (r.status, len(r.body))
    f = os.path.join(www, 'size', str(n))
    assert hashlib.sha256(_read_when(f, n)).digest() == hashlib.sha256(r.body).digest()
    # proxy_store_access's default: user:rw; directories 0700
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(www, 'size')).st_mode) == 0o700 & ~_umask()
    assert b.count() == 1
    r2 = p.get('/size/%d' % n)
    assert r2.status == 200 and r2.body == r.body
    assert b.count() == 1
    assert _files(tmp) == [], _files(tmp)


def test_store_what_is_stored(t):
    """Stored: a close-delimited answer, a chunked one (decoded), an empty
    one, a Last-Modified nginx cannot read (the mtime is now). Not stored:
    an answer cut short (its Content-Length not reached, or its chunks),
    a 404, a HEAD, an unbuffered answer, a bad Last-Modified aside."""
    www, tmp = _dirs(t)
    up = raw_upstream(t, {
        b'/short': b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + b'x' * 500,
        b'/close': b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' + b'y' * 500,
        b'/chunked': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                     b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
        b'/cutchunk': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
        b'/empty': b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
        b'/badlm': b'HTTP/1.1 200 OK\r\nLast-Modified: garbage\r\nContent-Length: 3\r\n\r\nabc',
        b'/nf': b'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnf!',
        b'/head': b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n',
        b'/nobuf': b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc',
        b'/xab': b'HTTP/1.1 200 OK\r\nX-Accel-Buffering: no\r\nContent-Length: 3\r\n\r\nabc',
    })
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_temp_path %s;
    location /s/ {
        proxy_pass http://127.0.0.1:{up}/;
        proxy_store %s/got$uri;
    }
    location /s/nobuf {
        proxy_pass http://127.0.0.1:{up}/nobuf;
        proxy_store %s/got$uri;
        proxy_buffering off;
    }
}""" % (tmp, www, www), up=up)
    for path in ('/s/close', '/s/chunked', '/s/empty', '/s/badlm', '/s/nf', '/s/nobuf', '/s/xab'):
        r = p.get(path)
        assert r.status in (200, 404), (path, r)
    for path in ('/s/short', '/s/cutchunk'):
        try:
            p.get(path)
        except (ConnectionError, OSError):
            pass
    assert p.req('HEAD', '/s/head').status == 200
    wait_for(lambda: [ln for ln in p.logs_text().splitlines()
                      if 'prematurely' in ln and '/s/cutchunk' in ln], what='the cut')
    got = os.path.join(www, 'got', 's')
    assert _read_when(os.path.join(got, 'chunked'), 11) == b'hello world'
    _read_when(os.path.join(got, 'close'), 500)
    _read_when(os.path.join(got, 'badlm'), 3)
    _read_when(os.path.join(got, 'empty'), 0)
    assert _files(www) == ['got', 'got/s', 'got/s/badlm', 'got/s/chunked', 'got/s/close',
                           'got/s/empty'], _files(www)
    assert _files(tmp) == [], _files(tmp)


def test_store_rename_fails(t):
    """A name whose directory cannot be made: the answer goes out, nothing
    is left in the temp path, and nginx's crit line names the directory."""
    www, tmp = _dirs(t)
    up = raw_upstream(t, b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{up};
        proxy_store /proc/self/nope$uri;
        proxy_temp_path %s;
    }
}""" % tmp, up=up)
    r = p.get('/x')
    assert (r.status, r.body) == (200, b'abc')
    log = wait_for(lambda: [ln for ln in p.logs_text().splitlines() if 'mkdir() "' in ln],
                   what='the mkdir line')
    assert '[crit]' in log[0] and 'mkdir() "/proc/self/nope" failed (2: ' in log[0], log
    assert 'rename()' not in p.logs_text()
    assert _files(tmp) == []


def test_store_t_errors(t):
    assert_location_t_errors(t, [
        ('proxy_store on; proxy_store off;', '"proxy_store" directive is duplicate'),
        ('proxy_store_access user:rw; proxy_store_access user:r;',
         '"proxy_store_access" directive is duplicate'),
        ('proxy_store_access user:rx;', 'invalid value "user:rx"'),
        ('proxy_store_access bogus;', 'invalid value "bogus"'),
        ('proxy_store_access user:;', 'invalid value "user:"'),
        ('fastcgi_store_access all:q;', 'invalid value "all:q"'),
        ('uwsgi_store on; uwsgi_store on;', '"uwsgi_store" directive is duplicate'),
    ])
    assert_location_t_errors(t, [
        ('proxy_store on; proxy_cache c;',
         '"proxy_cache" directive is incompatible with "proxy_store"'),
        ('proxy_cache c; proxy_store on;',
         '"proxy_store" directive is incompatible with "proxy_cache"'),
        ('fastcgi_cache f; fastcgi_store /x$uri;',
         '"fastcgi_store" directive is incompatible with "fastcgi_cache"'),
        ('scgi_store on; scgi_cache f;',
         '"scgi_cache" directive is incompatible with "scgi_store"'),
    ], http="""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
fastcgi_cache_path {prefix}/fcache keys_zone=f:1m;""")
    # these are fine: several parts, group/all without user (user:rw added)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_store_access group:rw all:r;
        fastcgi_store_access user:r;
        uwsgi_store off;
        scgi_store /data$uri;
        proxy_store "";
        proxy_cache off;
    }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stdout + res.stderr


def _scgi_raw(t, answer):
    """A raw SCGI server: reads the netstring and the body, writes ANSWER."""
    def handle(s):
        buf = b''
        while b':' not in buf:
            buf += s.recv(1)
        n = int(buf[:-1])
        head = b''
        while len(head) < n + 1:
            head += s.recv(n + 1 - len(head))
        parts = head[:-1].split(b'\0')
        env = dict(zip(parts[0::2], parts[1::2]))
        left = int(env.get(b'CONTENT_LENGTH', b'0') or 0)
        while left > 0:
            left -= len(s.recv(left))
        s.sendall(answer)
    return raw_server(t, handle)


def test_force_ranges_and_store_twins(t):
    """fastcgi_force_ranges, uwsgi_force_ranges and scgi_force_ranges as
    proxy_force_ranges (a Range on an answer without Accept-Ranges gets a
    206); fastcgi_store, uwsgi_store, scgi_store store their answers."""
    from test_fastcgi import PhpFpm, site
    from test_uwsgi import raw_uwsgi
    www, tmp = _dirs(t)
    root = site(t)
    fpm = PhpFpm(t, root)
    uw, _ = raw_uwsgi(t, b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789')
    sc = _scgi_raw(t, b'Status: 200 OK\r\nContent-Length: 10\r\n\r\nabcdefghij')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    location ~ ^/f(/.*\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:%d;
        fastcgi_force_ranges on;
        fastcgi_store %s/f$1;
        fastcgi_store_access user:rw all:r;
    }
    location /nf/ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root/big.php;
        fastcgi_pass 127.0.0.1:%d;
    }
    location /u/ {
        include /etc/nginx/uwsgi_params;
        uwsgi_pass 127.0.0.1:{uw};
        uwsgi_force_ranges on;
        uwsgi_store %s$uri;
    }
    location /s/ {
        include /etc/nginx/scgi_params;
        scgi_pass 127.0.0.1:{sc};
        scgi_force_ranges on;
        scgi_store %s$uri;
    }
    location /s0/ {
        include /etc/nginx/scgi_params;
        scgi_pass 127.0.0.1:{sc};
    }
}""" % (root, tmp, tmp, tmp, fpm.port, www, fpm.port, www, www), uw=uw, sc=sc)
    rng = {'Range': 'bytes=2-5'}
    r = p.get('/f/big.php?n=100&cl=1', headers=rng)
    assert r.status == 206 and len(r.body) == 4, r
    assert r.header('Content-Range') == 'bytes 2-5/100', r
    r = p.get('/nf/x?n=100&cl=1', headers=rng)
    assert r.status == 200 and len(r.body) == 100, r
    r = p.get('/u/x', headers=rng)
    assert (r.status, r.body, r.header('Content-Range')) == (206, b'2345', 'bytes 2-5/10'), r
    r = p.get('/s/y', headers=rng)
    assert (r.status, r.body, r.header('Content-Range')) == (206, b'cdef', 'bytes 2-5/10'), r
    r = p.get('/s0/y', headers=rng)
    assert (r.status, r.body) == (200, b'abcdefghij'), r
    # the stores: the whole answer, whatever range the client took
    r = p.get('/f/big.php?n=300&cl=1')
    assert r.status == 200 and len(r.body) == 300
    got = os.path.join(www, 'f', 'big.php')
    assert _read_when(got, 300) == r.body
    assert stat.S_IMODE(os.stat(got).st_mode) == 0o604
    assert _read_when(os.path.join(www, 'u', 'x'), 10) == b'0123456789'
    assert _read_when(os.path.join(www, 's', 'y'), 10) == b'abcdefghij'
    assert _files(tmp) == [], _files(tmp)


def _range_upstream(t, seen):
    """An upstream that answers a Range with its own 206 (a body that says
    so) and anything else with the whole 4000 bytes; SEEN gets each
    request's (path, Range or None)."""
    full = bytes(range(256)) * 15 + bytes(range(160))

    def handle(s):
        buf, rest = read_head(s, chunk=4096, eof_ok=True)
        if rest is None:
            return
        lines = buf.split(b'\r\n')
        path = lines[0].split(b' ')[1].decode()
        rng = None
        for ln in lines[1:]:
            if ln.lower().startswith(b'range:'):
                rng = ln.split(b':', 1)[1].strip().decode()
        seen.append((path, rng))
        if rng:
            body = b'upstream partial'
            s.sendall(b'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-15/4000\r\n'
                      b'Cache-Control: max-age=600\r\nContent-Length: %d\r\n'
                      b'Connection: close\r\n\r\n' % len(body) + body)
        else:
            s.sendall(b'HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nAccept-Ranges: bytes\r\n'
                      b'Content-Length: %d\r\nConnection: close\r\n\r\n' % len(full) + full)
    return raw_server(t, handle), full


def test_cache_max_range_offset(t):
    """proxy_cache_max_range_offset N: on a miss, a Range whose first
    offset is N or more (or a suffix range) goes to the upstream with its
    Range and the answer is not stored; a smaller one is a MISS stored as
    before (the upstream asked without the Range); a hit serves any range.
    0: every range of a miss."""
    seen = []
    up, full = _range_upstream(t, seen)
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    add_header X-Cache "[$upstream_cache_status]" always;
    location / {
        proxy_pass http://127.0.0.1:{up};
        proxy_cache c;
        proxy_cache_max_range_offset 1000;
    }
    location /zero/ {
        proxy_pass http://127.0.0.1:{up};
        proxy_cache c;
        proxy_cache_max_range_offset 0;
    }
}""", up=up)
    # a miss past the offset: the Range goes upstream, nothing is stored
    r = p.get('/a', headers={'Range': 'bytes=2000-2003'})
    assert (r.status, r.body, r.header('X-Cache')) == (206, b'upstream partial', '[MISS]'), r
    assert seen[-1] == ('/a', 'bytes=2000-2003'), seen
    r = p.get('/a', headers={'Range': 'bytes=10-13'})
    assert (r.status, r.body, r.header('X-Cache')) == (206, full[10:14], '[MISS]'), r
    assert seen[-1] == ('/a', None), seen
    # once stored, any range is a hit (the check is a miss's only)
    n = len(seen)
    r = p.get('/a', headers={'Range': 'bytes=2000-2003'})
    assert (r.status, r.body, r.header('X-Cache')) == (206, full[2000:2004], '[HIT]'), r
    assert len(seen) == n
    r = p.get('/b', headers={'Range': 'bytes=1000-'})
    assert (r.status, r.body) == (206, b'upstream partial'), r
    assert seen[-1] == ('/b', 'bytes=1000-'), seen
    r = p.get('/b', headers={'Range': 'bytes=-5'})
    assert (r.status, r.body) == (206, b'upstream partial'), r
    assert seen[-1] == ('/b', 'bytes=-5'), seen
    r = p.get('/b', headers={'Range': 'bytes=999-999'})
    assert (r.status, r.body, r.header('X-Cache')) == (206, full[999:1000], '[MISS]'), r
    assert seen[-1] == ('/b', None), seen
    r = p.get('/b')
    assert (r.status, r.header('X-Cache')) == (200, '[HIT]'), r
    n = len(seen)
    r = p.get('/zero/x', headers={'Range': 'bytes=0-1'})
    assert (r.status, r.body) == (206, b'upstream partial'), r
    assert seen[-1] == ('/zero/x', 'bytes=0-1') and len(seen) == n + 1, seen
    r = p.get('/zero/x')
    assert (r.status, r.header('X-Cache')) == (200, '[MISS]'), r


def test_client_body_in_file_only(t):
    """client_body_in_file_only on: the body goes to a named file in
    client_body_temp_path ($request_body_file), logged at notice, and stays
    after the request (0600); `clean` removes it; the upload-offloading
    config (proxy_pass_request_body off) reads it all the same; an empty
    body makes no file; $request_body is empty for a body in a file;
    client_body_in_single_buffer is accepted ($request_body as without)."""
    tmp = t.tmpdir('tmp')
    os.chmod(tmp, 0o777)
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    client_body_temp_path %s;
    location /on {
        client_body_in_file_only on;
        proxy_set_header X-File $request_body_file;
        proxy_set_header X-Body "[$request_body]";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_pass http://127.0.0.1:{b};
    }
    location /clean {
        client_body_in_file_only clean;
        proxy_set_header X-File $request_body_file;
        proxy_pass http://127.0.0.1:{b};
    }
    location /sb {
        client_body_in_single_buffer on;
        proxy_set_header X-Body "[$request_body]";
        proxy_pass http://127.0.0.1:{b};
    }
    location /ret {
        client_body_in_file_only on;
        return 200 "[$request_body_file]";
    }
}""" % tmp, b=b)

    def sent(r):
        j = r.json()
        return dict((k.lower(), v) for k, v in j['headers']), j['body_len']

    r = p.req('POST', '/on', body=b'hello')
    h, n = sent(r)
    f = h.get('x-file')
    assert r.status == 200 and f and os.path.dirname(f) == tmp, h
    assert (n, h.get('x-body')) == (0, '[]'), (n, h)
    with open(f, 'rb') as fh:
        assert fh.read() == b'hello'
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    wait_for(lambda: 'a client request body is buffered to a temporary file %s' % f
             in p.logs_text(), what='the notice')
    line = [ln for ln in p.logs_text().splitlines() if f in ln][0]
    assert '[notice]' in line and 'request: "POST /on HTTP/1.1"' in line, line
    # an empty body: no file
    r = p.req('POST', '/on', body=b'')
    h, n = sent(r)
    assert r.status == 200 and 'x-file' not in h, h
    # clean: passed on from the file, then removed
    big = bytes(range(256)) * 400
    r = p.req('POST', '/clean', body=big)
    h, n = sent(r)
    f2 = h.get('x-file')
    assert n == len(big) and f2 and os.path.dirname(f2) == tmp, h
    wait_for(lambda: not os.path.exists(f2), what='the clean file gone')
    assert os.path.exists(f)
    r = p.req('POST', '/sb', body=b'abc')
    h, n = sent(r)
    assert (n, h.get('x-body')) == (3, '[abc]'), h
    # not read by `return`: no file
    r = p.req('POST', '/ret', body=b'abc')
    assert (r.status, r.body) == (200, b'[]')
    assert sorted(os.listdir(tmp)) == [os.path.basename(f)], os.listdir(tmp)


def test_store_client_gone(t):
    """A client that goes away mid-answer: the upstream's answer is still
    read to its end and stored, as nginx reads it for the file."""
    www, tmp = _dirs(t)
    b = t.backend('b')
    n = 4 * 1024 * 1024
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /size/ {
        proxy_pass http://127.0.0.1:{b};
        proxy_store %s$uri;
        proxy_temp_path %s;
        proxy_buffers 4 8k;
        proxy_max_temp_file_size 0;
    }
}""" % (www, tmp), b=b)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: localhost\r\n\r\n' % n)
    got = s.recv(4096)
    assert got.startswith(b'HTTP/1.1 200'), got[:100]
    # gone with most of the answer unread: the close sends a reset
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    f = os.path.join(www, 'size', str(n))
    data = _read_when(f, n)
    assert data == (b'0123456789abcdef' * 64 * (n // 1024 + 1))[:n]
    wait_for(lambda: _files(tmp) == [], what='the temp path empty')
