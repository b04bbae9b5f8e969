# SPDX-License-Identifier: MIT
"""X-Accel-Redirect from the upstream, as nginx follows it (apps hand file
downloads to the proxy this way: Django's sendfile, Rails' x_sendfile_header):
the answer is dropped and the request goes on at the given URI, usually an
`internal` location, as GET (HEAD stays HEAD; a named location keeps the
method), with the upstream's Content-Type and its Set-Cookie,
Content-Disposition, Cache-Control, Expires and Accept-Ranges; whatever
the upstream's status; percent-escapes decoded, a ".." segment refused
with 404; `proxy_ignore_headers X-Accel-Redirect` passes the answer on.
Every case runs against nginx too."""

import os
import urllib.parse


def _q(**kw):
    return urllib.parse.urlencode(kw)


def test_x_accel_redirect(t):
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /app/ { proxy_pass http://127.0.0.1:{b}/; }
    location /ign/ { proxy_pass http://127.0.0.1:{b}/; proxy_ignore_headers X-Accel-Redirect; }
    location /protected/ { internal; alias {prefix}/files/; }
    location /m/ { internal; return 200 "m:$request_method:$uri:$args"; }
    location @named { return 200 "named:$uri:$request_method"; }
}""", b=b, start=False)
    f = os.path.join(p.prefix, 'files')
    t.write(os.path.join(f, 'a.txt'), 'AAA\n')
    t.write(os.path.join(f, 'a b.txt'), 'SPACE\n')
    p.start()

    def xar(uri, method='GET', path='/app/headers', **hdrs):
        hdrs['X-Accel-Redirect'] = uri
        return p.req(method, path + '?' + _q(**hdrs), body=b'x' if method == 'POST' else b'')

    r = xar('/protected/a.txt', **{
        'Set-Cookie': 's=1', 'Content-Disposition': 'attachment; filename="x"',
        'Content-Type': 'text/x-app', 'X-Other': '1', 'Cache-Control': 'private',
        'Expires': 'Thu, 01 Jan 2037 00:00:00 GMT', 'Accept-Ranges': 'none', 'Vary': 'X',
        'Link': '<a>', 'ETag': '"up"'})
    assert (r.status, r.body) == (200, b'AAA\n'), r
    assert r.header('Content-Type') == 'text/x-app'
    assert r.header('Set-Cookie') == 's=1'
    assert r.header('Content-Disposition') == 'attachment; filename="x"'
    assert r.header('Cache-Control') == 'private'
    assert r.header('Expires') == 'Thu, 01 Jan 2037 00:00:00 GMT'
    assert sorted(r.header_all('Accept-Ranges')) == ['bytes', 'none']
    for gone in ('X-Other', 'Vary', 'Link', 'X-Accel-Redirect', 'X-Backend'):
        assert r.header(gone) is None, gone
    assert r.header('ETag') != '"up"' and r.header('Last-Modified')  # the file's
    # escapes decoded; the upstream's type stays
    r = xar('/protected/a%20b.txt')
    assert (r.status, r.body) == (200, b'SPACE\n'), r
    assert r.header('Content-Type') == 'application/json'
    assert xar('/protected/a b.txt').body == b'SPACE\n'
    # named location: the method is kept
    assert xar('@named').body == b'named:/app/headers:GET'
    assert xar('@named', 'POST').body == b'named:/app/headers:POST'
    # a URI: GET, its query as $args; HEAD stays HEAD
    assert xar('/m/x?k=v', 'POST').body == b'm:GET:/m/x:k=v'
    r = xar('/m/y', 'HEAD')
    assert (r.status, r.body) == (200, b'')
    # unsafe or missing -> 404
    assert xar('/protected/../files/a.txt').status == 404
    assert xar('/protected/none.txt').status == 404
    assert xar('relative.txt').status == 404
    # any status of the upstream's
    for st in ('404', '302'):
        r = xar('/protected/a.txt', path='/app/status/' + st, Location='/x')
        assert (r.status, r.body) == (200, b'AAA\n'), (st, r)
        assert r.header('Location') is None
    # ignored: the answer goes through, the header still hidden
    r = xar('/protected/a.txt', path='/ign/headers')
    assert r.status == 200 and r.header('X-Backend') == 'b'
    assert r.header('X-Accel-Redirect') is None
    if not t.is_nginx:
        assert 'unsafe URI "/protected/../files/a.txt" was detected' in p.error_log()
