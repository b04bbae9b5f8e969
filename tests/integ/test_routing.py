# SPDX-License-Identifier: MIT
"""Routing: the guide's Scenarios A-C, location and server_name matching,
return/rewrite, and static files (root, alias, index, try_files, types)."""

# The guide's proxy header block (Step 4), reused by many configs.
PROXY_HEADERS = """\
proxy_http_version 1.1;
proxy_set_header Host $host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;"""


def _eq(got, want, what):
    assert got == want, '%s: got %r, want %r' % (what, got, want)


def test_scenario_a_single_backend(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name example.com www.example.com;
    location / {
        proxy_pass http://127.0.0.1:{b1};
        %s
        proxy_connect_timeout 60s;
        proxy_send_timeout 60s;
        proxy_read_timeout 60s;
    }
}""" % PROXY_HEADERS.replace('\n', '\n        '), b1=b1)

    r = p.get('/hello/world?x=1&y=2', host='example.com')
    _eq(r.status, 200, 'status')
    _eq(r.backend, 'b1', 'answering backend')
    seen = b1.last()
    _eq(seen.target, '/hello/world?x=1&y=2', 'target at backend')
    _eq(seen.version, 'HTTP/1.1', 'proxy_http_version 1.1')
    _eq(seen.header('Host'), 'example.com', 'Host at backend')
    _eq(seen.header('X-Real-IP'), '127.0.0.1', 'X-Real-IP')
    _eq(seen.header('X-Forwarded-For'), '127.0.0.1', 'X-Forwarded-For')
    _eq(seen.header('X-Forwarded-Proto'), 'http', 'X-Forwarded-Proto')
    _eq(r.json()['name'], 'b1', 'body says who answered')

    # An incoming X-Forwarded-For is extended, not replaced.
    p.get('/', host='example.com',
          headers={'X-Forwarded-For': '10.1.2.3'})
    _eq(b1.last().header('X-Forwarded-For'), '10.1.2.3, 127.0.0.1',
        '$proxy_add_x_forwarded_for with a client XFF')

    # $host is the Host header lowercased and without its port.
    p.get('/', host='WWW.Example.COM:8080')
    _eq(b1.last().header('Host'), 'www.example.com', '$host normalised')


def test_scenario_b_name_based_servers(t):
    b1, b2 = t.backends('b1', 'b2')
    servers = """
server {
    listen 127.0.0.1:{port};
    server_name app.example.com;
    location / { proxy_pass http://127.0.0.1:{b1}; }
}
server {
    listen 127.0.0.1:{port}%s;
    server_name api.example.com;
    location / { proxy_pass http://127.0.0.1:{b2}; }
}"""
    p = t.proxy(servers % '', b1=b1, b2=b2)
    _eq(p.get('/', host='app.example.com').backend, 'b1', 'app.')
    _eq(p.get('/', host='api.example.com').backend, 'b2', 'api.')
    _eq(p.get('/', host='API.EXAMPLE.COM').backend, 'b2',
        'server_name is case-insensitive')
    # Unknown names go to the first server of the port.
    _eq(p.get('/', host='other.example.net').backend, 'b1',
        'unknown host -> first server')
    _eq(p.get('/', host=None, version='HTTP/1.0').backend, 'b1',
        'no Host (HTTP/1.0) -> first server')
    # An absolute-form target names the host; the Host header is ignored.
    r = p.get('http://api.example.com/abs?q=1', host='app.example.com')
    _eq(r.backend, 'b2', 'absolute-form host wins over Host')
    _eq(b2.last().target, '/abs?q=1', 'origin-form forwarded')

    # default_server moves the default to the second server.
    p2 = t.proxy(servers % ' default_server', b1=b1, b2=b2)
    _eq(p2.get('/', host='other.example.net').backend, 'b2',
        'unknown host -> default_server')
    _eq(p2.get('/', host='app.example.com').backend, 'b1',
        'named host still matches')


def test_scenario_c_path_routing(t):
    b1, b2 = t.backends('b1', 'b2')
    static = t.tmpdir('static-')
    t.write(static + '/app.css', 'body { color: red; }\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name example.com;
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
    location /api/ {
        proxy_pass http://127.0.0.1:{b2}/;
    }
    location /static/ {
        alias {static}/;
        expires 30d;
        add_header Cache-Control "public, immutable";
    }
}""", b1=b1, b2=b2, static=static)

    r = p.get('/api/users?id=7', host='example.com')
    _eq(r.backend, 'b2', '/api/ backend')
    _eq(b2.last().target, '/users?id=7', 'prefix /api/ stripped')
    p.get('/api/', host='example.com')
    _eq(b2.last().target, '/', '/api/ -> /')

    r = p.get('/other/page', host='example.com')
    _eq(r.backend, 'b1', '/ backend')
    _eq(b1.last().target, '/other/page', 'URI passed unchanged')
    _eq(p.get('/apix', host='example.com').backend, 'b1',
        '/apix is not under /api/')

    # A location ending in / with proxy_pass answers the slashless URI
    # with a redirect to the slashed one.
    r = p.get('/api', host='example.com')
    _eq(r.status, 301, '/api -> redirect')
    assert r.header('Location').endswith('/api/'), r.header('Location')

    n1, n2 = b1.count(), b2.count()
    r = p.get('/static/app.css', host='example.com')
    _eq(r.status, 200, 'static status')
    _eq(r.body, b'body { color: red; }\n', 'static body')
    assert r.header('Expires'), 'expires 30d sets Expires'
    cc = r.header_all('Cache-Control')
    assert 'max-age=2592000' in cc, cc
    assert 'public, immutable' in cc, cc
    _eq(p.get('/static/missing.css', host='example.com').status, 404,
        'missing static file')
    _eq((b1.count(), b2.count()), (n1, n2), 'static never hits backends')


def test_location_matching(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    default_type text/plain;
    location = /exact { return 200 "exact"; }
    location / { return 200 "root"; }
    location /documents/ { return 200 "documents"; }
    location ^~ /images/ { return 200 "images"; }
    location ~* \\.(gif|jpg)$ { return 200 "img-regex"; }
    location ~ ^/documents/.*\\.PDF$ { return 200 "pdf-regex"; }
    location ~ ^/order/a { return 200 "order-1"; }
    location ~ ^/order { return 200 "order-2"; }
    location /outer/ {
        location /outer/inner/ { return 200 "inner"; }
        location ~ \\.php$ { return 200 "outer-php"; }
        return 200 "outer";
    }
}""")
    cases = [
        ('/exact', 'exact'),
        ('/exact/', 'root'),
        ('/exactly', 'root'),
        ('/', 'root'),
        ('/documents/report', 'documents'),
        ('/documents/a.jpg', 'img-regex'),  # regex beats longest prefix
        ('/documents/a.PDF', 'pdf-regex'),
        ('/documents/a.pdf', 'documents'),  # ~ is case-sensitive
        ('/x/y/PIC.GIF', 'img-regex'),  # ~* is not
        ('/images/a.gif', 'images'),  # ^~ stops the regex search
        ('/order/abc', 'order-1'),  # first matching regex wins
        ('/order/b', 'order-2'),
        ('/outer/x', 'outer'),
        ('/outer/inner/x', 'inner'),
        ('/outer/x.php', 'outer-php'),
    ]
    got = [(u, p.get(u).body.decode()) for u, _ in cases]
    _eq(got, cases, 'location chosen per URI')


def test_named_location_try_files(t):
    b1 = t.backend('b1')
    root = t.tmpdir('root-')
    t.write(root + '/tf/here.txt', 'from disk\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /tf/ {
        root {root};
        try_files $uri @app;
    }
    location @app {
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1, root=root)
    r = p.get('/tf/here.txt')
    _eq((r.status, r.body), (200, b'from disk\n'), 'existing file')
    _eq(b1.count(), 0, 'file served without the backend')
    r = p.get('/tf/missing?q=1')
    _eq(r.backend, 'b1', 'fallback to @app')
    _eq(b1.last().target, '/tf/missing?q=1', 'named location keeps URI')
    _eq(p.get('/@app').status, 404, 'named location is not reachable')


def test_server_name_wildcard_and_regex(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name default.test;
    return 200 "default";
}
server {
    listen 127.0.0.1:{port};
    server_name ~^(?<sub>.+)\\.example\\.com$;
    return 200 "regex:$sub";
}
server {
    listen 127.0.0.1:{port};
    server_name *.example.com;
    return 200 "wildcard";
}
server {
    listen 127.0.0.1:{port};
    server_name www.example.com;
    return 200 "exact";
}
server {
    listen 127.0.0.1:{port};
    server_name ~^(?<name>[a-z]+)\\.example\\.org$;
    return 200 "org:$name";
}""")
    cases = [
        ('www.example.com', 'exact'),  # exact beats wildcard and regex
        ('foo.example.com', 'wildcard'),  # wildcard beats regex
        ('a.b.example.com', 'wildcard'),
        ('shop.example.org', 'org:shop'),
        ('SHOP.example.org', 'org:shop'),  # names are lowercased first
        ('example.com', 'default'),
        ('nothing.test', 'default'),
    ]
    got = [(h, p.get('/', host=h).body.decode()) for h, _ in cases]
    _eq(got, cases, 'server chosen per Host')


def test_return_301_https(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name example.com;
    return 301 https://$host$request_uri;
}""")
    r = p.get('/a/b?c=d&e', host='Example.com')
    _eq(r.status, 301, 'status')
    _eq(r.header('Location'), 'https://example.com/a/b?c=d&e', 'Location')


def test_rewrite_last(t):
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    rewrite ^/legacy/(.*)$ /new/$1 last;
    location /old/ {
        rewrite ^/old/(.*)$ /new/$1 last;
        proxy_pass http://127.0.0.1:{b2};
    }
    location /new/ { proxy_pass http://127.0.0.1:{b1}; }
    location / { return 404; }
}""", b1=b1, b2=b2)
    # `last` searches the locations again with the new URI (`break` would
    # stay in /old/ and proxy to b2).
    r = p.get('/old/thing?y=1')
    _eq(r.backend, 'b1', 'rewritten request proxied by the new location')
    _eq(b1.last().target, '/new/thing?y=1', 'rewritten URI, args kept')
    r = p.get('/legacy/a/b')
    _eq(r.backend, 'b1', 'server-level rewrite')
    _eq(b1.last().target, '/new/a/b', 'server-level rewritten URI')
    _eq(b2.count(), 0, 'the /old/ location never proxied')
    _eq(p.get('/other').status, 404, 'not rewritten')


def test_static_root_index_try_files(t):
    root = t.tmpdir('www-')
    t.write(root + '/index.html', '<h1>home</h1>\n')
    t.write(root + '/dir/index.html', '<h1>dir</h1>\n')
    t.write(root + '/page.html', '<p>page</p>\n')
    t.write(root + '/a.css', 'css\n')
    t.write(root + '/a.foo', 'foo\n')
    t.write(root + '/a.unknown', 'unknown\n')
    t.write(root + '/t/x.html', 'tf\n')
    t.write(root + '/t/d/index.html', 'tf dir\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {root};
    index index.html;
    default_type application/octet-stream;
    types {
        text/html html;
        text/css css;
        text/x-foo foo;
    }
    location /t/ {
        try_files $uri $uri/ =404;
    }
}""", root=root)
    r = p.get('/')
    _eq((r.status, r.body), (200, b'<h1>home</h1>\n'), 'index at /')
    _eq(r.header('Content-Type'), 'text/html', 'index type')
    _eq(p.get('/dir/').body, b'<h1>dir</h1>\n', 'index in a dir')
    r = p.get('/dir')
    _eq(r.status, 301, 'directory without slash redirects')
    assert r.header('Location').endswith('/dir/'), r.header('Location')
    _eq(p.get('/page.html').body, b'<p>page</p>\n', 'plain file')
    _eq(p.get('/nope.html').status, 404, 'missing file')
    _eq(p.get('/a.css').header('Content-Type'), 'text/css', 'types css')
    _eq(p.get('/a.foo').header('Content-Type'), 'text/x-foo', 'types foo')
    _eq(p.get('/a.unknown').header('Content-Type'),
        'application/octet-stream', 'default_type')
    _eq(p.get('/t/x.html').body, b'tf\n', 'try_files $uri')
    # try_files finds the directory; nginx then redirects to the slashed
    # URI, which the index answers.
    r = p.get('/t/d')
    _eq(r.status, 301, 'try_files $uri/ on a directory')
    assert r.header('Location').endswith('/t/d/'), r.header('Location')
    _eq(p.get('/t/d/').body, b'tf dir\n', 'try_files $uri/ + index')
    _eq(p.get('/t/none').status, 404, 'try_files =404')
    r = p.req('HEAD', '/page.html')
    _eq((r.status, r.header('Content-Length')), (200, '12'), 'HEAD file')


def test_expires_on_every_response_kind(t):
    """nginx's expires is a headers filter: it applies to proxied answers,
    cache hits and return's redirects as well as to static files, on
    200/201/204/206/301/302/303/304/307/308 only, and replaces an
    upstream's own Expires and Cache-Control (one of each goes out)."""
    import calendar
    import email.utils
    import time as _t
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location /p/ { expires 1h; proxy_pass http://127.0.0.1:{b}/; }
    location /c/ { expires max; proxy_cache c; proxy_pass http://127.0.0.1:{b}/; }
    location = /r { expires epoch; return 302 /elsewhere; }
    location = /nf { expires 1h; return 404; }
    location = /neg { expires -1; return 200 ok; }
}""", b=b)

    def one(r, name):
        v = r.header_all(name)
        assert len(v) == 1, '%s: %r' % (name, v)
        return v[0]

    r = p.get('/p/headers?Cache-Control=no-store&Expires=0')
    assert r.status == 200
    assert one(r, 'Cache-Control') == 'max-age=3600'
    exp = calendar.timegm(email.utils.parsedate(one(r, 'Expires')))
    assert abs(exp - (_t.time() + 3600)) < 10, one(r, 'Expires')
    for _ in range(2):  # MISS (stored for max-age=60), then HIT
        r = p.get('/c/headers?Cache-Control=max-age%3D60')
        assert r.status == 200
        assert one(r, 'Cache-Control') == 'max-age=315360000'
        assert one(r, 'Expires') == 'Thu, 31 Dec 2037 23:55:55 GMT'
    r = p.get('/r')
    assert r.status == 302 and one(r, 'Cache-Control') == 'no-cache'
    assert one(r, 'Expires') == 'Thu, 01 Jan 1970 00:00:01 GMT'
    r = p.get('/nf')
    assert r.status == 404 and not r.header('Expires') and not r.header('Cache-Control')
    r = p.get('/neg')
    assert r.status == 200 and one(r, 'Cache-Control') == 'no-cache'


def test_location_rewrite_phase_as_nginx(t):
    """A location's rewrite without a flag that changes $uri makes nginx
    search the locations again after the location's rewrite steps (its
    post-rewrite phase), unless a return ended them; `rewrite ... break`
    keeps the location, and proxy_pass then sends the whole rewritten URI,
    its own URI part ignored."""
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /a/ { rewrite ^/a/(.*)$ /b/$1; return 200 "a"; }
    location /b/ { return 200 "b:$uri"; }
    location /c/ { rewrite ^/c/(.*)$ /b/$1; rewrite ^/b/(.*)$ /d/$1; }
    location /d/ { return 200 "d:$uri"; }
    location /e/ { rewrite ^/e/(.*)$ /b/$1; proxy_pass http://127.0.0.1:{b}/zz/; }
    location /loop/ { rewrite ^/loop/(.*)$ /loop/$1; }
    location /name/ { rewrite ^/name/(.*)$ /x/$1 break; proxy_pass http://127.0.0.1:{b}/prefix/; }
    location /keep/ { rewrite ^(.*)$ $1 break; proxy_pass http://127.0.0.1:{b}/prefix/; }
    location /plain/ { proxy_pass http://127.0.0.1:{b}/prefix/; }
}""", b=b)
    assert p.get('/a/x').body == b'a'
    assert p.get('/c/y').body == b'd:/d/y'
    assert p.get('/e/z').body == b'b:/b/z'
    assert p.get('/loop/w').status == 500
    for path, want in (('/name/foo?a=1', '/x/foo?a=1'), ('/keep/foo', '/keep/foo'),
                       ('/plain/foo?q', '/prefix/foo?q')):
        r = p.get(path)
        assert r.status == 200, (path, r.status)
        got = b.last()
        assert got.target == want, (path, got.target)


def test_error_page_file_validators(t):
    """An error_page served from a file keeps its ETag but not its
    Last-Modified (nginx's header filter keeps Last-Modified on 200, 206
    and 304 only); the file itself, asked for directly, has both."""
    import os
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
    error_page 404 /nf.html;
}""", start=False)
    t.write(os.path.join(p.prefix, 'html', 'nf.html'), 'NOTFOUND\n')
    p.start()
    r = p.get('/nope')
    assert r.status == 404 and r.body == b'NOTFOUND\n'
    assert r.header('ETag') and not r.header('Last-Modified'), r.headers
    r = p.get('/nf.html')
    assert r.status == 200 and r.header('ETag') and r.header('Last-Modified')


def test_builtin_pages_as_nginx(t):
    """lbd's own pages are nginx's, byte for byte but the signature line:
    302's page says "Found" and 401's "Authorization Required" while their
    status lines say "Moved Temporarily" and "Unauthorized"."""
    import re
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_tokens off;
    location = /302 { return 302 /x; }
    location = /401 { return 401; }
    location = /404 { return 404; }
    location = /503 { return 503; }
}""")
    for code, title in ((302, '302 Found'), (401, '401 Authorization Required'),
                        (404, '404 Not Found'), (503, '503 Service Temporarily Unavailable')):
        r = p.get('/%d' % code)
        assert r.status == code
        body = re.sub(rb'<hr><center>[^<]*</center>', b'<hr><center>SIG</center>', r.body)
        assert body == ('<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n'
                        '<center><h1>%s</h1></center>\r\n<hr><center>SIG</center>\r\n'
                        '</body>\r\n</html>\r\n' % (title, title)).encode(), (code, r.body)


def test_static_methods_as_nginx(t):
    """nginx's static module: GET and HEAD serve, POST is looked up (404
    for a missing file, 405 for one found, also through index and
    try_files), any other method 405; a small body before a pipelined
    request is skipped."""
    import os
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
    location /t/ { try_files $uri /f.txt; }
}""", start=False)
    t.write(os.path.join(p.prefix, 'html', 'f.txt'), 'F\n')
    t.write(os.path.join(p.prefix, 'html', 'd', 'index.html'), 'I\n')
    p.start()
    for method, path, want in (('POST', '/f.txt', 405), ('POST', '/nf', 404), ('PUT', '/f.txt', 405),
                               ('PUT', '/nf', 405), ('DELETE', '/nf', 405), ('POST', '/d/', 405),
                               ('POST', '/t/x', 405), ('GET', '/t/x', 200), ('HEAD', '/f.txt', 200)):
        r = p.req(method, path, body=b'abc' if method in ('POST', 'PUT') else b'')
        assert r.status == want, (method, path, r.status)


def test_redirect_location_directives(t):
    """absolute_redirect, port_in_redirect and server_name_in_redirect
    shape the Location of lbd's own redirects (return with a relative
    URI, the slash added to a directory) as nginx's."""
    import os
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name main.test alias.test;
    root {prefix}/html;
    location = /a { return 302 /x; }
    location = /rel { absolute_redirect off; return 302 /x; }
    location = /noport { port_in_redirect off; return 302 /x; }
    location = /name { server_name_in_redirect on; return 302 /x; }
    location /d { absolute_redirect off; }
}""", start=False)
    t.write(os.path.join(p.prefix, 'html', 'd', 'index.html'), 'I\n')
    p.start()

    def loc(path):
        r = p.get(path, host='alias.test')
        assert r.status in (301, 302), (path, r.status)
        return r.header('Location')
    assert loc('/a') == 'http://alias.test:%d/x' % p.port
    assert loc('/rel') == '/x'
    assert loc('/noport') == 'http://alias.test/x'
    assert loc('/name') == 'http://main.test:%d/x' % p.port
    assert loc('/d') == '/d/'


def test_error_page_status_as_nginx(t):
    """error_page's code wins over the page's handler, as nginx's
    r->err_status: the error's own (no `=`) or =CODE's, for a return text,
    a static file, a proxied answer and a named location; `=` alone lets
    the handler's code through; a redirect from the page keeps its own
    code; $status in a returned text is the code it goes out with."""
    import os
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
    location /a/ { error_page 404 = /fb; }
    location /c/ { error_page 404 @named; }
    location /d/ { error_page 404 http://example.com/forbidden; }
    location /e/ { error_page 404 =301 http://example.com/moved; }
    location /j/ { error_page 404 /fb; }
    location /k/ { error_page 404 =302 /fb; }
    location /l/ { error_page 404 @p; }
    location /m/ { error_page 404 = @p; }
    location /n/ { error_page 404 =200 @p; }
    location /o/ { error_page 404 /fb2; }
    location /s/ { error_page 404 /page.html; }
    location /u/ { error_page 404 =200 /page.html; }
    location @p { proxy_pass http://127.0.0.1:{b}; }
    location @named { return 200 "named:$uri:$status\\n"; }
    location = /fb { return 200 "fb:$status\\n"; }
    location = /fb2 { return 302 /elsewhere; }
}""", b=b, start=False)
    t.write(os.path.join(p.prefix, 'html', 'page.html'), 'PAGE\n')
    p.start()
    want = {'/a/x': (200, b'fb:200\n'), '/c/x': (404, b'named:/c/x:404\n'),
            '/d/x': (302, None), '/e/x': (301, None), '/j/x': (404, b'fb:404\n'),
            '/k/x': (302, b'fb:302\n'), '/l/x': (404, None), '/m/x': (200, None),
            '/n/x': (200, None), '/o/x': (302, None), '/s/x': (404, b'PAGE\n'),
            '/u/x': (200, b'PAGE\n')}
    for path, (st, body) in want.items():
        r = p.get(path)
        assert r.status == st, (path, r.status)
        if body is not None:
            assert r.body == body, (path, r.body)


def test_codes_without_a_page(t):
    """A code nginx has no page for (418, 299) goes out with an empty body
    and Content-Length: 0, and the connection keeps serving."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /418 { return 418; }
    location = /299 { return 299; }
    location = /ok { return 200 "ok"; }
}""")
    with p.conn() as c:
        for path, code in (('/418', 418), ('/299', 299), ('/ok', 200)):
            c.send(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode())
            r = c.read_response()
            assert r.status == code, (path, r.status)
            assert r.body == (b'ok' if code == 200 else b''), (path, r.body)
            if code != 200:
                assert r.header('Content-Length') == '0', (path, r.headers)


def test_return_types_and_empty_codes_as_nginx(t):
    """A `return` text is typed as nginx types it: by $uri's extension
    through `types`, else default_type (so `location = /robots.txt` and
    `= /x.json` answer with their file's type); `return 200;` without a
    text is an empty answer with that type; `return 404 ""` is nginx's
    404 page; `return 499` closes the connection without an answer, as
    444."""
    p = t.proxy("""
types { application/json json; text/plain txt; text/html html; }
default_type application/octet-stream;
server {
    listen 127.0.0.1:{port};
    location = /robots.txt { return 200 "User-agent: *\\n"; }
    location = /x.json { return 200 '{"a":1}'; }
    location = /page.html { return 404 "gone"; }
    location = /plain { return 200 "p"; }
    location = /empty { return 200; }
    location = /empty.json { return 299; }
    location = /gone { return 499; }
    location = /timeout { return 408; }
    location = /e404 { return 404 ""; }
    location = /v404 { return 404 "$arg_none"; }
}""")
    for path, status, ctype, body in (('/robots.txt', 200, 'text/plain', b'User-agent: *\n'),
                                      ('/x.json', 200, 'application/json', b'{"a":1}'),
                                      ('/page.html', 404, 'text/html', b'gone'),
                                      ('/plain', 200, 'application/octet-stream', b'p'),
                                      ('/empty', 200, 'application/octet-stream', b''),
                                      ('/empty.json', 299, 'application/json', b'')):
        r = p.get(path)
        assert (r.status, r.header('Content-Type'), r.body) == (status, ctype, body), (path, r)
        assert r.header('Content-Length') == str(len(body)), (path, r.headers)
    # a text written empty is none: a code from 400 gets its page; one
    # of variables that comes out empty is an empty text (lbd before: an
    # empty answer for both)
    r = p.get('/e404')
    assert (r.status, r.header('Content-Type')) == (404, 'text/html'), r
    assert b'<center><h1>404 Not Found</h1></center>' in r.body, r.body
    r = p.get('/v404')
    assert (r.status, r.body, r.header('Content-Length')) == (404, b'', '0'), r
    for path in (b'/gone', b'/timeout'):
        with p.conn() as c:
            c.send(b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n\r\n')
            assert c.is_closed(timeout=5), path


def test_return_conditionals_as_nginx(t):
    """nginx's not_modified filter runs on a `return 200` text too: it has
    no validators, so `If-None-Match: *` is a 304 (no body, no type), a
    failed `If-Match` or any `If-Unmodified-Since` is a 412; a tag or a
    date to compare with changes nothing; other codes are left alone."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /t { return 200 "text"; }
    location = /e { return 200; }
    location = /n { return 404 "nf"; }
}""")
    lm = 'Mon, 01 Jan 2001 00:00:00 GMT'
    for path in ('/t', '/e'):
        r = p.get(path, headers={'If-None-Match': '*'})
        assert (r.status, r.body, r.header('Content-Type')) == (304, b'', None), (path, r)
        for h in ({'If-Match': '"x"'}, {'If-Unmodified-Since': lm}):
            assert p.get(path, headers=h).status == 412, (path, h)
        for h in ({'If-None-Match': '"x"'}, {'If-Modified-Since': lm}, {'If-Match': '*'}):
            assert p.get(path, headers=h).status == 200, (path, h)
    r = p.get('/n', headers={'If-None-Match': '*', 'If-Match': '"x"'})
    assert (r.status, r.body) == (404, b'nf'), r
    # the connection stays usable after a 304
    with p.conn() as c:
        c.send(b'GET /t HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n'
               b'GET /t HTTP/1.1\r\nHost: x\r\n\r\n')
        assert c.read_response().status == 304
        r = c.read_response()
        assert (r.status, r.body) == (200, b'text'), r


def test_pipe_variable(t):
    """$pipe is "p" for a request whose head was already read behind the
    previous one on the connection, "." otherwise."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { return 200 "$pipe"; }
}""")
    with p.conn() as c:
        c.send(b'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n')
        assert [c.read_response().body for _ in range(2)] == [b'.', b'p']
        c.send(b'GET /3 HTTP/1.1\r\nHost: x\r\n\r\n')
        assert c.read_response().body == b'.'


def test_disable_symlinks_as_nginx(t):
    """disable_symlinks: off follows links; on refuses a path through any
    link, a file's or a directory's (403, nginx's log line with errno
    40); if_not_owner lets a link through only when it and its target
    have one owner; from=$document_root leaves the root's own path
    unchecked (a root reached through a link); index files and try_files
    obey it too. A link to a directory is a 404 under `on`, as in nginx
    (its O_DIRECTORY|O_NOFOLLOW open fails with ENOTDIR)."""
    import os
    import re
    d = t.tmpdir()
    for sub in ('on', 'own', 'off', 'tf'):
        os.makedirs(os.path.join(d, sub, 'dir'))
        t.write(os.path.join(d, sub, 'real.txt'), 'real\n')
        t.write(os.path.join(d, sub, 'dir', 'f.txt'), 'f\n')
        t.write(os.path.join(d, sub, 'nobody.txt'), 'nobody\n')
        os.chown(os.path.join(d, sub, 'nobody.txt'), 65534, 65534)
        os.symlink('real.txt', os.path.join(d, sub, 'link.txt'))
        os.symlink('nobody.txt', os.path.join(d, sub, 'other.txt'))
        os.symlink('dir', os.path.join(d, sub, 'dirlink'))
        os.makedirs(os.path.join(d, sub, 'ix'))
        os.symlink('../real.txt', os.path.join(d, sub, 'ix', 'index.html'))
    os.symlink(d, d + '.rl')
    t.defer(lambda: os.unlink(d + '.rl'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %(d)s;
    location /on/ { disable_symlinks on; }
    location /own/ { disable_symlinks if_not_owner; }
    location /off/ { }
    location /tf/ { disable_symlinks on; try_files $uri /tf/real.txt; }
}
server {
    listen 127.0.0.1:{port2};
    root %(d)s.rl;
    location / { disable_symlinks on from=$document_root; }
    location /all/ { alias %(d)s.rl/on/; disable_symlinks on; }
}""" % {'d': d})
    want = {
        '/on/real.txt': 200, '/on/link.txt': 403, '/on/dirlink/f.txt': 404,
        '/on/dir/f.txt': 200, '/on/ix/': 403, '/on/missing': 404,
        '/own/link.txt': 200, '/own/other.txt': 403, '/own/dirlink/f.txt': 200,
        '/off/link.txt': 200, '/off/other.txt': 200, '/off/dirlink/f.txt': 200,
        '/tf/link.txt': 200,
    }
    got = {path: p.get(path).status for path in want}
    assert got == want, got
    assert p.get('/tf/link.txt').body == b'real\n'  # try_files fell back
    p2 = p.subs['port2']
    from harness import request
    got = [request(p2, path=x).status for x in ('/on/real.txt', '/on/link.txt', '/all/real.txt')]
    assert got == [200, 403, 404], got  # the root's link, a directory: 404
    log = p.error_log()
    for lvl, path in (('error', '/on/link.txt'), ('crit', '/tf/link.txt')):
        assert re.search(r'\[%s\] .*openat\(\) "%s%s" failed \(40: Too many levels of '
                         r'symbolic links\), client: 127\.0\.0\.1' %
                         (lvl, re.escape(d), re.escape(path)), log), (lvl, path)
    p.write_conf(http="""
server { listen 127.0.0.1:{port}; disable_symlinks off from=/x; }""")
    r = p.run('-t')
    assert r.returncode != 0 and '"from=" cannot be used with "off" parameter' in r.stderr


def test_try_files_before_proxy_pass(t):
    """try_files in a proxy_pass location runs first, as in nginx: a file
    that exists becomes $uri and is proxied (not served), a missing one
    falls to the last argument (=404, a named location)."""
    import os
    b = t.backend('b')
    d = t.tmpdir()
    os.makedirs(os.path.join(d, 'p'))
    t.write(os.path.join(d, 'p', 'here.txt'), 'local\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location /p/ { try_files $uri /p/here.txt; proxy_pass http://127.0.0.1:{b}; }
    location /q/ { try_files $uri =404; proxy_pass http://127.0.0.1:{b}; }
    location /n/ { try_files $uri @up; proxy_pass http://127.0.0.1:{b}; }
    location @up { return 299 "named"; }
}""" % d, b=b)
    r = p.get('/p/here.txt?a=1')
    assert r.status == 200 and r.json()['path'] == '/p/here.txt', r
    r = p.get('/p/missing')
    assert r.status == 200 and r.json()['path'] == '/p/here.txt', r
    assert p.get('/q/missing').status == 404
    r = p.get('/n/missing')
    assert (r.status, r.body) == (299, b'named'), r


def test_return_444_logged(t):
    """`return 444` closes without an answer and is in the access log with
    status 444, as nginx writes it (scanners dropped this way are counted
    from the log)."""
    import os
    p = t.proxy("""
log_format s '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/s.log s;
    location /drop { return 444; }
}""")
    with p.conn() as c:
        c.send(b'GET /drop HTTP/1.1\r\nHost: x\r\n\r\n')
        assert c.is_closed(timeout=5)

    def log():
        try:
            with open(os.path.join(p.prefix, 's.log')) as f:
                return f.read()
        except OSError:
            return ''
    from harness import wait_for
    assert wait_for(lambda: log()) == 'GET /drop HTTP/1.1 444 0\n'


def test_expires_modified_and_time_of_day(t):
    """`expires modified TIME` counts from the answer's Last-Modified (a
    file's mtime, an upstream's header; now without one) and says no-cache
    once that is past; `expires @TIME` is the next such time of day (local
    time), also from a variable, as nginx's headers filter."""
    import calendar
    import email.utils
    import os
    import time as _t
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
    location /old/ { expires modified +2d; }
    location /stale/ { expires modified 1h; }
    location /p/ { expires modified 1d; proxy_pass http://127.0.0.1:{b}/; }
    location = /nolm { expires modified 1h; return 200 ok; }
    location = /day { expires @23h59m; return 200 ok; }
    location = /dayvar { set $e "@6h"; expires $e; return 200 ok; }
}""", b=b, start=False)
    mtime = int(_t.time()) - 86400
    for d in ('old', 'stale'):
        f = t.write(os.path.join(p.prefix, 'html', d, 'f.txt'), 'x\n')
        os.utime(f, (mtime, mtime))
    p.start()

    def when(r):
        return calendar.timegm(email.utils.parsedate(r.header('Expires')))

    def max_age(r):
        cc = r.header('Cache-Control')
        assert cc.startswith('max-age='), cc
        return int(cc[8:])

    r = p.get('/old/f.txt')
    assert r.status == 200 and when(r) == mtime + 2 * 86400, r.headers
    assert abs(max_age(r) - 86400) <= 5, r.headers
    r = p.get('/stale/f.txt')
    assert (r.header('Cache-Control'), when(r)) == ('no-cache', mtime + 3600), r.headers
    lm = email.utils.formatdate(mtime + 82800, usegmt=True)  # an hour ago
    r = p.get('/p/headers?Last-Modified=' + lm.replace(' ', '%20').replace(',', '%2C'))
    assert r.status == 200 and when(r) == mtime + 82800 + 86400, r.headers
    assert abs(max_age(r) - 82800) <= 5, r.headers
    r = p.get('/nolm')
    assert max_age(r) == 3600 and abs(when(r) - (_t.time() + 3600)) <= 5, r.headers
    for path, hh, mm in (('/day', 23, 59), ('/dayvar', 6, 0)):
        r = p.get(path)
        now = _t.time()
        lt = _t.localtime(now)
        want = _t.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, hh, mm, 0, 0, 0, -1))
        if want <= now:
            want = _t.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday + 1, hh, mm, 0, 0, 0, -1))
        assert abs(when(r) - want) <= 2, (path, r.headers)
        assert 0 <= max_age(r) <= 86400 and abs(max_age(r) - (want - now)) <= 5, r.headers
