"""nginx's charset filter: `charset`, `charset_types`, `source_charset`
equal to the charset, and the -t errors (recoding bodies:
test_charset_recode.py)."""
import os

from harness import assert_location_t_errors, conf_line


TYPES = ('types { text/html html; text/css css; text/plain txt; '
         'application/javascript js; image/gif gif; }')


def _root(t):
    root = t.tmpdir('cs-')
    for name, data in (('a.html', b'<p>hello</p>\n' * 40),
                       ('b.txt', b'plain\n'), ('c.css', b'p{}\n'),
                       ('d.js', b'x=1\n'), ('e.gif', b'GIF89a')):
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
    return root


def test_charset_static_return_and_own_pages(t):
    """Static files, return texts and lbd's own pages get "; charset=NAME"
    when their type is in charset_types (default: html, xml, plain, wml,
    javascript, rss); 301/302 never; charset off; a level's charset_types
    replacing the default; `*`; if in location; source_charset equal to the
    charset (the spelling first written in the config is sent); multipart
    byte ranges name it in each part."""
    root = _root(t)
    p = t.proxy("""
%s
server {
    listen 127.0.0.1:{port};
    charset utf-8;
    location / { root %s; }
    location /src/ { source_charset KOI8-R; charset koi8-r; alias %s/; }
    location /off/ { charset off; alias %s/; }
    location /css/ { charset_types text/css; alias %s/; }
    location /any/ { charset_types *; alias %s/; }
    location /if/ { alias %s/; if ($arg_w) { charset windows-1251; } }
    location = /ret { return 200 "hi"; }
    location = /r301 { return 301 /x; }
    location = /r302 { return 302 /x; }
    location = /r303 { return 303 /x; }
    location = /r307 { return 307 /x; }
}""" % ((TYPES,) + (root,) * 6))
    want = {
        '/a.html': 'text/html; charset=utf-8',
        '/b.txt': 'text/plain; charset=utf-8',
        '/c.css': 'text/css',
        '/d.js': 'application/javascript; charset=utf-8',
        '/e.gif': 'image/gif',
        '/src/a.html': 'text/html; charset=KOI8-R',
        '/off/a.html': 'text/html',
        '/css/a.html': 'text/html; charset=utf-8',  # always in the list
        '/css/b.txt': 'text/plain',
        '/css/d.js': 'application/javascript',
        '/css/c.css': 'text/css; charset=utf-8',
        '/any/e.gif': 'image/gif; charset=utf-8',
        '/if/a.html': 'text/html; charset=utf-8',
        '/if/a.html?w=1': 'text/html; charset=windows-1251',
        '/ret': 'text/plain; charset=utf-8',
        '/r301': 'text/html',
        '/r302': 'text/html',
        '/r303': 'text/html; charset=utf-8',
        '/r307': 'text/html; charset=utf-8',
        '/nothere': 'text/html; charset=utf-8',
    }
    for path, ct in want.items():
        r = p.get(path)
        assert r.header('Content-Type') == ct, (path, r.status, r.headers)
    r = p.req('HEAD', '/a.html')
    assert r.header('Content-Type') == 'text/html; charset=utf-8'
    r = p.get('/a.html', headers={'Range': 'bytes=0-1,5-6'})
    assert r.status == 206
    assert r.header('Content-Type').startswith('multipart/byteranges;')
    assert r.body.count(b'Content-Type: text/html; charset=utf-8\r\n') == 2, r.body
    r = p.get('/a.html', headers={'Range': 'bytes=0-1'})
    assert (r.status, r.header('Content-Type')) == (206, 'text/html; charset=utf-8')


def test_charset_proxied(t):
    """An upstream's type gets the charset when it names none and is listed
    whole (case ignored, no parameters); one with "charset=" is left as it
    is, as are 301/302 and unlisted types; any status otherwise."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    charset utf-8;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
    location /j/ { charset_types application/json; proxy_pass http://127.0.0.1:{b}/; }
    location /c/ { proxy_cache c; proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)
    want = [
        ('/p/headers?Content-Type=text/html', 'text/html; charset=utf-8'),
        ('/p/headers?Content-Type=TEXT/Html', 'TEXT/Html; charset=utf-8'),
        ('/p/headers?Content-Type=text/html;%20charset=koi8-r',
         'text/html; charset=koi8-r'),
        ('/p/headers?Content-Type=text/html;charset=koi8-r',
         'text/html;charset=koi8-r'),
        ('/p/headers?Content-Type=text/html;%20%20CHARSET=x',
         'text/html;  CHARSET=x'),
        ('/p/headers?Content-Type=text/html;%20q=1', 'text/html; q=1'),
        ('/p/headers?Content-Type=text/xml', 'text/xml; charset=utf-8'),
        ('/p/x', 'application/json'),
        ('/j/x', 'application/json; charset=utf-8'),
        ('/p/status/404?Content-Type=text/plain', 'text/plain; charset=utf-8'),
        ('/p/status/201?Content-Type=text/plain', 'text/plain; charset=utf-8'),
        ('/p/status/302?Content-Type=text/plain&Location=/y', 'text/plain'),
        ('/p/status/301?Content-Type=text/plain&Location=/y', 'text/plain'),
    ]
    for path, ct in want:
        r = p.get(path)
        assert r.header_all('Content-Type') == [ct], (path, r.status, r.headers)
    # a cache hit as the miss: the stored type gets it again, once
    for path, ct in (('/c/headers?Content-Type=text/html&Cache-Control=max-age%3D60',
                      'text/html; charset=utf-8'),
                     ('/c/headers?Content-Type=text/css&Cache-Control=max-age%3D60',
                      'text/css')):
        n = len(b.requests)
        for _ in range(2):
            r = p.get(path)
            assert r.header_all('Content-Type') == [ct], (path, r.headers)
        assert len(b.requests) == n + 1  # the second was a hit
        r = p.get(path, headers={'Range': 'bytes=0-1'})  # the hit's range path
        assert r.header_all('Content-Type') == [ct], r.headers


def test_charset_config_errors(t):
    """-t errors as nginx's, with FILE:LINE where nginx names one."""
    cases = [
        ('charset utf-8; charset koi8-r;', '"charset" directive is duplicate', True),
        ('charset off; charset off;', '"charset" directive is duplicate', True),
        ('charset;', 'invalid number of arguments in "charset" directive', True),
        ('charset a b;', 'invalid number of arguments in "charset" directive', True),
        ('charset_types;', 'invalid number of arguments in "charset_types" directive',
         True),
        ('override_charset maybe;', 'invalid value "maybe" in "override_charset" '
         'directive, it must be "on" or "off"', True),
        ('source_charset koi8-r; charset utf-8;',
         'no "charset_map" between the charsets "koi8-r" and "utf-8"', False),
    ]
    for directive, want, line in cases:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { %s }
}""" % directive, start=False)
        p.write_conf()
        res = p.run('-t')
        rc, out = res.returncode, res.stdout + res.stderr
        assert rc != 0, (directive, out)
        assert want in out, (directive, out)
        if line:
            assert conf_line(p, directive) in out, (directive, out)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    charset_types text/css text/CSS;
    location / { override_charset off; source_charset UTF-8; charset utf-8; }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stdout + res.stderr
