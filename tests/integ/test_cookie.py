"""proxy_cookie_domain and proxy_cookie_path on an upstream's Set-Cookie,
as nginx: string and regex forms, several rules (the first match wins),
domains compared without case and without their leading dot (kept),
paths as case-sensitive prefixes, variables and captures in the
replacement, `off`, inheritance, the cookie written again with "; " only
when something changed; and the -t errors."""
import urllib.parse

from harness import assert_location_t_errors


def test_proxy_cookie_rewrites(t):
    b = t.backend('b')
    p = t.proxy(r"""
server {
    listen 127.0.0.1:{port};
    proxy_cookie_domain srv.local server.example;
    location /d/ {
        proxy_cookie_domain backend.local example.com;
        proxy_cookie_domain ~^(.+)\.internal$ $1.public;
        proxy_cookie_domain .dot.test .new.test;
        proxy_cookie_path /app/ /;
        proxy_cookie_path ~*^/CAP/(.*)$ /x/$1;
        proxy_cookie_path /v/ /$host/;
        proxy_pass http://127.0.0.1:{b}/;
    }
    location /off/ { proxy_cookie_domain off; proxy_pass http://127.0.0.1:{b}/; }
    location /inh/ { proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)
    cases = [
        ('/d/', 'a=1; Domain=backend.local; Path=/app/x', 'a=1; Domain=example.com; Path=/x'),
        ('/d/', 'a=1;Domain=BACKEND.LOCAL;path=/app/', 'a=1; Domain=example.com; path=/'),
        ('/d/', 'a=1; domain=.backend.local', 'a=1; domain=.example.com'),
        ('/d/', 'a=1; Domain=api.internal', 'a=1; Domain=api.public'),
        ('/d/', 'a=1; Domain=API.Internal', 'a=1; Domain=API.public'),
        ('/d/', 'a = 1;  Domain = dot.test ;Secure;HttpOnly',
         'a=1; Domain=new.test; Secure; HttpOnly'),
        ('/d/', 'a=1; Path=/CAP/z; Max-Age=5', 'a=1; Path=/x/z; Max-Age=5'),
        ('/d/', 'a=1; Path=/cap/z', 'a=1; Path=/x/z'),
        ('/d/', 'a=1; Path=/v/k', 'a=1; Path=/h.test/k'),
        ('/d/', 'a=1;  Domain=other.org;x', 'a=1;  Domain=other.org;x'),
        ('/d/', 'flag; Domain=backend.local', 'flag; Domain=backend.local'),
        ('/d/', 'a=1; Path=/App/', 'a=1; Path=/App/'),
        ('/d/', 'a=1; Domain=', 'a=1; Domain='),
        ('/d/', 'a=1; Domain=backend.local.evil', 'a=1; Domain=backend.local.evil'),
        ('/d/', 'a=1; Domain=srv.local', 'a=1; Domain=srv.local'),
        ('/inh/', 'a=1; Domain=srv.local', 'a=1; Domain=server.example'),
        ('/off/', 'a=1; Domain=srv.local', 'a=1; Domain=srv.local'),
    ]
    for loc, sent, want in cases:
        r = p.get(loc + 'headers?' + urllib.parse.urlencode({'Set-Cookie': sent}),
                  host='h.test')
        assert r.status == 200
        assert r.header_all('Set-Cookie') == [want], (loc, sent, r.header_all('Set-Cookie'))
    # several Set-Cookie headers, each on its own
    q = urllib.parse.urlencode([('Set-Cookie', 'a=1; Domain=backend.local'),
                                ('Set-Cookie', 'b=2; Path=/app/q')])
    r = p.get('/d/headers?' + q, host='h.test')
    assert r.header_all('Set-Cookie') == ['a=1; Domain=example.com', 'b=2; Path=/q']


def test_proxy_cookie_config_errors(t):
    cases = [
        ('proxy_cookie_domain a;', 'invalid parameter "a"'),
        ('proxy_cookie_path off; proxy_cookie_path /a /b;',
         '"proxy_cookie_path" directive is duplicate'),
        ('proxy_cookie_domain a b; proxy_cookie_domain off;',
         '"proxy_cookie_domain" directive is duplicate'),
        ('proxy_cookie_domain a b c;',
         'invalid number of arguments in "proxy_cookie_domain" directive'),
        ('proxy_cookie_path ~( /x;', 'pcre2_compile() failed: missing closing parenthesis'),
    ]
    assert_location_t_errors(t, cases)


def test_proxy_cookie_flags(t):
    """proxy_cookie_flags: the first rule naming the cookie (without case,
    `~` regex, variables) sets or drops Secure, HttpOnly and SameSite,
    normalises a SameSite of another value, appends what is missing in
    that order, ignores unknown flags; with the other two directives."""
    b = t.backend('b')
    p = t.proxy(r"""
server {
    listen 127.0.0.1:{port};
    location /f/ {
        proxy_cookie_flags one secure httponly samesite=strict;
        proxy_cookie_flags ~^sess nosecure nohttponly nosamesite;
        proxy_cookie_flags two samesite=lax bogus;
        proxy_cookie_flags $arg_n samesite=none;
        proxy_cookie_domain a.test b.test;
        proxy_pass http://127.0.0.1:{b}/;
    }
    location /off/ { proxy_cookie_flags off; proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)
    cases = [
        ('/f/', 'one=1', 'one=1; Secure; HttpOnly; SameSite=Strict'),
        ('/f/', 'ONE=1; secure; SameSite=lax', 'ONE=1; secure; SameSite=Strict; HttpOnly'),
        ('/f/', 'one=1; SameSite=STRICT', 'one=1; SameSite=STRICT; Secure; HttpOnly'),
        ('/f/', 'one=1;secure', 'one=1; secure; HttpOnly; SameSite=Strict'),
        ('/f/', 'sess_id=x; Secure; HttpOnly; SameSite=None; Path=/', 'sess_id=x; Path=/'),
        ('/f/', 'SESS=x; Secure', 'SESS=x'),  # the regex ignores case
        ('/f/', 'two=2; Domain=a.test', 'two=2; Domain=b.test; SameSite=Lax'),
        ('/f/', 'three=3; Secure', 'three=3; Secure'),
        ('/f/?n=three', 'three=3; Secure', 'three=3; Secure; SameSite=None'),
        ('/f/', 'one', 'one'),
        ('/off/', 'one=1', 'one=1'),
    ]
    for loc, sent, want in cases:
        path, _, q = loc.partition('?')
        qs = urllib.parse.urlencode({'Set-Cookie': sent}) + ('&' + q if q else '')
        r = p.get(path + 'headers?' + qs)
        assert r.status == 200
        assert r.header_all('Set-Cookie') == [want], (loc, sent, r.header_all('Set-Cookie'))


def test_proxy_cookie_flags_config_errors(t):
    cases = [
        ('proxy_cookie_flags a;', 'invalid parameter "a"'),
        ('proxy_cookie_flags off; proxy_cookie_flags a secure;',
         '"proxy_cookie_flags" directive is duplicate'),
        ('proxy_cookie_flags a secure; proxy_cookie_flags off;',
         '"proxy_cookie_flags" directive is duplicate'),
        ('proxy_cookie_flags a secure httponly samesite=strict nosecure nohttponly '
         'nosamesite samesite=none samesite=lax;',
         'invalid number of arguments in "proxy_cookie_flags" directive'),
        ('proxy_cookie_flags ~( secure;', 'pcre2_compile() failed: missing closing parenthesis'),
    ]
    assert_location_t_errors(t, cases)
