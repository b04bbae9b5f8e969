# SPDX-License-Identifier: MIT
"""proxy_pass with variables, as nginx 1.22 evaluates it per request:
the host names an upstream block (the `map $host $backend` routing idiom),
an address (then a URI part in the URL is sent as it is, arguments only
when the URL has them), or a name no resolver could find (502, nginx's
"no resolver defined to resolve NAME"); a URL that does not start with
http:// is a 500. $proxy_host follows the evaluated URL. Every case runs
against nginx too."""

import json


def _target(r):
    return json.loads(r.body)['target']


def test_proxy_pass_with_variables(t):
    a, b, c = t.backend('a'), t.backend('b'), t.backend('c')
    p = t.proxy("""
map $host $app {
    default  pool_a;
    b.test   pool_b;
}
upstream pool_a { server 127.0.0.1:{a}; }
upstream pool_b { server 127.0.0.1:{b}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://$app; }
    location /u/ { proxy_pass http://$app/fixed$is_args$args; }
    location /addr/ { proxy_pass http://127.0.0.1:{c}$request_uri; }
    location /uri/ { proxy_pass http://127.0.0.1:{c}$uri; }
    location /arg/ { proxy_pass http://$arg_to; }
    location /host/ { proxy_set_header X-PH $proxy_host; proxy_pass http://127.0.0.1:{c}/h; }
    location /vhost/ { proxy_set_header X-PH $proxy_host; proxy_pass http://$app/h; }
    location ~ ^/re/(.*)$ { proxy_pass http://127.0.0.1:{c}/got/$1; }
    location /bad/ { proxy_pass $arg_u; }
}""", a=a, b=b, c=c)
    # the map picks the upstream block by Host
    r = p.get('/x/y?q=1', headers={'Host': 'a.test'})
    assert (r.status, r.header('X-Backend'), _target(r)) == (200, 'a', '/x/y?q=1'), r
    r = p.get('/x/y?q=1', headers={'Host': 'b.test'})
    assert (r.status, r.header('X-Backend'), _target(r)) == (200, 'b', '/x/y?q=1'), r
    # a URI part in the URL is sent as evaluated
    r = p.get('/u/z?k=v', headers={'Host': 'b.test'})
    assert (r.header('X-Backend'), _target(r)) == ('b', '/fixed?k=v'), r
    r = p.get('/addr/p%20q?x=1')
    assert (r.header('X-Backend'), _target(r)) == ('c', '/addr/p%20q?x=1'), r
    # $uri alone: decoded, no arguments
    r = p.get('/uri/p?x=1')
    assert (r.header('X-Backend'), _target(r)) == ('c', '/uri/p'), r
    # regex location with a capture: allowed with variables
    r = p.get('/re/one/two')
    assert (r.header('X-Backend'), _target(r)) == ('c', '/got/one/two'), r
    # a literal address from the request
    r = p.get('/arg/?to=127.0.0.1:%d' % b.port)
    assert (r.status, r.header('X-Backend'), _target(r)) == (200, 'b', '/arg/?to=127.0.0.1:%d' % b.port), r
    # $proxy_host: the evaluated URL's host[:port]
    r = p.get('/vhost/', headers={'Host': 'b.test'})
    assert json.loads(r.body)['headers'] and r.header('X-Backend') == 'b'
    hdrs = dict((k.lower(), v) for k, v in json.loads(r.body)['headers'])
    assert (hdrs['host'], hdrs['x-ph']) == ('pool_b', 'pool_b'), hdrs
    # a name that is no upstream needs a resolver: 502
    r = p.get('/arg/?to=nosuch.invalid')
    assert r.status == 502, r
    assert 'no resolver defined to resolve nosuch.invalid' in p.error_log()
    # not an http:// URL: 500
    r = p.get('/bad/?u=ftp://127.0.0.1/')
    assert r.status == 500, r
    assert 'invalid URL prefix in "ftp://127.0.0.1/"' in p.error_log()


def test_proxy_pass_variables_and_failover(t):
    """An upstream block found through a variable keeps its balancing and
    failover: a dead first server, the request goes to the next."""
    live = t.backend('live')
    dead = t.dead_port()
    p = t.proxy("""
upstream pool { server 127.0.0.1:{dead}; server 127.0.0.1:{live}; }
server {
    listen 127.0.0.1:{port};
    set $name pool;
    location / { proxy_pass http://$name; }
}""", live=live, dead=dead)
    for _ in range(4):
        r = p.get('/f')
        assert (r.status, r.header('X-Backend')) == (200, 'live'), r


def test_proxy_pass_variable_with_scheme_or_bad_port(t):
    """proxy_pass http://$v: a value that has its own http:// is the host
    "http" with an empty port, and a port that is no number 1..65535 is
    bad: 500 and nginx's "invalid port in upstream" line naming all that
    followed the scheme. (lbd before: 502 "no resolver defined to resolve
    http".)"""
    a = t.backend('a')
    p = t.proxy("""
upstream app { server 127.0.0.1:{a}; }
server {
    listen 127.0.0.1:{port};
    location /arg/ { proxy_pass http://$arg_to; }
}""", a=a)
    assert p.get('/arg/?to=app').header('X-Backend') == 'a'
    for to in ('http://127.0.0.1:%d' % a.port, 'http://app', 'https://app/x',
               'app:0', 'app:65536', 'app:8x/y'):
        r = p.get('/arg/?to=' + to)
        assert r.status == 500, (to, r)
        line = 'invalid port in upstream "%s", client: 127.0.0.1' % to
        assert line in p.error_log(), (line, p.error_log()[-600:])
