"""nginx's `etag on|off` on static files: off sends no ETag, so a tag in
If-Match fails (412) and one in If-None-Match never gives a 304 (`*`
still matches both), and a tag in If-Range gets the whole file; dates
still work."""
import os


def test_etag_off_static(t):
    root = t.tmpdir('etag-')
    with open(os.path.join(root, 'a.html'), 'wb') as f:
        f.write(b'0123456789' * 10)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    etag off;
    location /on/ { etag on; alias %s/; }
    location /gz/ { gzip on; gzip_min_length 1; alias %s/; }
}""" % (root, root, root))
    r = p.get('/on/a.html')
    assert r.status == 200 and r.header('ETag'), r.headers
    tag, lm = r.header('ETag'), r.header('Last-Modified')
    assert p.get('/on/a.html', headers={'If-None-Match': tag}).status == 304
    assert p.get('/on/a.html', headers={'If-Match': tag}).status == 200

    r = p.get('/a.html')
    assert r.status == 200 and r.header('ETag') is None, r.headers
    assert r.header('Last-Modified') == lm
    # gzip keeps no tag to weaken
    r = p.get('/gz/a.html', headers={'Accept-Encoding': 'gzip'})
    assert r.header('Content-Encoding') == 'gzip' and r.header('ETag') is None, r.headers
    for h, status in ((('If-Match', tag),), 412), ((('If-Match', '*'),), 200), \
            ((('If-None-Match', tag),), 200), ((('If-None-Match', '*'),), 304), \
            ((('If-None-Match', tag), ('If-Modified-Since', lm)), 200), \
            ((('If-Modified-Since', lm),), 304):
        r = p.get('/a.html', headers=list(h))
        assert r.status == status, (h, r.status, r.headers)
        assert r.header('ETag') is None, r.headers
    r = p.get('/a.html', headers={'Range': 'bytes=0-1', 'If-Range': tag})
    assert (r.status, len(r.body)) == (200, 100), r.status
    r = p.get('/a.html', headers={'Range': 'bytes=0-1', 'If-Range': lm})
    assert (r.status, r.body) == (206, b'01'), r.status


def test_etag_config_errors(t):
    for directive, want in (
            ('etag maybe;', 'invalid value "maybe" in "etag" directive, it must be "on" or "off"'),
            ('etag on; etag off;', '"etag" directive is duplicate'),
            ('etag;', 'invalid number of arguments in "etag" directive')):
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { %s }
}""" % directive, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        line = [i for i, ln in enumerate(p.read('conf', 'nginx.conf').splitlines(), 1)
                if directive in ln][0]
        assert res.returncode != 0 and want in out, (directive, out)
        assert 'nginx.conf:%d' % line in out, (directive, out)
