# SPDX-License-Identifier: MIT
"""HTTP basic authentication (auth_basic, auth_basic_user_file), satisfy
and limit_except against nginx with the same config and the same user
file: every password scheme right and wrong ({PLAIN}, {SHA}, {SSHA},
$apr1$ from `openssl passwd -apr1`, crypt(3): $2y$/$2b$ bcrypt, $y$
yescrypt, $6$, $5$, $1$, DES, made through libcrypt as htpasswd and
`openssl passwd` make them), no/malformed Authorization, unknown user, the
error log lines, the realm (unescaped, as nginx 1.22; with variables),
`auth_basic off` below, error_page 401, a user file changed without a
reload, 5000 users and 10000-byte lines, a missing file, $remote_user in
the access log, a 401 on a keep-alive connection then a good request on
it, satisfy any/all with allow/deny, limit_req before the check,
limit_except, HTTP/2 (h2c), and the -t errors."""

import base64
import ctypes
import hashlib
import os
import subprocess
import threading

from harness import Conn, wait_for

TRUSTED = '127.0.0.1'
OTHER = '127.0.0.2'

_lc = ctypes.CDLL('libcrypt.so.1')
_lc.crypt.restype = ctypes.c_char_p
_lc.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_lc.crypt_gensalt.restype = ctypes.c_char_p
_lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]


_lc_lock = threading.Lock()  # crypt() and crypt_gensalt() share static buffers


def _crypt(pw, prefix, cost=0):
    with _lc_lock:
        salt = _lc.crypt_gensalt(prefix, cost, None, 0) if prefix else b'ab'
        return _lc.crypt(pw.encode(), salt).decode()


def _sha(pw):
    return '{SHA}' + base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()


def _ssha(pw, salt=b'\x01s4lt\xff'):
    d = hashlib.sha1(pw.encode() + salt).digest()
    return '{SSHA}' + base64.b64encode(d + salt).decode()


def _openssl(*args):
    return subprocess.run(['openssl', 'passwd'] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def _users():
    """(user, password, hash) of every scheme."""
    u = [('plain', 'p1', '{PLAIN}p1'),
         ('sha', 'p2', _sha('p2')),
         ('ssha', 'p3', _ssha('p3')),
         ('apr1', 'p4', _openssl('-apr1', 'p4')),
         ('apr1long', 'a' * 40, _openssl('-apr1', '-salt', 'xy', 'a' * 40)),
         ('md5', 'p5', _openssl('-1', 'p5')),
         ('sha512', 'p6', _openssl('-6', 'p6')),
         ('sha256', 'p7', _crypt('p7', b'$5$')),
         ('bcrypt', 'p8', _crypt('p8', b'$2b$', 4)),
         ('yescrypt', 'p9', _crypt('p9', b'$y$')),
         ('des', 'p10', _crypt('p10', None))]
    b = _crypt('p11', b'$2b$', 4)
    u.append(('bcrypt2y', 'p11', '$2y$' + b[4:]))  # htpasswd -B
    return u


def _basic(user, pw):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, pw)).encode()).decode()


def _get(p, path, auth=None, src=TRUSTED, method='GET', conn=None, body=b''):
    hl = [('Host', 'x')]
    if auth is not None:
        hl.append(('Authorization', auth))
    if conn is not None:
        return conn.request(method, path, hl, body=body, host=None)
    with Conn(p.port, source=src) as c:
        return c.request(method, path, hl, body=body, host=None)


def _errlog_has(p, text):
    return wait_for(lambda: text in p.error_log(), what='error log: ' + text)


def _root(t):
    root = t.tmpdir('authroot-')
    for d in ('a', 'a/open', 'v', 'm', 'f', 'lx', 'any', 'all'):
        t.write(os.path.join(root, d, 'index.html'), 'page %s\n' % d)
    return root


def test_auth_basic_schemes_and_errors(t):
    users = _users()
    root = _root(t)
    ht = t.write(os.path.join(t.tmpdir('authht-'), 'htpasswd'),
                 '# comment line\n\n' + ''.join('%s:%s\n' % (u, h) for u, _, h in users) +
                 'crlf:{PLAIN}c1\r\nlast:{PLAIN}nonl')
    b1 = t.backend('b1')
    p = t.proxy("""
log_format au '$remote_user|$status|$request_uri';
server {
    listen 127.0.0.1:{port};
    root %s;
    access_log {prefix}/logs/au.log au;
    location /a/ {
        auth_basic "Restricted";
        auth_basic_user_file %s;
    }
    location /p/ {
        auth_basic "Proxied";
        auth_basic_user_file %s;
        proxy_pass http://127.0.0.1:{b1};
    }
}""" % (root, ht, ht), b1=b1)
    for user, pw, _ in users + [('crlf', 'c1', ''), ('last', 'nonl', '')]:
        r = _get(p, '/a/', _basic(user, pw))
        assert r.status == 200 and r.body == b'page a\n', (user, r.status)
        r = _get(p, '/a/', _basic(user, pw + 'x'))
        assert r.status == 401, (user, r.status)
        _errlog_has(p, 'user "%s": password mismatch, client: 127.0.0.1, server: , '
                    'request: "GET /a/ HTTP/1.1", host: "x"' % user)
    r = _get(p, '/a/')
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Basic realm="Restricted"', \
        (r.status, r.headers)
    assert r.header('Content-Type') == 'text/html' and b'401 Authorization Required' in r.body
    _errlog_has(p, '[info]')
    _errlog_has(p, 'no user/password was provided for basic authentication, client: 127.0.0.1')
    for bad in ('Bearer abc', 'Basic', 'Basic ', 'Basic !!!!', 'Basic ' + base64.b64encode(
            b'nocolon').decode(), 'Basic ' + base64.b64encode(b':p1').decode(), 'basicx'):
        r = _get(p, '/a/', bad)
        assert r.status == 401 and r.header('WWW-Authenticate'), (bad, r.status)
    # "basic" in any case, spaces before the credentials
    r = _get(p, '/a/', 'bAsIc   ' + base64.b64encode(b'plain:p1').decode())
    assert r.status == 200, r.status
    r = _get(p, '/a/', _basic('nobody', 'x'))
    assert r.status == 401
    _errlog_has(p, 'user "nobody" was not found in "%s", client: 127.0.0.1' % ht)
    # the comment line is not a user; a prefix of a user is not the user
    assert _get(p, '/a/', _basic('# comment line', 'x')).status == 401
    assert _get(p, '/a/', _basic('pla', 'p1')).status == 401
    # $remote_user in the access log (also on a 401 with a wrong password)
    lines = wait_for(lambda: [x for x in p.read('logs', 'au.log').splitlines()
                              if x.startswith('plain|')] or None, what='au.log')
    assert 'plain|200|/a/' in lines and 'plain|401|/a/' in lines, lines
    # keep-alive: a 401, then a good request on the same connection
    with Conn(p.port) as c:
        r = _get(p, '/a/', conn=c)
        assert r.status == 401 and r.header('Connection') != 'close'
        r = _get(p, '/a/', _basic('plain', 'p1'), conn=c)
        assert r.status == 200 and r.body == b'page a\n'
        r = _get(p, '/a/', _basic('plain', 'bad'), conn=c)
        assert r.status == 401
        r = _get(p, '/a/', _basic('sha', 'p2'), conn=c)
        assert r.status == 200
        # a refused POST: its body is discarded, the connection stays
        r = _get(p, '/a/', method='POST', body=b'x=1&y=2', conn=c)
        assert r.status == 401
        r = _get(p, '/a/', _basic('plain', 'p1'), conn=c)
        assert r.status == 200 and r.body == b'page a\n'
    # proxied: the upstream gets the request (and Authorization) only
    # once the password is right
    n = len(b1.requests)
    assert _get(p, '/p/x', _basic('plain', 'no')).status == 401
    assert len(b1.requests) == n
    r = _get(p, '/p/x', _basic('md5', 'p5'))
    assert r.status == 200 and r.backend == 'b1'
    assert b1.last().header('Authorization') == _basic('md5', 'p5')


def test_auth_basic_realm_off_reload_free_file(t):
    root = _root(t)
    d = t.tmpdir('authht-')
    ht = t.write(os.path.join(d, 'htpasswd'), 'u:{PLAIN}one\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    auth_basic "a \\"q\\" \\\\b";
    auth_basic_user_file %s;
    location /a/ {
        location /a/open/ { auth_basic off; }
    }
    location /v/ { auth_basic "realm $host $uri"; }
    location /m/ { auth_basic_user_file %s/missing; }
    location /f/ { auth_basic_user_file %s/$arg_f; }
    location /lx/ { set $r off; auth_basic $r; }
    location /any/ { error_page 401 /a/open/index.html; }
}""" % (root, ht, d, d))
    # error_page 401 to a page: its body, the 401 and the challenge
    r = _get(p, '/any/')
    assert (r.status, r.body) == (401, b"page a/open\n"), (r.status, r.body)
    assert r.header('WWW-Authenticate') == 'Basic realm="a "q" \\b"', r.headers
    r = _get(p, '/a/')
    # no escaping of the realm in nginx 1.22
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Basic realm="a "q" \\b"', \
        r.headers
    assert _get(p, '/a/open/').status == 200
    r = _get(p, '/v/')
    assert r.header('WWW-Authenticate') == 'Basic realm="realm x /v/"', r.headers
    # a realm that evaluates to "off" switches the check off too
    assert _get(p, '/lx/').status == 200
    # the user file changes: the next request sees it, no reload
    assert _get(p, '/a/', _basic('u', 'one')).status == 200
    t.write(ht, 'u:{PLAIN}two\nw:%s\n' % _sha('w'))
    assert _get(p, '/a/', _basic('u', 'one')).status == 401
    assert _get(p, '/a/', _basic('u', 'two')).status == 200
    assert _get(p, '/a/', _basic('w', 'w')).status == 200
    # thousands of users, a 10000-byte line before the one asked for
    t.write(ht, ''.join('user%d:{PLAIN}pw%d\n' % (i, i) for i in range(5000)) +
            'long:{PLAIN}' + 'x' * 10000 + '\n' + '#' + 'y' * 10000 + '\nu:{PLAIN}two\n')
    assert _get(p, '/a/', _basic('user4999', 'pw4999')).status == 200
    assert _get(p, '/a/', _basic('user4999', 'pw4998')).status == 401
    assert _get(p, '/a/', _basic('u', 'two')).status == 200
    # nginx's line quirks: ':' ends the password (extra htpasswd fields),
    # a LF inside a login skips the next line too, a bare CR does not
    # end a line
    t.write(ht, 'u3:{PLAIN}ab:cd\nzz\nus\nuser:{PLAIN}p\nab\rcd:{PLAIN}q\nu:{PLAIN}two\n')
    assert _get(p, '/a/', _basic('u3', 'ab')).status == 200
    assert _get(p, '/a/', _basic('u3', 'ab:cd')).status == 401
    assert _get(p, '/a/', _basic('user', 'p')).status == 401
    assert _get(p, '/a/', _basic('cd', 'q')).status == 401
    assert _get(p, '/a/', _basic('u', 'two')).status == 200
    # a missing file: 403 and nginx's error line
    r = _get(p, '/m/', _basic('u', 'two'))
    assert r.status == 403, r.status
    _errlog_has(p, '[error]')
    _errlog_has(p, 'open() "%s/missing" failed (2: No such file or directory), client: '
                '127.0.0.1' % d)
    # a variable file name
    assert _get(p, '/f/?f=htpasswd', _basic('u', 'two')).status == 200
    assert _get(p, '/f/?f=nosuch', _basic('u', 'two')).status == 403
    # a directory as the file: a read error, 500
    os.mkdir(os.path.join(d, 'dir'))
    r = _get(p, '/f/?f=dir', _basic('u', 'two'))
    assert r.status == 500, r.status
    _errlog_has(p, '"%s/dir" failed (21: Is a directory)' % d)


def test_auth_basic_satisfy(t):
    root = _root(t)
    ht = t.write(os.path.join(t.tmpdir('authht-'), 'htpasswd'), 'u:{PLAIN}pw\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    auth_basic "R";
    auth_basic_user_file %s;
    location /any/ { satisfy any; allow 127.0.0.1; deny all; }
    location /all/ { allow 127.0.0.1; deny all; }
    location /a/ { satisfy any; deny all; auth_basic off; }
    location /v/ { satisfy any; }
    location /lx/ { deny all; }
}""" % (root, ht))
    ok = _basic('u', 'pw')
    # any: the address or the password
    assert _get(p, '/any/', src=TRUSTED).status == 200
    r = _get(p, '/any/', src=OTHER)
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Basic realm="R"'
    assert _get(p, '/any/', ok, src=OTHER).status == 200
    assert _get(p, '/any/', _basic('u', 'no'), src=OTHER).status == 401
    # all: both
    assert _get(p, '/all/', src=TRUSTED).status == 401
    assert _get(p, '/all/', ok, src=TRUSTED).status == 200
    r = _get(p, '/all/', ok, src=OTHER)
    assert r.status == 403 and r.header('WWW-Authenticate') is None
    # any with only a refusal: 403, logged
    n = p.error_log().count('access forbidden by rule')
    assert _get(p, '/a/', ok).status == 403
    wait_for(lambda: p.error_log().count('access forbidden by rule') > n, what='forbidden')
    # any with the password check alone
    assert _get(p, '/v/').status == 401
    assert _get(p, '/v/', ok).status == 200
    # deny all before the password: 403 even with a good password
    assert _get(p, '/lx/', ok).status == 403
    assert _get(p, '/lx/').status == 403


def test_auth_basic_after_limit_req(t):
    """limit_req (preaccess) runs before the access phase: a request over
    the rate is refused with 503 whatever its credentials."""
    root = _root(t)
    ht = t.write(os.path.join(t.tmpdir('authht-'), 'htpasswd'), 'u:{PLAIN}pw\n')
    p = t.proxy("""
limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
server {
    listen 127.0.0.1:{port};
    root %s;
    location /a/ {
        limit_req zone=one nodelay;
        auth_basic "R";
        auth_basic_user_file %s;
    }
}""" % (root, ht))
    assert _get(p, '/a/').status == 401
    assert _get(p, '/a/').status == 503
    assert _get(p, '/a/', _basic('u', 'pw')).status == 503


def test_auth_basic_limit_except(t):
    root = _root(t)
    ht = t.write(os.path.join(t.tmpdir('authht-'), 'htpasswd'), 'u:{PLAIN}pw\n')
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location /p/ {
        proxy_pass http://127.0.0.1:{b1};
        limit_except GET {
            auth_basic "writers";
            auth_basic_user_file %s;
        }
    }
    location /d/ {
        proxy_pass http://127.0.0.1:{b1};
        limit_except get POST { deny all; }
        location /d/n/ { proxy_pass http://127.0.0.1:{b1}; }
    }
    location /i/ {
        allow 127.0.0.2;
        deny all;
        proxy_pass http://127.0.0.1:{b1};
        limit_except GET { allow 127.0.0.1; }
    }
}""" % (root, ht), b1=b1)
    assert _get(p, '/p/x').status == 200
    assert _get(p, '/p/x', method='HEAD').status == 200
    r = _get(p, '/p/x', method='POST', body=b'abc')
    assert r.status == 401 and r.header('WWW-Authenticate') == 'Basic realm="writers"'
    assert _get(p, '/p/x', _basic('u', 'pw'), method='POST', body=b'abc').status == 200
    assert b1.last().method == 'POST'
    assert _get(p, '/p/x', method='DELETE').status == 401
    # GET and POST listed (any case), the rest refused
    assert _get(p, '/d/x').status == 200
    assert _get(p, '/d/x', method='HEAD').status == 200
    assert _get(p, '/d/x', method='POST', body=b'a').status == 200
    assert _get(p, '/d/x', method='PUT', body=b'a').status == 403
    assert _get(p, '/d/x', method='OPTIONS').status == 403
    assert _get(p, '/d/x', method='FOO').status == 403
    # a location inside does not inherit limit_except
    assert _get(p, '/d/n/x', method='PUT', body=b'a').status == 200
    # the block's own allow list replaces the location's: for POST only
    # 127.0.0.1 matches a rule; no rule matches 127.0.0.2, so it passes
    assert _get(p, '/i/x', src=TRUSTED).status == 403
    assert _get(p, '/i/x', src=OTHER).status == 200
    assert _get(p, '/i/x', src=TRUSTED, method='POST', body=b'a').status == 200
    assert _get(p, '/i/x', src=OTHER, method='POST', body=b'a').status == 200


def test_auth_basic_h2(t):
    from test_h2 import curl_h2
    root = _root(t)
    ht = t.write(os.path.join(t.tmpdir('authht-'), 'htpasswd'),
                 'u:%s\n' % _openssl('-apr1', 'pw'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    auth_basic "h2 realm";
    auth_basic_user_file %s;
}""" % (root, ht))
    base = 'http://127.0.0.1:%d/a/' % p.port
    ver, code, head, body = curl_h2(base, prior=True)
    assert (ver, code) == ('2', 401), (ver, code)
    assert 'www-authenticate: basic realm="h2 realm"' in head.lower(), head
    ver, code, head, body = curl_h2(base, ['-u', 'u:pw'], prior=True)
    assert (ver, code, body) == ('2', 200, b'page a\n'), (ver, code, body)
    ver, code, head, body = curl_h2(base, ['-u', 'u:px'], prior=True)
    assert code == 401


CONF_ERRORS = [
    ('location / { limit_except FOO { deny all; } }', 'invalid method "FOO"'),
    ('location / { limit_except GET { deny all; } limit_except POST { deny all; } }',
     '"limit_except" directive is duplicate'),
    ('limit_except GET { deny all; }', '"limit_except" directive is not allowed here'),
    ('location / { limit_except GET; }', 'directive "limit_except" has no opening "{"'),
    ('location / { limit_except { deny all; } }',
     'invalid number of arguments in "limit_except" directive'),
    ('satisfy some;', 'invalid value "some"'),
    ('satisfy any; satisfy all;', '"satisfy" directive is duplicate'),
    ('auth_basic a b;', 'invalid number of arguments in "auth_basic" directive'),
    ('auth_basic a; auth_basic b;', '"auth_basic" directive is duplicate'),
    ('auth_basic_user_file a; auth_basic_user_file b;',
     '"auth_basic_user_file" directive is duplicate'),
    ('location / { limit_except GET { satisfy any; } }',
     '"satisfy" directive is not allowed here'),
]


def test_auth_basic_config_errors(t):
    p = t.proxy("server { listen 127.0.0.1:{port}; }", start=False)
    for body, msg in CONF_ERRORS:
        p.write_conf(http='server {\n    listen 127.0.0.1:{port};\n    %s\n}' % body)
        r = p.run('-t')
        assert r.returncode == 1, 'accepted: %s' % body
        lineno = [ln.strip() for ln in p.text.split('\n')].index(body) + 1
        want = '%s in %s:%d' % (msg, p.conf_path, lineno)
        assert want in r.stderr, 'want %r\n got %r' % (want, r.stderr)
    p.write_conf(http="""
auth_basic off;
satisfy any;
server {
    listen 127.0.0.1:{port};
    auth_basic_user_file conf/htpasswd;
    location / {
        limit_except GET HEAD POST PUT DELETE MKCOL COPY MOVE OPTIONS PROPFIND PROPPATCH
                     LOCK UNLOCK PATCH {
            allow 127.0.0.1; deny all; auth_basic "x"; auth_basic_user_file /x;
        }
    }
}""")
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
