"""nginx's referer module: valid_referers (none, blocked, server_names,
exact hosts, `*.x` / `.x` / `x.*` wildcards, a host with a URI prefix,
`~regex`) read through $invalid_referer ("" valid, "1" not), the usual
`if ($invalid_referer) { return 403; }`, inheritance from the server
level, a location without valid_referers (always valid), and nginx's -t
errors with FILE:LINE."""
from harness import assert_location_t_errors, conf_line

CONF = r"""
server {
    listen 127.0.0.1:{port};
    server_name site.test *.cdn.test ~^re\d+\.test$;
    valid_referers srv.example;
    location /a {
        valid_referers none blocked server_names *.example.com .good.org www.tail.*
                       exact.net/img/ ~\.search\. ~^rx\.[a-z]+/only;
        valid_referers extra.com/ WWW.Upper.Test;
        return 200 "[$invalid_referer]";
    }
    location /b {
        valid_referers *.example.com *.deep.example.com/x .org.test/y;
        return 200 "[$invalid_referer]";
    }
    location /guard {
        valid_referers good.test;
        if ($invalid_referer) {
            return 403;
        }
        return 200 "ok";
    }
    location /inherit { return 200 "[$invalid_referer]"; }
    location /rxparent {
        valid_referers ~^parent\.;
        location /rxparent/child {
            valid_referers child.test;
            return 200 "[$invalid_referer]";
        }
        return 200 "[$invalid_referer]";
    }
    location /plain {
        valid_referers server_names;
        return 200 "[$invalid_referer]";
    }
}
server {
    listen 127.0.0.1:{port};
    server_name other.test;
    location /free { return 200 "[$invalid_referer]"; }
    location /nosn {
        valid_referers server_names ~^x;
        return 200 "[$invalid_referer]";
    }
}"""

# (path, Referer header or None for no header, valid)
CASES = [
    ('/a', None, True),                       # none
    ('/a', '', True),                         # blocked: empty
    ('/a', 'example.com', True),              # blocked: no scheme
    ('/a', 'ftp://x.example.com/', True),     # blocked: another scheme
    ('/a', 'http://i.r', True),               # blocked: too short to hold a host
    ('/a', 'https://i.ru', False),            # long enough: checked
    ('/a', 'http://a.example.com/p', True),   # *.example.com
    ('/a', 'http://A.B.EXAMPLE.COM', True),   # case, deeper
    ('/a', 'HTTPS://a.example.com:8443/p', True),
    ('/a', 'http://example.com/', False),     # *. needs a label
    ('/a', 'http://badexample.com/', False),
    ('/a', 'http://good.org/', True),         # .good.org: the name itself
    ('/a', 'http://x.y.good.org/z', True),
    ('/a', 'http://notgood.org/', False),
    ('/a', 'http://www.tail.com/', True),     # www.tail.*
    ('/a', 'http://www.tail.co.uk/q', True),
    ('/a', 'http://www.tail/', False),
    ('/a', 'http://exact.net/img/1.png', True),   # exact.net/img/
    ('/a', 'http://exact.net/other', False),
    ('/a', 'http://exact.net', False),
    ('/a', 'http://extra.com/', True),        # "extra.com/": any path
    ('/a', 'http://extra.com', False),      # ... but a path
    ('/a', 'http://www.upper.test/', True),   # keys are lowercased
    ('/a', 'http://site.test/', True),        # server_names: exact
    ('/a', 'http://img.cdn.test/', True),     # server_names: *.cdn.test
    ('/a', 'http://cdn.test/', False),
    ('/a', 'http://re42.test/', True),        # server_names: regex on the host
    ('/a', 'http://re42.test.evil/', False),
    ('/a', 'http://www.search.io/?q=1', True),    # ~\.search\.
    ('/a', 'http://WWW.SEARCH.IO/', True),        # caseless
    ('/a', 'http://rx.abc/only/x', True),     # regex on host/path
    ('/a', 'http://rx.abc/other', False),
    ('/a', 'http://rx.abc:80/only', False),   # the port is part of the text
    ('/a', 'http://srv.example/', False),     # the server level's list is not merged in
    ('/a', 'http://' + 'h' * 256 + '.example.com/', False),  # host over 256 bytes
    ('/a', 'http://evil.test/', False),
    ('/b', None, False),                      # no none
    ('/b', 'junk', False),                    # no blocked
    ('/b', 'http://a.example.com/', True),
    ('/b', 'http://a.deep.example.com/', False),  # the longest wildcard and its URI
    ('/b', 'http://a.deep.example.com/xyz', True),
    ('/b', 'http://org.test/y', True),
    ('/b', 'http://org.test/', False),
    ('/b', 'http://q.org.test/y/z', True),
    ('/inherit', 'http://srv.example/', True),    # the server's valid_referers
    ('/inherit', 'http://srv.example:81', True),
    ('/inherit', 'http://x.srv.example/', False),
    ('/inherit', None, False),
    ('/rxparent', 'http://parent.test/', True),
    ('/rxparent/child', 'http://parent.test/', True),   # a level without regexes takes its parent's
    ('/rxparent/child', 'http://child.test/', True),
    ('/rxparent/child', 'http://other.test/', False),
    ('/plain', 'http://site.test', True),
    ('/plain', 'http://other.test', False),
    ('/plain', None, False),
    ('/free', 'http://evil.test/', True),     # no valid_referers: valid
    ('/free', None, True),
    ('/nosn', 'http://other.test/', True),
    ('/nosn', 'http://xyz/', True),
    ('/nosn', 'http://abc/', False),
]


def test_referer_valid_referers(t):
    p = t.proxy(CONF)
    bad = []
    for path, ref, valid in CASES:
        host = 'other.test' if path in ('/free', '/nosn') else 'site.test'
        r = p.get(path, host=host, headers=[] if ref is None else [('Referer', ref)])
        want = '[]' if valid else '[1]'
        if (r.status, r.body.decode()) != (200, want):
            bad.append((path, ref, r.status, r.body))
    assert not bad, bad


def test_referer_if_return_403(t):
    p = t.proxy(CONF)
    ok = p.get('/guard', host='site.test', headers=[('Referer', 'https://good.test/page')])
    assert (ok.status, ok.body) == (200, b'ok')
    for hdrs in ([], [('Referer', 'https://evil.test/')], [('Referer', 'good.test')]):
        r = p.get('/guard', host='site.test', headers=hdrs)
        assert r.status == 403, (hdrs, r.status)
    # only the first Referer counts
    r = p.get('/guard', host='site.test',
              headers=[('Referer', 'http://good.test/'), ('Referer', 'http://evil.test/')])
    assert r.status == 200, r.status


def test_referer_config_errors(t):
    assert_location_t_errors(t, [
        ('valid_referers a.com A.com;', 'conflicting parameter "a.com"'),  # lowercased
        ('valid_referers *.a.com .a.com;', 'conflicting parameter ".a.com"'),
        ('valid_referers a.com .a.com;', 'conflicting parameter ".a.com"'),
        ('valid_referers a.* a.*;', 'conflicting parameter "a.*"'),
        ('valid_referers a.com/x a.com/y;', 'conflicting parameter "a.com"'),
        ('valid_referers www.*.com;', 'invalid hostname or wildcard "www.*.com"'),
        ('valid_referers *;', 'invalid hostname or wildcard "*"'),
        ('valid_referers a..com;', 'invalid hostname or wildcard "a..com"'),
        ('valid_referers "";', 'invalid referer ""'),
        ('valid_referers "~";', 'empty regex in "~"'),
        ('valid_referers "~(";', 'pcre2_compile() failed: missing closing parenthesis in "("'),
        ('valid_referers;', 'invalid number of arguments in "valid_referers" directive'),
        ('referer_hash_max_size x;', '"referer_hash_max_size" directive invalid number'),
        ('referer_hash_bucket_size 1k;', '"referer_hash_bucket_size" directive invalid number'),
        ('referer_hash_bucket_size 64; referer_hash_bucket_size 64;',
         '"referer_hash_bucket_size" directive is duplicate'),
    ])
    # merge-time errors: nginx names no line (lbd: the http block's end)
    for body, want in [
        ('location / { valid_referers none; }',
         'the "none" or "blocked" referers are specified in the "valid_referers" '
         'directive without any valid referer'),
        ('server_name ~^x; valid_referers blocked ~y server_names;',
         'the "none" or "blocked" referers are specified'),
        ('server_name a.com; location / { valid_referers a.com server_names; }',
         'conflicting parameter "a.com"'),
        ('location / { if ($x) { valid_referers a.com; } }',
         '"valid_referers" directive is not allowed here'),
    ]:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    %s
}""" % body, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (body, out)
    p = t.proxy("valid_referers a.com;\nserver { listen 127.0.0.1:{port}; }", start=False)
    p.write_conf()
    res = p.run('-t')
    out = res.stdout + res.stderr
    assert res.returncode != 0 and '"valid_referers" directive is not allowed here' in out, out
    assert conf_line(p, 'valid_referers a.com') in out, out
    # accepted as nginx accepts them
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    referer_hash_max_size 4096;
    referer_hash_bucket_size 128;
    valid_referers server_names none;
    location / {
        valid_referers "a.com:80" "b.com:80/x" "/x" ".a.*" "~a" "~a";
        return 200 "[$invalid_referer]";
    }
}""")
    assert p.get('/', headers=[('Referer', 'http://xa.com/')]).body == b'[]'
    assert p.get('/', headers=[('Referer', 'http://xa/')]).body == b'[1]'  # too short: blocked
