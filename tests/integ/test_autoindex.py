"""nginx's autoindex against a model of its output (`listing`), so the
same assertions pass on nginx 1.22 and lbd byte for byte: a tree with
names holding spaces, '&', '<', '"', '%', UTF-8, a 60-character name and a
50-character one, subdirectories (one named as long), a dot file (never
listed), empty, small, 10000-byte, 10001-byte, 3 MiB and sparse 5 GiB
files, all with fixed mtimes (os.utime). Every format (html, xml, json,
jsonp with and without a callback, a bad or too long callback 400),
`autoindex_exact_size off`, `autoindex_localtime on` (dates shifted by the
test's own UTC offset: nginx applies the current offset to every entry),
`charset utf-8` (html names measured in characters), index first, HEAD
(head only), a directory the workers cannot read (403 and nginx's
opendir() log line), a missing one (404), POST (not listed), inheritance
from server level and `autoindex off` below, an empty directory, 3000
entries (listing streamed in batches), gzip and sub_filter on a listing,
and the -t errors."""
import calendar
import gzip
import os
import time

from harness import assert_location_t_errors

T0 = calendar.timegm((2021, 3, 4, 5, 6, 7))
MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split()
DAYS = 'Mon Tue Wed Thu Fri Sat Sun'.split()

# name -> (size or None for a directory, mtime)
TREE = {
    'a file.txt': (5, T0),
    'amp&<lt>"q".html': (0, T0 + 60),
    'pct%20+#;?.txt': (10000, T0 + 3600),
    'ten001.bin': (10001, T0 + 86400 * 40),
    'big.bin': (3 * 1024 * 1024 + 600 * 1024, T0 + 86400 * 200),
    'huge.bin': (5 * 1024 ** 3 - 1, T0 + 86400 * 300),
    'x' * 60: (7, T0 - 86400 * 800),
    'y' * 50: (8, T0 + 7),
    'é-ünïcødé-文字.txt': (3, T0 + 120),
    ('ü' * 30) + '.txt': (4, T0 + 180),
    'Zed': (1, T0 + 59),
    'sub dir': (None, T0 + 5),
    'd' * 55: (None, T0 + 6),
    'e' * 50: (None, T0 + 8),
    'emptydir': (None, T0 + 9),
}


def build(t):
    root = t.tmpdir('aix-', memory=True)
    top = os.path.join(root, 'files')
    os.makedirs(top)
    for name, (size, mtime) in TREE.items():
        path = os.path.join(top, name)
        if size is None:
            os.makedirs(path)
        else:
            with open(path, 'wb') as f:
                f.truncate(size)  # sparse
        os.utime(path, (mtime, mtime))
    t.write(os.path.join(top, '.hidden'), b'h')
    t.write(os.path.join(top, 'sub dir', 'inner.txt'), b'inner')
    os.utime(os.path.join(top, 'sub dir', 'inner.txt'), (T0, T0))
    os.utime(os.path.join(top, 'sub dir'), (T0 + 5, T0 + 5))
    os.utime(top, (T0, T0))
    t.write(os.path.join(root, 'withindex', 'index.html'), b'the index')
    t.write(os.path.join(root, 'withindex', 'other'), b'o')
    t.write(os.path.join(root, 'locked', 'f'), b'f')
    os.chmod(os.path.join(root, 'locked'), 0o711)  # traversable, not readable
    os.makedirs(os.path.join(root, 'empty'))
    many = os.path.join(root, 'many')
    os.makedirs(many)
    for i in range(3000):
        p = os.path.join(many, 'file-%04d-%s.dat' % (i, 'n' * (i % 40)))
        open(p, 'wb').close()
        os.utime(p, (T0 + i, T0 + i))
    return root


def esc_html(s):
    return (s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;'))


def esc_uri(b):
    keep = set(b"!'()*-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
               b"abcdefghijklmnopqrstuvwxyz~")
    return ''.join(chr(c) if c in keep else '%%%02X' % c for c in b)


def esc_json(s):
    return s.replace('\\', '\\\\').replace('"', '\\"')


def html_size(size, exact):
    if exact:
        return '%19s' % ('-' if size is None else size)
    if size is None:
        return '      -'
    for lim, unit in ((1 << 30, 'G'), (1 << 20, 'M')):
        if size >= lim:
            n = size // lim + (size % lim >= lim // 2)
            return '%6d%s' % (n, unit)
    if size > 9999:
        return '%6dK' % (size // 1024 + (size % 1024 > 511))
    return ' %6d' % size


def entries(tree):
    dirs = sorted((n for n in tree if tree[n][0] is None), key=lambda n: n.encode())
    files = sorted((n for n in tree if tree[n][0] is not None), key=lambda n: n.encode())
    return dirs + files


def listing(uri, tree, fmt='html', exact=True, shift=0, utf8=False, cb=None):
    """nginx 1.22's autoindex body for TREE at URI."""
    out = []
    if fmt == 'html':
        out.append('<html>\r\n<head><title>Index of %s</title></head>\r\n<body>\r\n'
                   '<h1>Index of %s</h1><hr><pre><a href="../">../</a>\r\n'
                   % (esc_html(uri), esc_html(uri)))
        for n in entries(tree):
            size, mtime = tree[n]
            isdir = size is None
            raw = n.encode()
            chars = len(n) if utf8 else len(raw)
            line = '<a href="%s%s">' % (esc_uri(raw), '/' if isdir else '')
            if chars > 50:
                shown = n[:47] if utf8 else raw[:47].decode('utf-8', 'surrogateescape')
                line += esc_html(shown) + '..&gt;</a>'
            else:
                line += esc_html(n)
                if isdir and chars < 50:
                    line += '/'
                    chars += 1
                line += '</a>' + ' ' * (50 - chars)
            tm = time.gmtime(mtime + shift)
            line += ' %02d-%s-%d %02d:%02d ' % (tm.tm_mday, MONTHS[tm.tm_mon - 1],
                                               tm.tm_year, tm.tm_hour, tm.tm_min)
            out.append(line + html_size(size, exact) + '\r\n')
        out.append('</pre><hr></body>\r\n</html>\r\n')
    elif fmt == 'xml':
        out.append('<?xml version="1.0"?>\r\n<list>\r\n')
        for n in entries(tree):
            size, mtime = tree[n]
            typ = 'directory' if size is None else 'file'
            out.append('<%s mtime="%s"%s>%s</%s>\r\n' % (
                typ, time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(mtime)),
                '' if size is None else ' size="%d"' % size, esc_html(n), typ))
        out.append('</list>\r\n')
    else:
        items = []
        for n in entries(tree):
            size, mtime = tree[n]
            tm = time.gmtime(mtime)
            date = '%s, %02d %s %d %02d:%02d:%02d GMT' % (
                DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year,
                tm.tm_hour, tm.tm_min, tm.tm_sec)
            item = '\r\n{ "name":"%s", "type":"%s", "mtime":"%s' % (
                esc_json(n), 'directory' if size is None else 'file', date)
            item += '"' if size is None else '", "size":%d' % size
            items.append(item + ' }')
        body = '[' + ','.join(items) + '\r\n]'
        out.append('/* callback */\r\n%s(%s);' % (cb, body) if cb else body)
    return ''.join(out).encode('utf-8', 'surrogateescape')


CONF = """
server {
    listen 127.0.0.1:{port};
    root %s;
    autoindex on;
    location /withindex/ { }
    location /x/ { alias %s/files/; autoindex_format xml; }
    location /j/ { alias %s/files/; autoindex_format json; }
    location /p/ { alias %s/files/; autoindex_format jsonp; }
    location /s/ { alias %s/files/; autoindex_exact_size off; }
    location /l/ { alias %s/files/; autoindex_localtime on; }
    location /u/ { alias %s/files/; charset utf-8; }
    location /off/ { alias %s/files/; autoindex off; }
}"""


def test_autoindex_formats(t):
    root = build(t)
    p = t.proxy(CONF.replace('%s', root))
    r = p.get('/files/')
    assert (r.status, r.header('Content-Type')) == (200, 'text/html'), r.headers
    exp = listing('/files/', TREE)
    assert r.body == exp, (r.body, exp)
    r = p.get('/x/')
    assert (r.status, r.header('Content-Type')) == (200, 'text/xml; charset=utf-8')
    assert r.body == listing('/x/', TREE, 'xml'), r.body
    r = p.get('/j/')
    assert (r.status, r.header('Content-Type')) == (200, 'application/json')
    assert r.body == listing('/j/', TREE, 'json'), r.body
    r = p.get('/p/?a=1&callback=my_cb.x9')
    assert (r.status, r.header('Content-Type')) == (200, 'application/javascript')
    assert r.body == listing('/p/', TREE, 'jsonp', cb='my_cb.x9'), r.body
    r = p.get('/p/')  # no callback: plain json
    assert (r.status, r.header('Content-Type')) == (200, 'application/json')
    assert r.body == listing('/p/', TREE, 'json'), r.body
    r = p.get('/p/?callback=')
    assert (r.status, r.body) == (200, listing('/p/', TREE, 'json'))
    for bad in ('a-b', 'x%28', 'a' * 129):
        assert p.get('/p/?callback=' + bad).status == 400, bad
    assert p.get('/p/?callback=' + 'a' * 128).status == 200
    r = p.get('/s/')
    assert r.body == listing('/s/', TREE, exact=False), r.body
    r = p.get('/l/')
    shift = time.localtime().tm_gmtoff // 60 * 60
    assert r.body == listing('/l/', TREE, shift=shift), r.body
    r = p.get('/u/')
    assert r.header('Content-Type') == 'text/html; charset=utf-8'
    assert r.body == listing('/u/', TREE, utf8=True), r.body
    # a subdirectory, a URI to escape in the title
    r = p.get('/files/sub%20dir/')
    inner = {'inner.txt': (5, T0)}
    assert (r.status, r.body) == (200, listing('/files/sub dir/', inner)), r.body
    r = p.get('/empty/')
    assert (r.status, r.body) == (200, listing('/empty/', {})), r.body
    r = p.get('/j/emptydir/')
    assert (r.status, r.body) == (200, b'[\r\n]'), r.body
    r = p.get('/files/amp&<lt>"q".html')  # the files themselves still served
    assert (r.status, r.body) == (200, b'')


def test_autoindex_order_errors(t):
    root = build(t)
    p = t.proxy(CONF.replace('%s', root))
    r = p.get('/withindex/')  # index first
    assert (r.status, r.body) == (200, b'the index')
    r = p.get('/off/')
    assert r.status == 403
    r = p.get('/files')  # no slash: the redirect as before
    assert r.status == 301
    assert p.get('/nowhere/').status == 404
    assert p.req('POST', '/files/').status == 403  # not listed
    r = p.req('HEAD', '/files/')
    assert (r.status, r.body, r.header('Content-Type')) == (200, b'', 'text/html')
    r = p.get('/many/')
    many = {'file-%04d-%s.dat' % (i, 'n' * (i % 40)): (0, T0 + i) for i in range(3000)}
    assert (r.status, r.body) == (200, listing('/many/', many)), len(r.body)
    # several on one keep-alive connection
    c = p.conn()
    for path in ('/many/', '/j/', '/files/'):
        c.send(('GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path).encode())
        r = c.read_response()
        assert r.status == 200 and r.body.endswith((b'</html>\r\n', b']')), path


def test_autoindex_forbidden(t):
    """Workers as nobody (nginx's default when started as root; lbd needs
    `user`): a directory they may enter but not read is 403, logged."""
    root = build(t)
    p = t.proxy(CONF.replace('%s', root), main='user nobody nogroup;')
    r = p.get('/locked/')
    assert r.status == 403
    assert ('opendir() "%s/locked" failed (13: Permission denied)' % root) in p.error_log()
    r = p.get('/files/')
    assert (r.status, r.body) == (200, listing('/files/', TREE))


def test_autoindex_inherit(t):
    root = build(t)
    p = t.proxy("""
autoindex on;
autoindex_format json;
server {
    listen 127.0.0.1:{port};
    root %s;
    location / { }
    location /files/sub { autoindex off; }
}""".replace('%s', root))
    assert p.get('/files/').body == listing('/files/', TREE, 'json')
    assert p.get('/files/sub%20dir/').status == 403


def test_autoindex_t_errors(t):
    assert_location_t_errors(t, [
        ('autoindex maybe;',
         'invalid value "maybe" in "autoindex" directive, it must be "on" or "off"'),
        ('autoindex_format yaml;', 'invalid value "yaml"'),
        ('autoindex_format xml; autoindex_format json;',
         '"autoindex_format" directive is duplicate'),
        ('autoindex_exact_size on off;',
         'invalid number of arguments in "autoindex_exact_size" directive'),
        ('autoindex_localtime;',
         'invalid number of arguments in "autoindex_localtime" directive'),
    ])


def test_autoindex_h2(t):
    """HTTP/2 (h2c): the 3000-entry listing and a jsonp one, byte for byte."""
    from test_h2 import curl_h2
    root = build(t)
    p = t.proxy(CONF.replace('%s', root).replace('{port};', '{port} http2;', 1))
    base = 'http://127.0.0.1:%d' % p.port
    many = {'file-%04d-%s.dat' % (i, 'n' * (i % 40)): (0, T0 + i) for i in range(3000)}
    ver, code, head, body = curl_h2(base + '/many/', [], prior=True)
    assert (ver, code) == ('2', 200), (ver, code, head)
    assert body == listing('/many/', many)
    ver, code, head, body = curl_h2(base + '/p/?callback=f', [], prior=True)
    assert (code, body) == (200, listing('/p/', TREE, 'jsonp', cb='f')), head


def test_autoindex_gzip_and_sub_filter(t):
    """gzip and sub_filter take a listing as any page (nginx's body
    filters see autoindex's buffer): compressed for a client that takes
    gzip, substituted (html only: sub_filter_types' default), the same
    listing inflated; no Content-Length once a filter runs."""
    root = build(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    gzip on;
    gzip_min_length 1;
    gzip_types application/json;
    location /files/ { root %s; autoindex on; }
    location /j/ { alias %s/files/; autoindex on; autoindex_format json; }
    location /sf/ {
        alias %s/files/;
        autoindex on;
        sub_filter "a file" "A FILE";
        sub_filter_once off;
    }
}""" % (root, root, root))
    plain = listing('/files/', TREE)
    for path, want in (('/files/', plain), ('/j/', listing('/j/', TREE, 'json'))):
        r = p.get(path, headers={'Accept-Encoding': 'gzip'})
        assert (r.status, r.header('Content-Encoding')) == (200, 'gzip'), r.headers
        assert r.header('Content-Length') is None, r.headers
        assert gzip.decompress(r.body) == want, path
        r = p.get(path)
        assert (r.status, r.body) == (200, want), path
    want = listing('/sf/', TREE).replace(b'a file', b'A FILE')
    assert want != listing('/sf/', TREE)
    r = p.get('/sf/')
    assert (r.status, r.body) == (200, want), r.body
    assert r.header('Content-Length') is None, r.headers
    r = p.get('/sf/', headers={'Accept-Encoding': 'gzip'})
    assert gzip.decompress(r.body) == want
    r = p.req('HEAD', '/files/', headers={'Accept-Encoding': 'gzip'})
    assert (r.status, r.header('Content-Encoding'), r.body) == (200, 'gzip', b'')


def test_autoindex_too_large(t):
    """lbd holds at most 100000 entries per listing (they are sorted in the
    request pool): one more is a 500 with a log line, not an unbounded
    allocation; nginx lists them all."""
    if t.target == 'nginx':
        t.skip('nginx has no limit on a listing')
    root = t.tmpdir('aixbig-', memory=True)
    big = os.path.join(root, 'big')
    os.makedirs(big)
    for i in range(100001):
        open(os.path.join(big, '%06d' % i), 'wb').close()
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    autoindex on;
}""" % root)
    assert p.get('/big/').status == 500
    assert ('directory "%s/big" is too large to list (more than 100000 entries' % root
            in p.error_log())
    os.unlink(os.path.join(big, '000000'))
    r = p.get('/big/')  # exactly the limit: listed
    assert r.status == 200 and r.body.count(b'\r\n') == 100000 + 6, len(r.body)
