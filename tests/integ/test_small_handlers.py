"""nginx's empty_gif (the same 43 bytes, image/gif, the fixed
Last-Modified and its 304, HEAD, 405 for other methods, add_header,
the last content handler written wins over proxy_pass, an `if` inside)
and random_index (every regular file of the directory is picked, dot
files and subdirectories never, the query string kept, an empty
directory falls to `index`, a missing one 404), with -t errors; add_trailer
loads (what it sends: test_trailer.py)."""
import os

from harness import assert_location_t_errors

GIF = bytes([
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x01, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x01, 0x00,
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x4c, 0x01,
    0x00, 0x3b])
LM = 'Mon, 28 Sep 1970 06:00:00 GMT'


def test_empty_gif(t):
    b, = t.backends('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /pixel.gif { empty_gif; add_header X-Pixel yes; }
    location /after { proxy_pass http://127.0.0.1:{b}; empty_gif; }
    location /before { empty_gif; proxy_pass http://127.0.0.1:{b}; }
    location /cond {
        empty_gif;
        if ($arg_x) { add_header X-If 1; }
    }
}""", b=b)
    r = p.get('/pixel.gif?any=thing')
    assert (r.status, r.body, r.header('Content-Type')) == (200, GIF, 'image/gif'), r.headers
    assert r.header('Content-Length') == '43' and r.header('Last-Modified') == LM
    assert r.header('X-Pixel') == 'yes' and r.header('ETag') is None
    r = p.req('HEAD', '/pixel.gif')
    assert (r.status, r.body, r.header('Content-Length')) == (200, b'', '43')
    r = p.get('/pixel.gif', headers=[('If-Modified-Since', LM)])
    assert (r.status, r.body) == (304, b''), r.status
    r = p.get('/pixel.gif', headers=[('If-Modified-Since', 'Tue, 29 Sep 1970 06:00:00 GMT')])
    assert r.status == 200  # if_modified_since exact
    r = p.get('/pixel.gif', headers=[('Range', 'bytes=0-9')])
    assert (r.status, r.body) == (200, GIF)  # no ranges
    for m in ('POST', 'PUT', 'DELETE'):
        r = p.req(m, '/pixel.gif', body=b'x')
        assert r.status == 405, (m, r.status)
    r = p.get('/after/x')
    assert (r.status, r.body) == (200, GIF) and not b.requests
    r = p.get('/before/x')
    assert r.status == 200 and r.backend == 'b'
    r = p.get('/cond?x=1')
    assert (r.status, r.body, r.header('X-If')) == (200, GIF, '1')


def test_random_index(t):
    root = t.tmpdir('rix-')
    names = ['a.html', 'b.txt', 'c', 'd e.html']
    for n in names:
        t.write(os.path.join(root, 'pick', n), n.encode())
    t.write(os.path.join(root, 'pick', '.hidden'), b'hidden')
    t.write(os.path.join(root, 'pick', 'sub', 'inner'), b'inner')
    t.write(os.path.join(root, 'dotonly', '.x'), b'x')
    t.write(os.path.join(root, 'dotonly', 'sub', 'index.html'), b'no')
    t.write(os.path.join(root, 'withindex', 'sub', 'k'), b'k')
    t.write(os.path.join(root, 'off', 'a'), b'a')
    t.write(os.path.join(root, 'off', 'index.html'), b'idx')
    t.write(os.path.join(root, 'index.html'), b'top index')
    t.write(os.path.join(root, 'qs', 'only.qq'), b'q')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location / {
        random_index on;
        location /off/ { random_index off; }
    }
    location ~ \.qq$ { return 200 "$uri?$args"; }
}""" % root)
    seen = set()
    for _ in range(200):
        r = p.get('/pick/')
        assert r.status == 200 and r.body.decode() in names, r.body
        seen.add(r.body.decode())
        if len(seen) == len(names):
            break
    assert seen == set(names), seen
    # no regular file: the index module answers (403 without an index file)
    assert p.get('/dotonly/').status == 403
    assert p.get('/withindex/').status == 403
    r = p.get('/')
    assert r.status == 200 and r.body == b'top index'  # the only file at the top
    assert p.get('/off/').body == b'idx'
    assert p.get('/missing/').status == 404
    assert p.get('/pick/a.html').body == b'a.html'  # only URIs ending in '/'
    r = p.get('/qs/?a=1&b')  # an internal redirect: the query string kept
    assert (r.status, r.body) == (200, b'/qs/only.qq?a=1&b'), r.body
    r = p.req('HEAD', '/pick/')
    assert r.status == 200 and r.body == b''


def test_add_trailer_accepted(t):
    """add_trailer loads, in an `if` too, and an unknown variable in it is
    nginx's error (what it sends: test_trailer.py)."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    add_trailer X-Time $request_time always;
    location / { if ($arg_x) { add_trailer X-If 1; } return 200 "ok"; }
}""")
    assert p.get('/').body == b'ok'
    res = p.run('-t')
    assert res.returncode == 0, res.stderr
    p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    add_trailer a $nope_y;\n}",
                start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode != 0 and 'unknown "nope_y" variable' in res.stderr, res.stderr


def test_small_handlers_config_errors(t):
    assert_location_t_errors(t, [
        ('empty_gif x;', 'invalid number of arguments in "empty_gif" directive'),
        ('if ($x) { empty_gif; }', '"empty_gif" directive is not allowed here'),
        ('random_index x;', 'invalid value "x" in "random_index" directive, it must be '
         '"on" or "off"'),
        ('random_index on; random_index off;', '"random_index" directive is duplicate'),
        ('random_index;', 'invalid number of arguments in "random_index" directive'),
        ('add_trailer a b c;', 'invalid parameter "c"'),
        ('add_trailer a;', 'invalid number of arguments in "add_trailer" directive'),
    ])
    for d in ('empty_gif;', 'random_index on;'):
        p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    %s\n}" % d, start=False)
        p.write_conf()
        res = p.run('-t')
        assert res.returncode != 0 and 'directive is not allowed here' in res.stderr, res.stderr
