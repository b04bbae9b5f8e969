# SPDX-License-Identifier: MIT
"""auth_request / auth_request_set against nginx with the same config: an
auth service (AuthBackend, this file) that answers by the X-Token header,
a session cookie or its path and records what it received. The request
the auth service gets is compared byte for byte between nginx and lbd
(GET, the internal location's URI, the client's headers, no body, the
X-Original-URI / proxy_pass_request_body off / Content-Length "" idiom);
2xx lets the request on (proxy_pass, static, return), 401 (with the
service's WWW-Authenticate) and 403 are answered, anything else (another
code, a dead service, a read timeout) is a 500 with nginx's log line;
auth_request_set values reach proxy_set_header, add_header and the access
log; oauth2-proxy's documented configuration (error_page 401 = a sign-in
location, both a URI and a named one); Authelia's (`error_page 401 =302
$redirection_url` from the answer's Location); an auth location that
`return`s;
inheritance and `off`; satisfy any/all with allow/deny and auth_basic; a
POST body reaching the app byte-exact; keep-alive, pipelined requests,
the auth upstream's keepalive pool, HTTP/2 (h2c) streams, HTTPS over
HTTP/2 and HTTP/1.1 ($scheme, $https in the subrequest); a client gone
mid-auth and a reload while one waits; one access log line per client
request; -t errors."""

import base64
import hashlib
import os
import re
import subprocess
import threading

from harness import Backend, Conn, wait_for


class AuthBackend(Backend):
    """An auth service: X-Token good (or Cookie session=ok) -> 200 with
    X-Auth-Request-User/-Email, bad/none -> 401 + WWW-Authenticate, forbid
    -> 403, nope -> 404, created -> 201; a body always (to be dropped)."""

    empty = False  # answer with empty bodies (nginx then keeps the connection)

    def _respond(self, c, req):
        tok = req.header('X-Token') or ''
        cookie = req.header('Cookie') or ''
        status, extra = 200, []
        if tok == 'good' or 'session=ok' in cookie:
            extra = [('X-Auth-Request-User', 'alice'),
                     ('X-Auth-Request-Email', 'alice@example.com')]
        elif tok == 'created':
            status, extra = 201, [('X-Auth-Request-User', 'bob')]
        elif tok == 'forbid':
            status = 403
        elif tok == 'nope':
            status = 404
        elif tok == 'redir':  # Authelia's authz answer to a stranger
            status, extra = 401, [('Location', 'https://auth.example.com/?rd=' +
                                   (req.header('X-Original-URL') or ''))]
        else:
            status, extra = 401, [('WWW-Authenticate', 'Bearer realm="t"'),
                                  ('X-Auth-Request-User', 'nobody')]
        body = b'' if self.empty else b'{"auth": "a body that must not reach the client"}\n'
        conn = (req.header('Connection') or '').lower()
        keep = req.version == 'HTTP/1.1' and 'close' not in conn
        hdrs = [('X-Backend', self.name), ('Content-Type', 'application/json'),
                ('Content-Length', str(len(body))),
                ('Connection', 'keep-alive' if keep else 'close')] + extra
        out = ['HTTP/1.1 %d X' % status] + ['%s: %s' % kv for kv in hdrs]
        c.sendall(('\r\n'.join(out) + '\r\n\r\n').encode() + body)
        return keep


def _auth(t, empty=False):
    a = AuthBackend('auth')
    a.empty = empty
    t.defer(a.stop)
    return a


AUTH_LOC = """
    location = /_auth {
        internal;
        proxy_pass http://127.0.0.1:{auth}/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URI $request_uri;
        proxy_set_header X-Original-Method $request_method;
    }"""


def _basic_proxy(t, app, auth, extra_http='', extra_loc=''):
    return t.proxy("""
log_format ar '$request|$status|$user|$email|$uri';
%s
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/ar.log ar;
    location / {
        auth_request /_auth;
        auth_request_set $user $upstream_http_x_auth_request_user;
        auth_request_set $email $upstream_http_x_auth_request_email;
        proxy_set_header X-User $user;
        add_header X-User $user;
        proxy_pass http://127.0.0.1:{app};
        %s
    }
    location /static/ {
        auth_request /_auth;
        root {prefix}/html;
    }
    location /ret/ {
        auth_request /_auth;
        auth_request_set $user $upstream_http_x_auth_request_user;
        return 200 "user=$user\\n";
    }
%s
}""" % (extra_http, extra_loc, AUTH_LOC), app=app, auth=auth)


def _norm(raw, auth):
    """The auth service's request with its port made neutral."""
    return raw.replace(b':%d' % auth.port, b':PORT')


def test_auth_request_verdicts(t):
    app = t.backend('app')
    auth = _auth(t)
    p = _basic_proxy(t, app, auth)
    r = p.get('/a/b?x=1', headers={'X-Token': 'good', 'X-Extra': 'e'})
    assert r.status == 200 and r.backend == 'app', r
    assert r.header('X-User') == 'alice'
    assert app.last().header('X-User') == 'alice'
    assert app.last().target == '/a/b?x=1'
    # exactly what nginx sends the auth service
    assert _norm(auth.last().raw, auth) == (
        b'GET /check HTTP/1.0\r\nX-Original-URI: /a/b?x=1\r\nX-Original-Method: GET\r\n'
        b'Host: 127.0.0.1:PORT\r\nConnection: close\r\nX-Token: good\r\nX-Extra: e\r\n\r\n'
    ), auth.last().raw
    # a 201 is a 2xx too
    r = p.get('/c', headers={'X-Token': 'created'})
    assert (r.status, r.header('X-User')) == (200, 'bob')
    n_app = app.count()
    # 401 with the service's challenge, 403, 404 -> 500; the app never asked
    r = p.get('/a', headers={'X-Token': 'bad'})
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Bearer realm="t"', r
    assert r.header('X-User') is None  # add_header: not on a 401
    assert b'auth": "a body' not in r.body
    r = p.get('/a')
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Bearer realm="t"'
    r = p.get('/a', headers={'X-Token': 'forbid'})
    assert r.status == 403 and r.header('WWW-Authenticate') is None
    r = p.get('/a', headers={'X-Token': 'nope'})
    assert r.status == 500 and r.header('Connection') == 'close'
    assert app.count() == n_app
    wait_for(lambda: 'auth request unexpected status: 404 while sending to client, '
             'client: 127.0.0.1, server: , request: "GET /a HTTP/1.1", host: "localhost"'
             in p.error_log(), what='the unexpected status line')
    # `return` answers in the rewrite phase, before the access phase:
    # the auth service is not asked
    n = auth.count()
    r = p.get('/ret/x', headers={'X-Token': 'forbid'})
    assert (r.status, r.body, auth.count()) == (200, b'user=\n', n)
    # a static file after the auth answer
    t.write(p.path('html', 'static', 'f.txt'), 'static file\n')
    r = p.get('/static/f.txt', headers={'Cookie': 'a=b; session=ok'})
    assert (r.status, r.body) == (200, b'static file\n')
    assert auth.last().header('Cookie') == 'a=b; session=ok'
    r = p.get('/static/f.txt')
    assert r.status == 401
    # the internal location is not reachable from outside
    assert p.get('/_auth', headers={'X-Token': 'good'}).status == 404
    # one access log line per client request, the subrequest's values in it
    want = ['GET /a/b?x=1 HTTP/1.1|200|alice|alice@example.com|/a/b',
            'GET /c HTTP/1.1|200|bob||/c',
            'GET /a HTTP/1.1|401|nobody||/a',
            'GET /a HTTP/1.1|401|nobody||/a',
            'GET /a HTTP/1.1|403|||/a',
            'GET /a HTTP/1.1|500|||/a',
            'GET /ret/x HTTP/1.1|200|-|-|/ret/x',
            'GET /static/f.txt HTTP/1.1|200|-|-|/static/f.txt',
            'GET /static/f.txt HTTP/1.1|401|-|-|/static/f.txt',
            'GET /_auth HTTP/1.1|404|-|-|/_auth']
    wait_for(lambda: p.read('logs', 'ar.log').splitlines() == want,
             what='access log %r' % p.read('logs', 'ar.log'))


def test_auth_request_body_keepalive_pipelined(t):
    app = t.backend('app')
    auth = _auth(t)
    p = _basic_proxy(t, app, auth)
    body = os.urandom(300 * 1024)
    r = p.req('POST', '/up', headers={'X-Token': 'good'}, body=body)
    assert r.status == 200, r
    j = r.json()
    assert (j['method'], j['body_len'], j['body_sha256']) == (
        'POST', len(body), hashlib.sha256(body).hexdigest()), j
    a = auth.last()
    assert (a.method, a.body, a.header('Content-Length'), a.header('X-Original-Method')) == (
        'GET', b'', None, 'POST')
    # HEAD: the auth service is still asked with GET
    r = p.req('HEAD', '/h', headers={'X-Token': 'good'})
    assert r.status == 200 and r.body == b'' and app.last().method == 'HEAD'
    assert (auth.last().method, auth.last().header('X-Original-Method')) == ('GET', 'HEAD')
    # refused POST on a keep-alive connection, then good requests on it
    with Conn(p.port) as c:
        r = c.request('POST', '/up', {'X-Token': 'forbid'}, b'x' * 1000)
        assert r.status == 403
        if not c.is_closed(timeout=0.3):
            r = c.request('POST', '/up', {'X-Token': 'good'}, b'y' * 5000)
            assert r.status == 200 and r.json()['body_len'] == 5000
    # pipelined: three requests in one write, answered in order
    with Conn(p.port) as c:
        reqs = [(b'POST', b'/p1', b'good', b'abc'), (b'GET', b'/p2', b'forbid', b''),
                (b'GET', b'/p3', b'good', b'')]
        data = b''
        for m, path, tok, b in reqs:
            data += m + b' ' + path + b' HTTP/1.1\r\nHost: x\r\nX-Token: ' + tok + \
                b'\r\nContent-Length: %d\r\n\r\n' % len(b) + b
        c.send(data)
        r1 = c.read_response('POST')
        r2 = c.read_response()
        r3 = c.read_response()
        assert (r1.status, r2.status, r3.status) == (200, 403, 200)
        assert r1.json()['target'] == '/p1' and r1.json()['body_len'] == 3
        assert r3.json()['target'] == '/p3'


def test_auth_request_failures(t):
    app = t.backend('app')
    dead = t.dead_port()
    slow = t.backend('slow', force_path='/slow/3000')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /dead/ {
        auth_request /_dead;
        proxy_pass http://127.0.0.1:{app};
    }
    location /slow/ {
        auth_request /_slow;
        proxy_pass http://127.0.0.1:{app};
    }
    location = /_dead { internal; proxy_pass http://127.0.0.1:{dead}; }
    location = /_slow {
        internal;
        proxy_read_timeout 300ms;
        proxy_pass http://127.0.0.1:{slow};
    }
    location /missing/ {
        auth_request /nowhere;
        proxy_pass http://127.0.0.1:{app};
    }
}""", app=app, dead=dead, slow=slow)
    r = p.get('/dead/x')
    assert r.status == 500, r
    wait_for(lambda: 'auth request unexpected status: 502' in p.error_log(),
             what='502 line')
    assert 'connect() failed (111: Connection refused) while connecting to upstream, ' \
        'client: 127.0.0.1, server: , request: "GET /dead/x HTTP/1.1", subrequest: "/_dead", ' \
        'upstream: "http://127.0.0.1:%d/_dead", host: "localhost"' % dead in p.error_log()
    r = p.get('/slow/x')
    assert r.status == 500, r
    wait_for(lambda: 'auth request unexpected status: 504' in p.error_log(),
             what='504 line')
    assert 'upstream timed out (110: Connection timed out) while reading response header ' \
        'from upstream, client: 127.0.0.1, server: , request: "GET /slow/x HTTP/1.1", ' \
        'subrequest: "/_slow", upstream: "http://127.0.0.1:%d/_slow"' % slow.port \
        in p.error_log()
    # a URI no location takes: the server's own settings, a 404 -> 500
    r = p.get('/missing/x')
    assert r.status == 500
    # no upstream took part: no action in the line
    wait_for(lambda: 'auth request unexpected status: 404, client: 127.0.0.1, server: , '
             'request: "GET /missing/x HTTP/1.1", host: "localhost"' in p.error_log(),
             what='404 line')
    assert app.count() == 0


def test_auth_request_return_location(t):
    app = t.backend('app')
    p = t.proxy("""
map $http_x_token $auth_code {
    good    204;
    forbid  403;
    moved   302;
    drop    444;
    default 401;
}
server {
    listen 127.0.0.1:{port};
    location / {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:{app};
    }
    location = /_auth {
        internal;
        if ($auth_code = 204) { return 204; }
        if ($auth_code = 403) { return 403; }
        if ($auth_code = 302) { return 302 /elsewhere; }
        if ($auth_code = 444) { return 444; }
        return 401;
    }
}""", app=app)
    assert p.get('/x', headers={'X-Token': 'good'}).status == 200
    r = p.get('/x')
    assert r.status == 401 and r.header('WWW-Authenticate') is None
    assert p.get('/x', headers={'X-Token': 'forbid'}).status == 403
    assert p.get('/x', headers={'X-Token': 'moved'}).status == 500
    # `return 444` in the auth location closes the client's connection
    with p.conn() as c:
        c.send(b'GET /x HTTP/1.1\r\nHost: x\r\nX-Token: drop\r\n\r\n')
        assert c.is_closed(timeout=5)
    assert app.count() == 1


def test_auth_request_oauth2_proxy(t):
    """oauth2-proxy's documented nginx configuration (its sign-in and
    callback under /oauth2/ on the same service), and the named-location
    variant that redirects to an external start URL."""
    app = t.backend('app')
    auth = _auth(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name app.example;
    location /oauth2/ {
        proxy_pass       http://127.0.0.1:{auth};
        proxy_set_header Host                    $host;
        proxy_set_header X-Real-IP               $remote_addr;
        proxy_set_header X-Scheme                $scheme;
        proxy_set_header X-Auth-Request-Redirect $request_uri;
    }
    location = /oauth2/auth {
        proxy_pass       http://127.0.0.1:{auth};
        proxy_set_header Host             $host;
        proxy_set_header X-Real-IP        $remote_addr;
        proxy_set_header X-Scheme         $scheme;
        proxy_set_header Content-Length   "";
        proxy_pass_request_body           off;
    }
    location / {
        auth_request /oauth2/auth;
        error_page 401 = /oauth2/sign_in;
        auth_request_set $user   $upstream_http_x_auth_request_user;
        auth_request_set $email  $upstream_http_x_auth_request_email;
        proxy_set_header X-User  $user;
        proxy_set_header X-Email $email;
        auth_request_set $auth_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $auth_cookie;
        proxy_pass http://127.0.0.1:{app};
    }
    location /named/ {
        auth_request /oauth2/auth;
        error_page 401 = @oauth2_signin;
        proxy_pass http://127.0.0.1:{app};
    }
    location @oauth2_signin {
        return 302 https://auth.example.com/oauth2/start?rd=$scheme://$host$request_uri;
    }
}""", app=app, auth=auth)
    r = p.get('/page?q=1', host='app.example', headers={'Cookie': 'session=ok'})
    assert r.status == 200 and r.backend == 'app'
    assert (app.last().header('X-User'), app.last().header('X-Email')) == (
        'alice', 'alice@example.com')
    a = auth.last()
    assert (a.method, a.target, a.header('Host'), a.header('X-Scheme')) == (
        'GET', '/oauth2/auth', 'app.example', 'http')
    assert a.header('Content-Length') is None and a.body == b''
    # not signed in: the sign-in page of the auth service, as a 401
    n = auth.count()
    r = p.get('/page?q=1', host='app.example')
    assert r.status == 401 and r.header('X-Backend') == 'auth', r
    assert auth.count() == n + 2
    s = auth.requests[-1]
    assert (s.method, s.target, s.header('X-Auth-Request-Redirect')) == (
        'GET', '/oauth2/sign_in', '/page?q=1')
    # the named location: a redirect to the external start URL
    # the challenge stays in nginx's response headers after the redirect:
    # the sign-in page's own and the auth answer's
    assert r.header_all('WWW-Authenticate') == ['Bearer realm="t"'] * 2
    r = p.get('/named/x?y=2', host='app.example')
    assert r.status == 302, r
    assert r.header_all('WWW-Authenticate') == ['Bearer realm="t"']
    assert r.header('Location') == \
        'https://auth.example.com/oauth2/start?rd=http://app.example/named/x?y=2'
    # direct use of the oauth2 endpoints is not gated
    r = p.get('/oauth2/start', host='app.example')
    assert r.header('X-Backend') == 'auth'
    assert app.count() == 1


def test_auth_request_inheritance_and_satisfy(t):
    app = t.backend('app')
    auth = _auth(t)
    ht = t.write(os.path.join(t.tmpdir('arht-'), 'htpasswd'), 'u:{PLAIN}pw\n')
    p = t.proxy("""
auth_request_set $user $upstream_http_x_auth_request_user;
server {
    listen 127.0.0.1:{port};
    auth_request /_auth;
    add_header X-User $user;
    location / { proxy_pass http://127.0.0.1:{app}; }
    location /open/ {
        auth_request off;
        proxy_pass http://127.0.0.1:{app};
    }
    location /outer/ {
        location /outer/inner/ { proxy_pass http://127.0.0.1:{app}; }
    }
    location /any-allowed/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        proxy_pass http://127.0.0.1:{app};
    }
    location /any-denied/ {
        satisfy any;
        deny all;
        proxy_pass http://127.0.0.1:{app};
    }
    location /all-denied/ {
        deny all;
        proxy_pass http://127.0.0.1:{app};
    }
    location /basic/ {
        auth_basic "b";
        auth_basic_user_file %s;
        proxy_pass http://127.0.0.1:{app};
    }
    location /basic-any/ {
        satisfy any;
        auth_basic "b";
        auth_basic_user_file %s;
        proxy_pass http://127.0.0.1:{app};
    }
%s
}""" % (ht, ht, AUTH_LOC), app=app, auth=auth)
    basic = {'Authorization': 'Basic ' + base64.b64encode(b'u:pw').decode()}

    def asked(fn):
        n = auth.count()
        r = fn()
        return r.status, auth.count() - n

    assert asked(lambda: p.get('/x', headers={'X-Token': 'good'})) == (200, 1)
    assert p.get('/x', headers={'X-Token': 'good'}).header('X-User') == 'alice'
    assert asked(lambda: p.get('/x')) == (401, 1)
    assert asked(lambda: p.get('/open/x')) == (200, 0)
    assert asked(lambda: p.get('/outer/inner/x')) == (401, 1)
    assert asked(lambda: p.get('/any-allowed/x')) == (200, 0)
    assert asked(lambda: p.get('/any-denied/x', headers={'X-Token': 'good'})) == (200, 1)
    assert asked(lambda: p.get('/any-denied/x', headers={'X-Token': 'forbid'})) == (403, 1)
    assert asked(lambda: p.get('/any-denied/x')) == (401, 1)
    assert asked(lambda: p.get('/all-denied/x', headers={'X-Token': 'good'})) == (403, 0)
    assert asked(lambda: p.get('/basic/x', headers={'X-Token': 'good'})) == (401, 0)
    h = dict(basic, **{'X-Token': 'good'})
    assert asked(lambda: p.get('/basic/x', headers=h)) == (200, 1)
    assert asked(lambda: p.get('/basic/x', headers=basic)) == (401, 1)
    assert asked(lambda: p.get('/basic-any/x', headers=basic)) == (200, 0)
    assert asked(lambda: p.get('/basic-any/x', headers={'X-Token': 'good'})) == (200, 1)
    # satisfy any: auth_basic's challenge is dropped once auth_request lets in
    r = p.get('/basic-any/x', headers={'X-Token': 'good'})
    assert r.status == 200 and r.header('WWW-Authenticate') is None
    r = p.get('/basic-any/x', headers={'X-Token': 'forbid'})
    # satisfy any: auth_basic's 401 wins over auth_request's 403
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Basic realm="b"', r


def test_auth_request_upstream_keepalive(t):
    """The auth location's upstream keepalive pool. nginx keeps the
    connection only when the auth answer has no body (it does not read a
    subrequest's body); lbd reads and drops it and keeps the connection in
    both cases (checked for lbd only)."""
    app = t.backend('app')
    auth = _auth(t, empty=True)
    p = t.proxy("""
upstream authsvc {
    server 127.0.0.1:{auth};
    keepalive 4;
}
server {
    listen 127.0.0.1:{port};
    location / {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:{app};
    }
    location = /_auth {
        internal;
        proxy_pass http://authsvc/check;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
}""", app=app, auth=auth)
    with Conn(p.port) as c:
        for i in range(6):
            r = c.request('GET', '/k%d' % i, {'X-Token': 'good' if i % 3 else 'forbid'})
            assert r.status == (200 if i % 3 else 403)
    assert auth.count() == 6 and auth.connections == 1, auth.connections
    assert auth.last().version == 'HTTP/1.1' and auth.last().header('Connection') is None
    if t.target == 'lbd':
        auth.empty = False
        with Conn(p.port) as c:
            for i in range(4):
                assert c.request('GET', '/b%d' % i, {'X-Token': 'good'}).status == 200
        assert auth.count() == 10 and auth.connections == 1, auth.connections


def test_auth_request_h2(t):
    app = t.backend('app')
    auth = _auth(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / {
        auth_request /_auth;
        auth_request_set $user $upstream_http_x_auth_request_user;
        add_header X-User $user;
        proxy_pass http://127.0.0.1:{app};
    }
%s
}""" % AUTH_LOC, app=app, auth=auth)
    body = os.urandom(100000)
    fn = os.path.join(t.tmpdir('arh2-'), 'body')
    with open(fn, 'wb') as f:
        f.write(body)
    # 200 requests on 2 connections, 10 streams at a time each
    for tok, want in (('good', [200, 0, 0, 0]), ('forbid', [0, 0, 200, 0])):
        r = subprocess.run(['h2load', '-n', '200', '-c', '2', '-m', '10', '-H',
                            'X-Token: ' + tok, 'http://127.0.0.1:%d/s' % p.port],
                           capture_output=True, timeout=120)
        out = r.stdout.decode()
        m = re.search(r'status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx', out)
        assert m and [int(x) for x in m.groups()] == want, out
    assert app.count() == 200 and auth.count() == 400
    # POST bodies through, refusals, at once (nginx resets the stream of a
    # refused POST: those go without a body)
    procs = []
    for tok in ('good', 'forbid', 'bad', 'good'):
        data = ['--data-binary', '@' + fn] if tok == 'good' else []
        procs.append(subprocess.Popen(
            ['curl', '-sS', '--max-time', '20', '--http2-prior-knowledge', '-H',
             'X-Token: ' + tok, '-o', '/dev/null', '-w', '%{http_code}'] + data +
            ['http://127.0.0.1:%d/post' % p.port], stdout=subprocess.PIPE))
    codes = [pr.communicate(timeout=30)[0].decode() for pr in procs]
    assert codes == ['200', '403', '401', '200'], codes
    posts = [x for x in app.requests if x.path == '/post']
    assert len(posts) == 2 and all(x.body == body for x in posts)


def test_auth_request_config_errors(t):
    cases = [
        ('location / { auth_request /a; auth_request /b; }',
         '"auth_request" directive is duplicate'),
        ('auth_request /a /b;', 'invalid number of arguments in "auth_request" directive'),
        ('auth_request_set user $upstream_http_x;', 'invalid variable name "user"'),
        ('auth_request_set $host $upstream_http_x;', 'the duplicate "host" variable'),
        ('auth_request_set $u;', 'invalid number of arguments in "auth_request_set" directive'),
        ('location / { if ($args) { auth_request /a; } }',
         '"auth_request" directive is not allowed here'),
        ('location / { limit_except GET { auth_request /a; } }',
         '"auth_request" directive is not allowed here'),
    ]
    p = t.proxy("server { listen 127.0.0.1:{port}; }", start=False)
    for body, msg in cases:
        p.write_conf(http='server {\n    listen 127.0.0.1:{port};\n    %s\n}' % body)
        r = p.run('-t')
        assert r.returncode == 1, 'accepted: %s' % body
        lineno = [ln.strip() for ln in p.text.split('\n')].index(body) + 1
        want = '%s in %s:%d' % (msg, p.conf_path, lineno)
        assert want in r.stderr, 'want %r\n got %r' % (want, r.stderr)
    # a variable only auth_request_set declares is known to the rest
    p.write_conf(http="""
server {
    listen 127.0.0.1:{port};
    auth_request off;
    location / { auth_request_set $who $upstream_http_x; return 200 $who; }
}""")
    r = p.run('-t')
    assert r.returncode == 0, r.stderr


def test_auth_request_client_gone_and_reload(t):
    """The client leaves while the auth service holds its answer (HTTP/1.1
    and an HTTP/2 connection), and a reload comes while one waits: the
    waiting request still completes on the old configuration, and the
    proxy keeps serving."""
    app = t.backend('app')
    hold = t.backend('hold')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{port2} http2;
    location / {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:{app};
    }
    location = /_auth {
        internal;
        proxy_pass http://127.0.0.1:{hold}/hold/$http_x_key;
    }
}""", app=app, hold=hold)
    port2 = int(re.search(r'listen 127\.0\.0\.1:(\d+) http2', p.read('conf', 'nginx.conf'))[1])
    # HTTP/1.1 client gone mid-auth
    c = Conn(p.port)
    c.send(b'GET /gone HTTP/1.1\r\nHost: x\r\nX-Key: k1\r\n\r\n')
    wait_for(lambda: hold.active == 1, what='auth held')
    c.close()
    # HTTP/2 connection gone mid-auth (curl gives up)
    r = subprocess.run(['curl', '-sS', '--max-time', '1', '--http2-prior-knowledge', '-H',
                        'X-Key: k2', 'http://127.0.0.1:%d/gone2' % port2],
                       capture_output=True, timeout=30)
    assert r.returncode == 28, r
    hold.release('k1')
    hold.release('k2')
    wait_for(lambda: hold.active == 0, what='auth answers sent')
    # a reload while a request waits for its auth answer
    c = Conn(p.port)
    c.send(b'GET /during HTTP/1.1\r\nHost: x\r\nX-Key: k3\r\n\r\n')
    wait_for(lambda: hold.active == 1, what='auth held')
    p.write_conf()
    p.signal(1)  # SIGHUP
    wait_for(lambda: 'reconfiguring' in p.error_log() or 'reload' in p.error_log(),
             what='reload seen')
    hold.release('k3')
    r = c.read_response()
    c.close()
    assert r.status == 200 and r.backend == 'app'
    hold.release('k4')
    r = p.get('/after', headers={'X-Key': 'k4'})
    assert r.status == 200 and r.backend == 'app'
    assert p.alive()


def test_auth_request_authelia(t):
    """Authelia's documented snippets: the authz location with
    X-Original-URL, Remote-* headers through auth_request_set, and
    `error_page 401 =302 $redirection_url` from the answer's Location."""
    app = t.backend('app')
    auth = _auth(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    set $upstream_authelia http://127.0.0.1:{auth}/api/authz/auth-request;
    location /internal/authelia/authz {
        internal;
        proxy_pass $upstream_authelia;
        proxy_set_header X-Original-Method $request_method;
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header Content-Length "";
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_http_version 1.1;
        proxy_read_timeout 5s;
    }
    location / {
        auth_request /internal/authelia/authz;
        auth_request_set $user $upstream_http_x_auth_request_user;
        auth_request_set $email $upstream_http_x_auth_request_email;
        proxy_set_header Remote-User $user;
        proxy_set_header Remote-Email $email;
        auth_request_set $redirection_url $upstream_http_location;
        error_page 401 =302 $redirection_url;
        proxy_pass http://127.0.0.1:{app};
    }
}""", app=app, auth=auth)
    r = p.get('/doc?id=7', host='app.example', headers={'X-Token': 'good'})
    assert r.status == 200 and app.last().header('Remote-User') == 'alice'
    a = auth.last()
    assert (a.target, a.header('X-Original-URL'), a.header('X-Original-Method'),
            a.header('X-Forwarded-For')) == ('/api/authz/auth-request',
                                             'http://app.example/doc?id=7', 'GET', '127.0.0.1')
    r = p.get('/doc?id=7', host='app.example', headers={'X-Token': 'redir'})
    assert r.status == 302, r
    assert r.header('Location') == 'https://auth.example.com/?rd=http://app.example/doc?id=7'
    r = p.get('/doc', host='app.example', headers={'X-Token': 'forbid'})
    assert r.status == 403
    assert app.count() == 1


def test_auth_request_tls_h2(t):
    """An HTTPS client over HTTP/2 (ALPN) and HTTP/1.1: the subrequest sees
    the main request's $scheme and $https."""
    from test_tls import make_cert
    crt, key = make_cert(t, t.tmpdir('arcert-'), 'a', 'localhost')
    app = t.backend('app')
    auth = _auth(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:{app};
    }
    location = /_auth {
        internal;
        proxy_pass http://127.0.0.1:{auth}/check;
        proxy_set_header X-Scheme $scheme;
        proxy_set_header X-Https $https;
        proxy_set_header X-Proto $server_protocol;
    }
}""" % (crt, key), app=app, auth=auth)
    for flag, proto in (('--http2', 'HTTP/2.0'), ('--http1.1', 'HTTP/1.1')):
        for tok, want in (('good', '200'), ('bad', '401')):
            r = subprocess.run(['curl', '-sSk', '--max-time', '20', flag, '-H',
                                'X-Token: ' + tok, '-o', '/dev/null', '-w', '%{http_code}',
                                'https://localhost:%d/tls' % p.port],
                               capture_output=True, timeout=30)
            assert r.stdout.decode() == want, (flag, tok, r)
            a = auth.last()
            assert (a.header('X-Scheme'), a.header('X-Https'), a.header('X-Proto')) == (
                'https', 'on', proto), a.headers
    assert app.count() == 2
