# SPDX-License-Identifier: MIT
"""Byte ranges and conditional requests as nginx 1.22 has them (its range
and not_modified filters) on static files and proxy cache hits: single,
suffix, open, clipped, unsatisfiable (416 with `bytes */LEN`), invalid
and multiple ranges (multipart/byteranges, checked byte for byte apart
from the boundary value), If-Range with entity tags and dates, max_ranges
0 and 1, HEAD, a 64 MiB file read from the middle, HTTP/2, cache HITs
(with and without the upstream's Accept-Ranges, proxy_force_ranges),
STALE and REVALIDATED answers, a MISS cut to one range, an empty cached
answer (Accept-Ranges on the MISS and the HIT), the Range passed
through to an uncached upstream and its 206 relayed, and
304/412 for static files (If-None-Match and If-Match lists,
If-Unmodified-Since, if_modified_since exact/before/off)."""

import hashlib
import os
import re
import time

from harness import Conn

DATA = bytes(range(256)) * 3 + b'0123456789' * 23 + b'!!'   # 1000 bytes
LEN = len(DATA)
assert LEN == 1000


def _lm(path):
    return time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(os.stat(path).st_mtime))


def _static(t, extra_loc=''):
    root = t.tmpdir('rng-')
    f = t.write(os.path.join(root, 'f.bin'), DATA)
    t.write(os.path.join(root, 'page.html'), DATA)
    os.utime(f, (1700000000, 1700000000))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location / { %s }
    location /m0/ { alias %s/; max_ranges 0; }
    location /m1/ { alias %s/; max_ranges 1; }
    location /b/ { alias %s/; if_modified_since before; }
    location /o/ { alias %s/; if_modified_since off; }
}""" % (root, extra_loc, root, root, root, root))
    return p, root, f


def _rng(p, rng, path='/f.bin', method='GET', **hdrs):
    h = {'Range': rng} if rng is not None else {}
    h.update({k.replace('_', '-'): v for k, v in hdrs.items()})
    return p.req(method, path, headers=h)


def _whole(r):
    assert r.status == 200, r
    assert r.body == DATA
    assert r.header('Content-Length') == str(LEN), r.headers
    assert r.header('Content-Range') is None, r.headers


def _part(r, start, end, total=LEN, data=DATA):
    """A 206 of bytes [start, end] (inclusive)."""
    assert r.status == 206, (r, r.headers)
    assert r.header('Content-Range') == 'bytes %d-%d/%d' % (start, end, total), r.headers
    assert r.header('Content-Length') == str(end - start + 1), r.headers
    assert r.header('Accept-Ranges') is None, r.headers
    assert r.body == data[start:end + 1]


def _multipart(r, parts, ctype, total=LEN, data=DATA):
    """A multipart/byteranges 206 with PARTS [(start, end)], formatted as
    nginx does it (the boundary value aside)."""
    assert r.status == 206, (r, r.headers)
    m = re.fullmatch(r'multipart/byteranges; boundary=(\d{20})', r.header('Content-Type') or '')
    assert m, r.headers
    b = m.group(1).encode()
    want = b''
    for s, e in parts:
        want += b'\r\n--' + b + b'\r\n'
        if ctype:
            want += b'Content-Type: ' + ctype.encode() + b'\r\n'
        want += b'Content-Range: bytes %d-%d/%d\r\n\r\n' % (s, e, total)
        want += data[s:e + 1]
    want += b'\r\n--' + b + b'--\r\n'
    assert r.body == want, (r.body[:300], want[:300])
    assert r.header('Content-Length') == str(len(want)), r.headers
    assert r.header('Content-Range') is None, r.headers


def _416(r, total=LEN):
    assert r.status == 416, r
    assert r.header('Content-Range') == 'bytes */%d' % total, r.headers


def test_ranges_static_single(t):
    p, root, f = _static(t)
    r = _rng(p, None)
    _whole(r)
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    _part(_rng(p, 'bytes=0-99'), 0, 99)
    _part(_rng(p, 'bytes=100-100'), 100, 100)
    _part(_rng(p, 'bytes=-100'), 900, 999)
    _part(_rng(p, 'bytes=-5000'), 0, 999)
    _part(_rng(p, 'bytes=990-'), 990, 999)
    _part(_rng(p, 'bytes=990-5000'), 990, 999)
    _part(_rng(p, 'Bytes=5-9'), 5, 9)
    _part(_rng(p, 'bytes= 5 - 9 '), 5, 9)
    _part(_rng(p, 'bytes=0-'), 0, 999)
    # the 206 keeps the entity's validators and type
    r = _rng(p, 'bytes=1-2')
    assert r.header('ETag') and r.header('Last-Modified') == _lm(f), r.headers
    assert r.header('Content-Type') == 'text/plain', r.headers
    r = _rng(p, 'bytes=1-2', path='/page.html')
    assert r.header('Content-Type') == 'text/html' and r.body == DATA[1:3], r.headers


def test_ranges_static_unsatisfiable_and_invalid(t):
    p, root, f = _static(t)
    for v in ('bytes=1000-', 'bytes=1000-2000', 'bytes=-0', 'bytes=5-1',
              'bytes=1000-1001,2000-', 'bytes=abc', 'bytes=1-2,', 'bytes=1-2 x',
              'bytes=--1', 'bytes=1-2;3-4', 'bytes=99999999999999999999-',
              'bytes=0-99999999999999999999', 'bytes=,0-1'):
        r = _rng(p, v)
        assert r.status == 416, (v, r)
        _416(r)
        assert r.header('Accept-Ranges') is None, (v, r.headers)
        assert r.header('Content-Type') == 'text/html', (v, r.headers)
        assert b'416' in r.body, (v, r.body)
    # not "bytes=": the whole file
    for v in ('items=0-1', 'bytes 0-1', 'bytes=', 'bytes= ', 'bytes0-1', '0-1'):
        r = _rng(p, v)
        _whole(r)
        assert r.header('Accept-Ranges') == 'bytes', (v, r.headers)
    # ranges adding up to more than the file: the whole file
    _whole(_rng(p, 'bytes=0-599,400-999'))
    _whole(_rng(p, 'bytes=0-,0-'))
    # an unsatisfiable range beside good ones is dropped
    _part(_rng(p, 'bytes=2000-3000,5-6'), 5, 6)
    # a HEAD asking for nothing the file has
    _416(_rng(p, 'bytes=1000-', method='HEAD'))


def test_ranges_static_multipart(t):
    p, root, f = _static(t)
    _multipart(_rng(p, 'bytes=0-0,-1'), [(0, 0), (999, 999)], 'text/plain')
    _multipart(_rng(p, 'bytes=10-19, 500-, 0-4'), [(10, 19), (500, 999), (0, 4)],
               'text/plain')
    # overlapping parts within the length are sent as asked
    _multipart(_rng(p, 'bytes=0-9,5-14'), [(0, 9), (5, 14)], 'text/plain')
    # a part past the end is dropped, the rest stays multipart
    _multipart(_rng(p, 'bytes=0-1,2000-,3-4'), [(0, 1), (3, 4)], 'text/plain')
    _multipart(_rng(p, 'bytes=1-2,7-8', path='/page.html'), [(1, 2), (7, 8)], 'text/html')
    # 50 parts
    parts = [(i * 20, i * 20 + 9) for i in range(50)]
    _multipart(_rng(p, 'bytes=' + ','.join('%d-%d' % x for x in parts)), parts,
               'text/plain')
    # HEAD: the 206 head with the multipart length, no body
    r = _rng(p, 'bytes=0-0,-1', method='HEAD')
    assert r.status == 206 and r.body == b'', r
    assert r.header('Content-Type').startswith('multipart/byteranges; boundary='), r.headers
    g = _rng(p, 'bytes=0-0,-1')
    assert r.header('Content-Length') == g.header('Content-Length'), (r.headers, g.headers)
    # keep-alive: two multipart answers on one connection
    with Conn(p.port) as c:
        for _ in range(2):
            r = c.request('GET', '/f.bin', headers={'Range': 'bytes=0-1,3-4'})
            _multipart(r, [(0, 1), (3, 4)], 'text/plain')
        _whole(c.request('GET', '/f.bin'))


def test_ranges_static_head(t):
    p, root, f = _static(t)
    r = _rng(p, 'bytes=10-29', method='HEAD')
    assert r.status == 206 and r.body == b'', r
    assert r.header('Content-Range') == 'bytes 10-29/1000', r.headers
    assert r.header('Content-Length') == '20', r.headers


def test_ranges_if_range(t):
    p, root, f = _static(t)
    etag = _rng(p, None).header('ETag')
    lm = _lm(f)
    assert etag and etag.startswith('"'), etag
    _part(_rng(p, 'bytes=0-9', If_Range=etag), 0, 9)
    _part(_rng(p, 'bytes=0-9', If_Range=lm), 0, 9)
    _multipart(_rng(p, 'bytes=0-0,2-2', If_Range=etag), [(0, 0), (2, 2)],
               'text/plain')
    for stale in ('"other"', 'W/' + etag, etag[:-2] + '0"', 'Tue, 14 Nov 2023 22:13:21 GMT',
                  'Tue, 14 Nov 2023 22:13:19 GMT', 'garbage', '"'):
        r = _rng(p, 'bytes=0-9', If_Range=stale)
        _whole(r)
        assert r.header('Accept-Ranges') == 'bytes', (stale, r.headers)
    # a stale If-Range also turns an unsatisfiable range into the whole file
    _whole(_rng(p, 'bytes=5000-', If_Range='"other"'))
    # If-Range without Range: nothing to do
    _whole(_rng(p, None, If_Range='"other"'))


def test_ranges_max_ranges(t):
    p, root, f = _static(t)
    # 0: no ranges at all, and none advertised
    r = _rng(p, 'bytes=0-9', path='/m0/f.bin')
    _whole(r)
    assert r.header('Accept-Ranges') is None, r.headers
    r = _rng(p, None, path='/m0/f.bin')
    assert r.header('Accept-Ranges') is None, r.headers
    _whole(_rng(p, 'bytes=5000-', path='/m0/f.bin'))
    # 1: one range is fine, two get the whole file
    _part(_rng(p, 'bytes=0-9', path='/m1/f.bin'), 0, 9)
    r = _rng(p, 'bytes=0-9,20-29', path='/m1/f.bin')
    _whole(r)
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    _part(_rng(p, 'bytes=0-9,5000-', path='/m1/f.bin'), 0, 9)
    _416(_rng(p, 'bytes=5000-', path='/m1/f.bin'))


def test_ranges_max_ranges_config(t):
    p = t.proxy("""
max_ranges 2;
server {
    listen 127.0.0.1:{port};
    max_ranges 1;
    location / { return 200 "x"; }
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    p.write_conf(http="""
server {
    listen 127.0.0.1:{port};
    location / { max_ranges -1; }
}""")
    r = p.run('-t')
    line = 1 + p.read('conf', 'nginx.conf').split('max_ranges -1')[0].count('\n')
    assert '"max_ranges" directive invalid number in %s:%d' % (p.conf_path, line) \
        in r.stderr, r.stderr


def test_ranges_gzip_not_ranged(t):
    """A response compressed on the fly has no length to cut: the whole
    gzipped answer, without Accept-Ranges; without Accept-Encoding the
    same file is ranged."""
    body = b'hello world, ' * 400
    root = t.tmpdir('rngz-')
    t.write(os.path.join(root, 'a.txt'), body)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    gzip on;
    gzip_types text/plain;
}""" % root)
    r = p.get('/a.txt', headers={'Range': 'bytes=0-9', 'Accept-Encoding': 'gzip'})
    assert r.status == 200 and r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Accept-Ranges') is None and r.header('Content-Range') is None
    r = p.get('/a.txt', headers={'Range': 'bytes=0-9'})
    assert (r.status, r.body) == (206, body[:10]), r


def test_ranges_big_file_middle(t):
    """64 MiB: a slice from the middle and a 40 MB range are byte-exact
    (sendfile from the offset), and two parts far apart."""
    root = t.tmpdir('rngbig-')
    data = os.urandom(1 << 20) * 64
    t.write(os.path.join(root, 'big.bin'), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
}""" % root)
    mid = 32 << 20
    r = p.get('/big.bin', headers={'Range': 'bytes=%d-%d' % (mid + 7, mid + 65536 + 6)})
    _part(r, mid + 7, mid + 65536 + 6, total=len(data), data=data)
    # a 40 MB answer read by Python: generous on a loaded machine
    r = p.get('/big.bin', headers={'Range': 'bytes=10000000-49999999'}, timeout=60)
    assert r.status == 206 and len(r.body) == 40000000, r
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(data[10000000:50000000]).digest()
    r = p.get('/big.bin', headers={'Range': 'bytes=1-3,%d-%d,-2' % (mid, mid + 99999)})
    _multipart(r, [(1, 3), (mid, mid + 99999), (len(data) - 2, len(data) - 1)],
               'text/plain', total=len(data), data=data)


def test_ranges_h2(t):
    """HTTP/2 (h2c, prior knowledge): a single range and a multipart answer
    with the right lengths, a 416."""
    from test_h2 import curl_h2
    root = t.tmpdir('rngh2-')
    data = os.urandom(300000)
    t.write(os.path.join(root, 'x.bin'), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
}""" % root)
    base = 'http://127.0.0.1:%d/x.bin' % p.port
    ver, code, head, body = curl_h2(base, ['-H', 'Range: bytes=1000-200999'], prior=True)
    assert (ver, code) == ('2', 206), (ver, code, head)
    assert re.search(r'(?im)^content-range: bytes 1000-200999/300000\r?$', head), head
    assert re.search(r'(?im)^content-length: 200000\r?$', head), head
    assert body == data[1000:201000]
    ver, code, head, body = curl_h2(base, ['-H', 'Range: bytes=0-1,-2'], prior=True)
    assert (ver, code) == ('2', 206), (ver, code, head)
    m = re.search(r'(?im)^content-type: multipart/byteranges; boundary=(\d{20})\r?$', head)
    assert m, head
    cl = re.search(r'(?im)^content-length: (\d+)\r?$', head)
    assert cl and int(cl.group(1)) == len(body), (head, len(body))
    b = m.group(1).encode()
    want = (b'\r\n--%s\r\nContent-Type: text/plain\r\n'
            b'Content-Range: bytes 0-1/300000\r\n\r\n%s'
            b'\r\n--%s\r\nContent-Type: text/plain\r\n'
            b'Content-Range: bytes 299998-299999/300000\r\n\r\n%s'
            b'\r\n--%s--\r\n') % (b, data[:2], b, data[-2:], b)
    assert body == want
    ver, code, head, body = curl_h2(base, ['-H', 'Range: bytes=300000-'], prior=True)
    assert code == 416 and re.search(r'(?im)^content-range: bytes \*/300000\r?$', head), head


# ---- conditional requests on static files ----


def test_static_conditional_304_412(t):
    p, root, f = _static(t)
    r0 = _rng(p, None)
    etag, lm = r0.header('ETag'), _lm(f)
    assert r0.header('Last-Modified') == lm

    def st(path='/f.bin', **h):
        return _rng(p, None, path=path, **h).status

    r = _rng(p, None, If_None_Match=etag)
    assert (r.status, r.body) == (304, b''), r
    assert r.header('ETag') == etag and r.header('Last-Modified') == lm, r.headers
    assert r.header('Content-Length') is None and r.header('Content-Type') is None, r.headers
    assert r.header('Accept-Ranges') is None, r.headers
    for inm, want in (('"x", ' + etag, 304), ('"x",' + etag, 304), ('W/' + etag, 304),
                      ('*', 304), ('"x"', 200), (etag[:-1] + 'x"', 200), ('"x", W/"y"', 200)):
        assert st(If_None_Match=inm) == want, inm
    assert _rng(p, None, method='HEAD', If_None_Match=etag).status == 304
    # If-Modified-Since: exact by default
    assert st(If_Modified_Since=lm) == 304
    assert st(If_Modified_Since='Tue, 14 Nov 2023 22:13:21 GMT') == 200
    assert st(If_Modified_Since='Tue, 14 Nov 2023 22:13:19 GMT') == 200
    assert st(If_Modified_Since='Tuesday, 14-Nov-23 22:13:20 GMT') == 304
    assert st(If_Modified_Since='garbage') == 200
    # both: both must hold
    assert st(If_Modified_Since=lm, If_None_Match='"x"') == 200
    assert st(If_Modified_Since=lm, If_None_Match=etag) == 304
    # before / off
    assert st('/b/f.bin', If_Modified_Since='Tue, 14 Nov 2023 22:13:21 GMT') == 304
    assert st('/b/f.bin', If_Modified_Since='Tue, 14 Nov 2023 22:13:19 GMT') == 200
    assert st('/o/f.bin', If_Modified_Since=lm) == 200
    assert st('/o/f.bin', If_None_Match=etag) == 304
    # If-Match (strong) and If-Unmodified-Since
    r = _rng(p, None, If_Match='"x"')
    assert r.status == 412 and b'412' in r.body, r
    for im, want in (('"x", ' + etag, 200), (etag, 200), ('*', 200), ('W/' + etag, 412)):
        assert st(If_Match=im) == want, im
    assert st(If_Unmodified_Since='Tue, 14 Nov 2023 22:13:19 GMT') == 412
    assert st(If_Unmodified_Since=lm) == 200
    assert st(If_Unmodified_Since='Tue, 14 Nov 2023 22:13:21 GMT') == 200
    assert st(If_Unmodified_Since='garbage') == 412
    # conditions come before ranges
    assert _rng(p, 'bytes=0-1', If_None_Match=etag).status == 304
    assert _rng(p, 'bytes=0-1', If_Match='"x"').status == 412
    _part(_rng(p, 'bytes=0-1', If_Match=etag), 0, 1)


# ---- proxy cache ----


def _cache(t, b, extra=''):
    return t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    add_header X-Cache $upstream_cache_status always;
    proxy_cache c;
    proxy_cache_valid 200 10m;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /f/ { proxy_pass http://127.0.0.1:{b}/; proxy_force_ranges on; }
    location /m1/ { proxy_pass http://127.0.0.1:{b}/; max_ranges 1; }
    location /nc/ { proxy_pass http://127.0.0.1:{b}/; proxy_cache off; }
    location /ncf/ { proxy_pass http://127.0.0.1:{b}/; proxy_cache off; proxy_force_ranges on; }
    %s
}""" % extra, b=b)


def test_ranges_cache_hit(t):
    """A cached 200 that came with Accept-Ranges: a HIT answers ranges (one
    part and multipart) from the entry; the upstream saw no Range."""
    b = t.backend('b')
    p = _cache(t, b)
    u = '/headers?Accept-Ranges=bytes&ETag=%22v1%22'
    whole = p.get(u, headers={'Range': 'bytes=0-9'})
    assert whole.header('X-Cache') == 'MISS', whole.headers
    assert b.last().header('Range') is None
    r = p.get(u)
    assert (r.status, r.header('X-Cache')) == (200, 'HIT'), r
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    body = r.body
    n = len(body)
    r = p.get(u, headers={'Range': 'bytes=5-14'})
    assert r.header('X-Cache') == 'HIT', r.headers
    _part(r, 5, 14, total=n, data=body)
    assert r.header('Content-Type') == 'application/json' and r.header('ETag') == '"v1"'
    r = p.get(u, headers={'Range': 'bytes=-3'})
    _part(r, n - 3, n - 1, total=n, data=body)
    r = p.get(u, headers={'Range': 'bytes=0-1,4-5'})
    _multipart(r, [(0, 1), (4, 5)], 'application/json', total=n, data=body)
    _416(p.get(u, headers={'Range': 'bytes=%d-' % n}), total=n)
    _part(p.get(u, headers={'Range': 'bytes=0-1', 'If-Range': '"v1"'}), 0, 1, total=n, data=body)
    r = p.get(u, headers={'Range': 'bytes=0-1', 'If-Range': '"v2"'})
    assert (r.status, r.body) == (200, body), r
    r = p.req('HEAD', u, headers={'Range': 'bytes=0-1'})
    assert (r.status, r.body, r.header('Content-Length')) == (206, b'', '2'), r
    # max_ranges 1 on a hit
    um = '/m1' + u + '&m'  # (the default key holds the URI sent upstream)
    p.get(um)
    r = p.get(um, headers={'Range': 'bytes=0-1,4-5'})
    assert (r.status, r.header('X-Cache')) == (200, 'HIT'), r
    assert b.count() == 2, b.paths()


def test_ranges_cache_hit_without_accept_ranges(t):
    """nginx ranges a cached answer only when the upstream said
    Accept-Ranges (or proxy_force_ranges is on)."""
    b = t.backend('b')
    p = _cache(t, b)
    u = '/size/3000'
    assert p.get(u).header('X-Cache') == 'MISS'
    r = p.get(u, headers={'Range': 'bytes=0-9'})
    assert (r.status, r.header('X-Cache')) == (200, 'HIT'), r
    assert len(r.body) == 3000 and r.header('Accept-Ranges') is None, r.headers
    uf = '/f' + u + '?f'
    r = p.get(uf)
    assert r.header('X-Cache') == 'MISS', (r, r.headers)
    r = p.get(uf, headers={'Range': 'bytes=10-19'})
    assert r.header('X-Cache') == 'HIT', r.headers
    full = p.get(uf).body
    _part(r, 10, 19, total=3000, data=full)


def test_ranges_proxied_pass_through(t):
    """Without a cache the Range goes to the upstream and its 206 comes back
    as it is; a 200 answer to a Range is relayed whole."""
    b = t.backend('b')
    p = _cache(t, b)
    r = p.get('/nc/status/206?Content-Range=bytes%200-1/10', headers={'Range': 'bytes=0-1'})
    assert r.status == 206 and r.header('Content-Range') == 'bytes 0-1/10', r
    assert b.last().header('Range') == 'bytes=0-1'
    r = p.get('/nc/size/100', headers={'Range': 'bytes=0-1', 'If-Range': '"x"'})
    assert (r.status, len(r.body)) == (200, 100), r
    assert b.last().header('Range') == 'bytes=0-1' and b.last().header('If-Range') == '"x"'
    # proxy_force_ranges: a 200 to a Range is cut here (one range)
    r = p.get('/ncf/size/100', headers={'Range': 'bytes=10-19'})
    assert b.last().header('Range') == 'bytes=10-19'
    _part(r, 10, 19, total=100, data=p.get('/ncf/size/100').body)
    r = p.get('/ncf/size/100', headers={'Range': 'bytes=0-1,5-6'})
    assert (r.status, len(r.body), r.header('Accept-Ranges')) == (200, 100, 'bytes'), r



def test_ranges_cache_miss(t):
    """A MISS being stored that came with Accept-Ranges (or under
    proxy_force_ranges) answers one range cut from the stream (nginx's
    single_range: several get the whole answer); the entry stores the
    whole body. A range past the end: 416, and nothing stored."""
    b = t.backend('b')
    p = _cache(t, b)
    u = '/headers?Accept-Ranges=bytes&k=1'
    r = p.get(u, headers={'Range': 'bytes=3-9'})
    assert (r.status, r.header('X-Cache')) == (206, 'MISS'), (r, r.headers)
    assert b.last().header('Range') is None
    full = p.get(u)
    assert (full.status, full.header('X-Cache')) == (200, 'HIT'), full
    assert full.header('Accept-Ranges') == 'bytes', full.headers
    _part(r, 3, 9, total=len(full.body), data=full.body)
    assert r.header('Content-Type') == 'application/json', r.headers
    # several ranges on a miss: the whole answer, ranges advertised
    u2 = '/headers?Accept-Ranges=bytes&k=2'
    r = p.get(u2, headers={'Range': 'bytes=0-1,3-4'})
    assert (r.status, r.header('X-Cache')) == (200, 'MISS'), r
    assert r.header('Accept-Ranges') == 'bytes' and r.header('Content-Range') is None
    assert r.body == p.get(u2).body
    # a big body: the slice from the middle of the stream
    u3 = '/f/size/300000?k=3'
    r = p.get(u3, headers={'Range': 'bytes=100000-100099'})
    assert (r.status, r.header('X-Cache')) == (206, 'MISS'), r
    full = p.get(u3).body
    _part(r, 100000, 100099, total=300000, data=full)
    # no Accept-Ranges, no proxy_force_ranges: the whole answer
    r = p.get('/size/500?k=4', headers={'Range': 'bytes=0-9'})
    assert (r.status, len(r.body)) == (200, 500), r
    assert r.header('Accept-Ranges') is None, r.headers
    # unsatisfiable
    u5 = '/headers?Accept-Ranges=bytes&k=5'
    r = p.get(u5, headers={'Range': 'bytes=90000-'})
    assert (r.status, r.header('X-Cache')) == (416, 'MISS'), r
    assert re.fullmatch(r'bytes \*/\d+', r.header('Content-Range') or ''), r.headers
    n = b.count()
    assert p.get(u5).header('X-Cache') == 'MISS'
    assert b.count() == n + 1


def test_ranges_cache_stale_revalidated(t):
    """Ranges on the other answers sent from an entry: STALE (the upstream
    answers 500 after expiry) and REVALIDATED (it answers 304)."""
    from harness import wait_for
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    add_header X-Cache $upstream_cache_status always;
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_key $arg_k;
        proxy_cache_valid 200 1s;
        proxy_cache_valid 500 0;
        proxy_cache_use_stale http_500;
        proxy_cache_revalidate on;
    }
}""", b=b)
    lm = 'Tue,%2014%20Nov%202023%2022:13:20%20GMT'
    r1 = p.get('/headers?k=1&Accept-Ranges=bytes&Last-Modified=' + lm)
    assert (r1.status, r1.header('X-Cache')) == (200, 'MISS'), r1
    r2 = p.get('/headers?k=2&Accept-Ranges=bytes&ETag=%22v1%22&Last-Modified=' + lm)
    assert (r2.status, r2.header('X-Cache')) == (200, 'MISS'), r2
    rng = {'Range': 'bytes=2-5,-3'}

    def until_not_hit(url):
        return wait_for(lambda: (lambda r: r if r.header('X-Cache') != 'HIT' else None)(
            p.get(url, headers=rng)), timeout=10, what='entry expired')

    r = until_not_hit('/status/500?k=1')
    assert r.header('X-Cache') == 'STALE', (r, r.headers)
    n = len(r1.body)
    _multipart(r, [(2, 5), (n - 3, n - 1)], 'application/json', total=n, data=r1.body)
    r = until_not_hit('/status/304?k=2')
    assert r.header('X-Cache') == 'REVALIDATED', (r, r.headers)
    n = len(r2.body)
    _multipart(r, [(2, 5), (n - 3, n - 1)], 'application/json', total=n, data=r2.body)


def test_ranges_cache_empty_answer(t):
    """An empty 200 (Content-Length: 0) that may be ranged (here under
    proxy_force_ranges): nginx's range filter sends Accept-Ranges on the
    MISS as on the HIT, and a Range gets that same empty 200 (nothing to
    cut, no 416); without a cache too. Without Accept-Ranges from the
    upstream nor proxy_force_ranges: none."""
    b = t.backend('b')
    p = _cache(t, b)
    for i, rng in enumerate((None, 'bytes=0-9', 'bytes=-5', 'bytes=0-0,2-3')):
        h = {'Range': rng} if rng else {}
        for method in ('GET', 'HEAD'):
            u = '/f/size/0?k=%d%s' % (i, method)
            for xc in ('MISS', 'HIT'):
                r = p.req(method, u, headers=h)
                assert (r.status, r.header('X-Cache'), r.body) == (200, xc, b''), (rng, r)
                assert r.header('Content-Length') == '0', r.headers
                assert r.header('Accept-Ranges') == 'bytes', (rng, method, xc, r.headers)
                assert r.header('Content-Range') is None, r.headers
        r = p.get('/ncf/size/0', headers=h)
        assert (r.status, r.body, r.header('Accept-Ranges')) == (200, b'', 'bytes'), r
    for xc in ('MISS', 'HIT'):
        r = p.get('/size/0', headers={'Range': 'bytes=0-9'})
        assert (r.status, r.header('X-Cache'), r.body) == (200, xc, b''), r
        assert r.header('Accept-Ranges') is None, r.headers
