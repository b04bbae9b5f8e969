# SPDX-License-Identifier: MIT
"""map, geo and split_clients blocks fed by `include` (http and stream),
read as nginx's block handlers read them: a glob in byte order, an
include inside an included file, `hostnames`/`default`/`volatile` lines
from a file, regex captures in values; the -t errors naming the included
file and line; split_clients and stream geo refusing what nginx refuses.
And `proxy_cache $variable`: the zone named per request (nginx 1.7.9+),
an empty value or `off` caching nothing and passing the client's
conditional headers on, an unknown name a 500 with nginx's `cache "NAME"
not found` error line."""

import json
import os

from harness import wait_for
from test_stream import read_line, stream_proxy


def _files(t, files):
    d = t.tmpdir('mapgeo-')
    for name, text in files.items():
        t.write(os.path.join(d, name), text)
    return d


def _t_error(t, http, want, where, main=''):
    """-t of HTTP must fail with WANT, then ` in WHERE` when WHERE is a
    FILE:LINE, else in nginx.conf at the line holding the text WHERE."""
    p = t.proxy(http, start=False, main=main)
    p.write_conf()
    res = p.run('-t')
    out = res.stdout + res.stderr
    assert res.returncode != 0 and want in out, (http, out)
    if not where.startswith('/'):
        conf = p.read('conf', 'nginx.conf').splitlines()
        line = [i for i, ln in enumerate(conf, 1) if where in ln][0]
        where = '%s:%d' % (p.path('conf', 'nginx.conf'), line)
    assert want + ' in ' + where in out, (where, out)
    return p


def test_map_geo_include(t):
    d = _files(t, {
        'bots/20-default.map': 'default human;\n',
        'bots/skip.txt': 'not a map line at all;;\n',
        'more.inc': '~*(wget|python)/(?<v>[0-9]+) tool-$1-$v;\n',
        'hosts.map': 'hostnames;\n.example.com ex;\n*.example.org org;\nvolatile;\n'
                     'default other;\n',
        'nets.geo': '127.0.0.2 two;\n10.0.0.0/8 ten;\n',
    })
    # an include inside an included file (its directory known only now)
    t.write(os.path.join(d, 'bots/10-curl.map'),
            '~*(curl) bot-$1;\ninclude %s/more.inc;\n' % d)
    p = t.proxy(r"""
map $http_user_agent $who {
    include %(d)s/bots/*.map;
}
map $http_host $site {
    include %(d)s/hosts.map;
}
geo $http_x_ip $net {
    default none;
    include %(d)s/nets.geo;
}
server {
    listen 127.0.0.1:{port};
    location / { return 200 "$who|$site|$net\n"; }
}""" % {'d': d})
    cases = [
        ({'User-Agent': 'curl/8.0', 'Host': 'www.example.com'}, 'bot-curl|ex|none'),
        ({'User-Agent': 'Wget/1.21', 'Host': 'example.com', 'X-IP': '10.1.2.3'},
         'tool-Wget-1|ex|ten'),
        ({'User-Agent': 'python/3', 'Host': 'a.b.example.org', 'X-IP': '127.0.0.2'},
         'tool-python-3|org|two'),
        ({'User-Agent': 'Mozilla/5.0', 'Host': 'example.org'}, 'human|other|none'),
        ({'User-Agent': 'Mozilla/5.0', 'Host': 'EXAMPLE.COM'}, 'human|ex|none'),
    ]
    for hdrs, want in cases:
        r = p.get('/', headers=hdrs, host=None)
        assert (r.status, r.body.decode().strip()) == (200, want), (hdrs, r.body)


def test_map_geo_split_include_errors(t):
    d = _files(t, {
        'bad.map': 'a 1;\nb 2;\nc\n   3 4;\n',
        'bad.geo': '10.0.0.0/8 ten;\nnot-a-net x;\n',
        'parts.inc': '50% a;\n* b;\n',
    })
    _t_error(t, 'map $uri $m {\n    include %s/bad.map;\n}\n' % d,
             'invalid number of the map parameters', '%s/bad.map:4' % d)
    _t_error(t, 'geo $g {\n    include %s/bad.geo;\n}\n' % d,
             'invalid network "not-a-net"', '%s/bad.geo:2' % d)
    # map and geo read only a two-word include as one
    _t_error(t, 'map $uri $m {\n    include a b;\n}\n',
             'invalid number of the map parameters', 'include a b')
    _t_error(t, 'geo $g {\n    include a b;\n}\n',
             'invalid number of the geo parameters', 'include a b')
    # nginx's split_clients has no include
    _t_error(t, 'split_clients $uri $s {\n    include %s/parts.inc;\n}\n' % d,
             'invalid percent value "include"', 'parts.inc')


def test_stream_map_geo_include(t):
    d = _files(t, {
        'm.inc': '127.0.0.1 one;\ndefault other;\n',
        'g.inc': '127.0.0.0/24 low;\n127.0.0.2 two;\n',
    })
    p = stream_proxy(t, """
    map $remote_addr $m { include %(d)s/m.inc; }
    geo $g { default none; include %(d)s/g.inc; }
    server { listen 127.0.0.1:{port}; return "$m $g\\n"; }""" % {'d': d})
    import socket
    for src, want in (('127.0.0.1', 'one low'), ('127.0.0.2', 'other two'),
                      ('127.0.1.1', 'other none')):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10,
                                     source_address=(src, 0))
        try:
            assert read_line(s).strip().decode() == want, src
        finally:
            s.close()


def test_stream_geo_split_errors(t):
    from test_stream import MAIN
    d = _files(t, {'parts.inc': '50% a;\n* b;\n'})
    for body, want, where in (
            ('geo $g {\n    proxy 127.0.0.1;\n}', 'invalid network "proxy"', 'proxy 127'),
            ('geo $g {\n    proxy_recursive;\n}', 'invalid number of the geo parameters',
             'proxy_recursive'),
            ('split_clients $remote_addr $s {\n    include %s/parts.inc;\n}' % d,
             'invalid percent value "include"', 'parts.inc')):
        _t_error(t, '', want, where, main=MAIN + 'stream {\n' + body + '\n}\n')


HDR = 'add_header X-Cache $upstream_cache_status always;'


def test_proxy_cache_by_variable(t):
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/c1 keys_zone=one:1m;
proxy_cache_path {prefix}/c2 keys_zone=two:1m;
fastcgi_cache_path {prefix}/fc keys_zone=fz:1m;
map $http_x_zone $zone {
    default "";
    ~^(?<z>.+)$ $z;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache $zone;
        proxy_cache_valid 200 10m;
        %s
    }
}""" % HDR, b=b)

    def get(path, zone=None, method='GET', extra=()):
        h = [('X-Zone', zone)] if zone is not None else []
        return p.req(method, path, headers=h + list(extra))

    # each zone keeps its own entries
    seq = [('one', 'MISS'), ('one', 'HIT'), ('two', 'MISS'), ('two', 'HIT')]
    for zone, want in seq:
        r = get('/a', zone)
        assert (r.status, r.header('X-Cache')) == (200, want), (zone, r)
    assert b.count() == 2
    assert os.listdir(p.path('c1')) and os.listdir(p.path('c2'))
    # an empty value or "off": no cache, the client's conditions go upstream
    cond = [('If-None-Match', '"x"'), ('Range', 'bytes=0-3')]
    for zone in (None, 'off'):
        n = b.count()
        r = get('/a', zone, extra=cond)
        assert r.status in (200, 206) and not r.header('X-Cache'), (zone, r)
        assert b.count() == n + 1
        seen = {k.lower(): v for k, v in b.last().headers}
        assert seen.get('if-none-match') == '"x"', (zone, seen)
    # a cached request does not pass them (nginx's cache header set)
    r = get('/b', 'one', extra=cond)
    assert r.header('X-Cache') == 'MISS'
    seen = {k.lower(): v for k, v in b.last().headers}
    assert 'if-none-match' not in seen and 'range' not in seen, seen
    # an unknown name, another module's zone, another case: 500 and
    # nginx's error line; the upstream is not asked
    n = b.count()
    for zone in ('nope', 'fz', 'One'):
        r = get('/a', zone)
        assert r.status == 500, (zone, r)
        wait_for(lambda: 'cache "%s" not found' % zone in p.error_log(),
                 what='error line for %s' % zone)
    assert b.count() == n
    # nginx checks the method first: a POST is not cached, so not looked up
    r = get('/a', 'nope', method='POST')
    assert r.status == 200 and b.count() == n + 1, r
    assert json.loads(r.body)['method'] == 'POST'


def test_map_value_kept_per_request(t):
    """A map's value is evaluated once per request and kept, across a
    rewrite and an internal redirect too (nginx's variable cache); a
    `volatile` map is evaluated at every use; `set` on a map variable
    gives it the set value for the rest of the request."""
    p = t.proxy(r"""
map $uri $kept { default "u=$uri"; }
map $uri $vol { volatile; default "u=$uri"; }
server {
    listen 127.0.0.1:{port};
    location /a { set $x "$kept $vol"; rewrite ^ /b last; }
    location /b { return 200 "$x|$kept $vol\n"; }
    location /c { set $x "$kept $vol"; error_page 404 = /b; return 404; }
    location /d { set $x "$kept"; return 200 "$x|$kept $vol\n"; }
    location /s { set $x "$kept"; set $kept "s"; return 200 "$x|$kept $vol\n"; }
    location /v { set $vol "v"; return 200 "$x|$kept $vol\n"; }
}""")
    for path, want in (('/a', 'u=/a u=/a|u=/a u=/b'), ('/c', 'u=/c u=/c|u=/c u=/b'),
                       ('/b', '|u=/b u=/b'), ('/d', 'u=/d|u=/d u=/d'),
                       ('/s', 'u=/s|s u=/s'), ('/v', '|u=/v v')):
        r = p.get(path)
        assert (r.status, r.body.decode().strip()) == (200, want), (path, r.body)
    # the next request on the same connection evaluates afresh
    with p.conn() as c:
        for path in ('/d', '/dd'):
            r = c.request('GET', path)
            assert r.body.decode().strip() == 'u=%s|u=%s u=%s' % (path, path, path), r.body
