"""nginx's flv module: `?start=N` answers the 13-byte FLV header and the
file from byte N (Content-Length, an ETag of that length, the file's
Last-Modified), ranges cut from that answer (inside the header too;
lbd also answers several parts past the header, where nginx closes), 304 on its ETag, HEAD, 405 for other methods before
the file is looked at, an unusable start (none, 0, not a number, past the
end) the whole file as a static file, a directory's 301 and a missing
file's 404 as for static files; -t errors."""
import os

from harness import assert_location_t_errors

FLV_HDR = b'FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00'
DATA = bytes(range(256)) * 4  # 1024 bytes


def _proxy(t):
    root = t.tmpdir('flv-')
    t.write(os.path.join(root, 'v', 'a.flv'), DATA)
    os.makedirs(os.path.join(root, 'v', 'dir'), mode=0o755)
    return t.proxy("""
types { video/x-flv flv; }
server {
    listen 127.0.0.1:{port};
    root %s;
    location /v/ { flv; }
    location /plain/ { alias %s/v/; }
}""" % (root, root))


def test_flv_start(t):
    p = _proxy(t)
    whole = p.get('/plain/a.flv')
    lm = whole.header('Last-Modified')
    mtime_hex = whole.header('ETag').strip('"').split('-')[0]
    for q, start in (('start=100', 100), ('START=100', 100), ('x=1&start=1000', 1000),
                     ('start=1023', 1023), ('start=100&start=200', 100)):
        r = p.get('/v/a.flv?' + q)
        body = FLV_HDR + DATA[start:]
        assert (r.status, r.body) == (200, body), (q, r.status, r.body[:20])
        assert r.header('Content-Length') == str(len(body)), (q, r.headers)
        assert r.header('Content-Type') == 'video/x-flv', r.headers
        assert r.header('Last-Modified') == lm, r.headers
        assert r.header('ETag') == '"%s-%x"' % (mtime_hex, len(body)), (q, r.headers)
        assert r.header('Accept-Ranges') == 'bytes', r.headers
    # no usable start: the file as it is
    for q in ('', '?start=0', '?start=abc', '?start=', '?start=-1', '?start=+5',
              '?start=1024', '?start=99999999999999999999999'):
        r = p.get('/v/a.flv' + q)
        assert (r.status, r.body) == (200, DATA), (q, r.status, r.body[:20])
        assert r.header('ETag') == whole.header('ETag'), (q, r.headers)
    r = p.req('HEAD', '/v/a.flv?start=100')
    assert (r.status, r.body, r.header('Content-Length')) == (200, b'', '937'), r.headers


def test_flv_ranges_and_conditions(t):
    p = _proxy(t)
    body = FLV_HDR + DATA[100:]
    etag = p.get('/v/a.flv?start=100').header('ETag')
    for rng, a, b in (('0-4', 0, 5), ('10-19', 10, 20), ('20-29', 20, 30), ('930-', 930, 937),
                      ('-3', 934, 937)):
        r = p.get('/v/a.flv?start=100', headers=[('Range', 'bytes=' + rng)])
        assert (r.status, r.body) == (206, body[a:b]), (rng, r.status, r.body)
        assert r.header('Content-Range') == 'bytes %d-%d/937' % (a, b - 1), r.headers
    # several parts past the header: lbd answers the multipart 206 cut from
    # the answer; nginx 1.22 closes the connection without a byte (its
    # range filter takes the header's buffer for the whole answer)
    if not t.is_nginx:
        r = p.get('/v/a.flv?start=100', headers=[('Range', 'bytes=20-24,40-44')])
        assert r.status == 206 and r.header('Content-Type').startswith('multipart/byteranges')
        assert body[20:25] in r.body and body[40:45] in r.body, r.body
        assert b'Content-Range: bytes 20-24/937' in r.body, r.body
    r = p.get('/v/a.flv?start=100', headers=[('Range', 'bytes=2000-3000')])
    assert (r.status, r.header('Content-Range')) == (416, 'bytes */937'), r.headers
    r = p.get('/v/a.flv?start=100', headers=[('If-None-Match', etag)])
    assert (r.status, r.body, r.header('ETag')) == (304, b'', etag), r.headers
    r = p.get('/v/a.flv?start=100', headers=[('If-None-Match', '"0-400"')])
    assert (r.status, r.body) == (200, body)
    r = p.get('/v/a.flv?start=100', headers=[('If-Match', '"0-400"')])
    assert r.status == 412, r.status
    r = p.get('/v/a.flv?start=100', headers=[('If-Match', etag)])
    assert (r.status, r.body) == (200, body)


def test_flv_methods_and_errors(t):
    p = _proxy(t)
    for m, path in (('POST', '/v/a.flv?start=100'), ('POST', '/v/a.flv'),
                    ('POST', '/v/none.flv'), ('DELETE', '/v/a.flv')):
        r = p.req(m, path, body=b'x')
        assert r.status == 405, (m, path, r.status)
    assert p.get('/v/none.flv?start=5').status == 404
    assert 'open() "' in p.error_log() and 'none.flv" failed (2: No such file' in p.error_log()
    r = p.get('/v/dir?start=5')
    assert r.status == 301 and r.header('Location').endswith('/v/dir/?start=5'), r.headers
    assert p.get('/v/?start=5').status == 403  # a directory index, not allowed


def test_flv_config_errors(t):
    assert_location_t_errors(t, [
        ('flv on;', 'invalid number of arguments in "flv" directive'),
    ])
