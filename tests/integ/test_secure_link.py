"""nginx's secure_link module: `secure_link` + `secure_link_md5` (base64url
MD5, 22 characters or 24 with "==", an optional ",EXPIRES": "1" valid, "0"
expired, empty otherwise; $secure_link_expires in the md5 expression as in
nginx's documented example), the inheritance of the expressions, and
`secure_link_secret` (/PREFIX/HEX/LINK, LINK with its query string), with
nginx's -t errors."""
import base64
import hashlib
import time

from harness import assert_location_t_errors

CONF = r"""
server {
    listen 127.0.0.1:{port};
    secure_link_md5 "$uri sekrit";
    location /s/ {
        secure_link $arg_md5,$arg_expires;
        secure_link_md5 "$secure_link_expires$uri$remote_addr secret";
        if ($secure_link = "") { return 403; }
        if ($secure_link = "0") { return 410; }
        return 200 "ok:$secure_link:$secure_link_expires";
    }
    location /v/ {
        secure_link $arg_h;
        return 200 "[$secure_link][$secure_link_expires]";
    }
    location /p/ {
        secure_link_secret sEcReT;
        return 200 "[$secure_link]";
    }
    location /none/ { return 200 "[$secure_link][$secure_link_expires]"; }
}"""


def b64(text):
    return base64.urlsafe_b64encode(hashlib.md5(text.encode()).digest()).decode()


def test_secure_link_md5_and_expires(t):
    p = t.proxy(CONF)
    future, past = int(time.time()) + 3600, int(time.time()) - 3600

    def s(path, md5, exp):
        return p.get('%s?md5=%s&expires=%s' % (path, md5, exp))

    good = b64('%d/s/file127.0.0.1 secret' % future).rstrip('=')
    r = s('/s/file', good, future)
    assert (r.status, r.body.decode()) == (200, 'ok:1:%d' % future), r.body
    old = b64('%d/s/file127.0.0.1 secret' % past).rstrip('=')
    assert s('/s/file', old, past).status == 410
    assert s('/s/other', good, future).status == 403     # another URI
    assert s('/s/file', good, future + 1).status == 403  # another expiry
    for exp in ('0', 'abc', '', '-5', '1e9', '99999999999999999999999'):
        assert s('/s/file', good, exp).status == 403, exp
    assert p.get('/s/file').status == 403
    # 24 characters with the padding are fine too
    assert s('/s/file', good + '==', future).status == 200


def test_secure_link_values(t):
    p = t.proxy(CONF)
    h = b64('/v/a sekrit')  # the server level's secure_link_md5
    later = int(time.time()) + 600
    cases = [
        (h.rstrip('='), '[1][]'),
        (h, '[1][]'),
        (h.rstrip('=') + '=x', '[1][]'),             # '=' ends it
        (h.rstrip('=') + '=junk', '[][]'),           # over 24 characters
        (h.rstrip('=')[:-1], '[][]'),                 # 21 characters
        (h.rstrip('=') + 'A', '[][]'),                # 23: 17 bytes
        (h.rstrip('=') + 'AA', '[][]'),               # 24 without padding: 18 bytes
        (h.rstrip('=') + '===', '[][]'),              # over 24
        (b64('/v/b sekrit').rstrip('='), '[][]'),     # another URI's
        ('', '[][]'),
        (h.rstrip('=').replace('-', '+').replace('_', '/'), None),  # plain base64
        (h.rstrip('=') + ',%d' % later, '[1][%d]' % later),
        (h.rstrip('=') + ',1', '[0][1]'),
    ]
    for arg, want in cases:
        r = p.get('/v/a?h=' + arg)
        if want is None:  # valid only when the hash has no '-' or '_'
            want = '[1][]' if arg == h.rstrip('=') else '[][]'
        assert (r.status, r.body.decode()) == (200, want), (arg, r.body)
    assert p.get('/none/x?h=' + h).body == b'[][]'


def test_secure_link_secret(t):
    p = t.proxy(CONF)

    def link(path, secret='sEcReT'):
        return hashlib.md5((path + secret).encode()).hexdigest()

    cases = [
        ('/p/%s/top/file.txt' % link('top/file.txt'), '[top/file.txt]'),
        ('/p/%s/top/file.txt' % link('top/file.txt').upper(), '[top/file.txt]'),
        ('/p/%s/f?x=1' % link('f?x=1'), '[f?x=1]'),   # the query string is part of it
        ('/p/%s/f?x=1' % link('f'), '[]'),
        ('/p/%s/file' % link('file', 'other'), '[]'),
        ('/p/%s/file' % link('file')[:31], '[]'),
        ('/p/%s/' % link(''), '[]'),                  # no link
        ('/p/%s' % link('x'), '[]'),
        ('/p/', '[]'),
    ]
    for path, want in cases:
        r = p.get(path)
        assert (r.status, r.body.decode()) == (200, want), (path, r.body)


def test_secure_link_config_errors(t):
    assert_location_t_errors(t, [
        ('secure_link a; secure_link b;', '"secure_link" directive is duplicate'),
        ('secure_link_md5 a; secure_link_md5 b;', '"secure_link_md5" directive is duplicate'),
        ('secure_link_secret a; secure_link_secret b;',
         '"secure_link_secret" directive is duplicate'),
        ('secure_link a b;', 'invalid number of arguments in "secure_link" directive'),
        ('if ($x) { secure_link a; }', '"secure_link" directive is not allowed here'),
    ])
    p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    secure_link $nope_x;\n}",
                start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode != 0 and 'unknown "nope_x" variable' in res.stderr, res.stderr
    for body in ('location / { secure_link_secret x; secure_link $arg_a; }',
                 'secure_link_secret x; secure_link_md5 $uri;'):
        p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    %s\n}" % body, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and '"secure_link_secret" cannot be mixed with ' \
            '"secure_link" and "secure_link_md5"' in out, (body, out)
    # accepted: a secret below expressions, expressions below a secret
    p = t.proxy("""
secure_link_secret top;
server {
    listen 127.0.0.1:{port};
    secure_link $arg_a;
    location / { secure_link_secret x; return 200 "[$secure_link]"; }
    location /m { secure_link_md5 $uri; return 200 "[$secure_link]"; }
}""")
    assert p.get('/m?a=' + b64('/m').rstrip('=')).body == b'[1]'
    assert p.get('/q/%s/z' % hashlib.md5(b'zx').hexdigest()).body == b'[z]'


def test_secure_link_expires_forgotten_on_redirect(t):
    """What $secure_link parsed goes with an internal redirect (error_page,
    a named location), as nginx clears its modules' state there; but a
    $secure_link_expires already read keeps its value, as nginx caches a
    read variable (here the md5 expression reads it)."""
    p = t.proxy(r"""
server {
    listen 127.0.0.1:{port};
    location /s/ {
        secure_link $arg_md5,$arg_expires;
        secure_link_md5 "$secure_link_expires$uri secret";
        error_page 403 = /show;
        error_page 410 = @named;
        if ($secure_link = "") { return 403; }
        if ($secure_link = "0") { return 410; }
        return 200 "ok:$secure_link_expires";
    }
    location = /show { return 200 "[$secure_link_expires]"; }
    location @named { return 200 "<$secure_link_expires>"; }
}""")
    future, past = int(time.time()) + 3600, int(time.time()) - 3600
    bad = b64('%d/s/x secret' % (future + 1)).rstrip('=')
    r = p.get('/s/x?md5=%s&expires=%d' % (bad, future))
    assert (r.status, r.body) == (200, b'[%d]' % future), r.body
    old = b64('%d/s/x secret' % past).rstrip('=')
    r = p.get('/s/x?md5=%s&expires=%d' % (old, past))
    assert (r.status, r.body) == (200, b'<%d>' % past), r.body
    good = b64('%d/s/x secret' % future).rstrip('=')
    r = p.get('/s/x?md5=%s&expires=%d' % (good, future))
    assert (r.status, r.body) == (200, b'ok:%d' % future), r.body
    # the md5 expression without it: not read before the redirect, so
    # the value $secure_link parsed is gone after it
    p2 = t.proxy(r"""
server {
    listen 127.0.0.1:{port};
    location /s/ {
        secure_link $arg_md5,$arg_expires;
        secure_link_md5 "$uri secret";
        error_page 410 = /show;
        if ($secure_link = "0") { return 410; }
        return 200 "ok:$secure_link_expires";
    }
    location = /show { return 200 "[$secure_link_expires]"; }
}""")
    plain = b64('/s/y secret').rstrip('=')
    r = p2.get('/s/y?md5=%s&expires=%d' % (plain, past))
    assert (r.status, r.body) == (200, b'[]'), r.body
    r = p2.get('/s/y?md5=%s&expires=%d' % (plain, future))
    assert (r.status, r.body) == (200, b'ok:%d' % future), r.body
