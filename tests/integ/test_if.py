# SPDX-License-Identifier: MIT
"""The rewrite module's `if`: certbot's server block, every condition
(variables, = != ~ ~* !~ !~*, captures, -f -d -e -x and their ! forms),
server- and location-level ifs among the other rewrite steps (break,
rewrite last, the 10-cycle limit), the location-level if as nginx's nested
location ("if is evil": add_header replaced, the last true if wins,
proxy_pass kept, proxy_pass inside the if), and nginx's -t errors."""

import os

from harness import Conn, ConnClosed, wait_for


def _eq(got, want, what):
    assert got == want, '%s: got %r, want %r' % (what, got, want)


def test_if_certbot_redirect(t):
    # certbot's nginx plugin writes exactly this block (spacing included)
    p = t.proxy("""
server {
    if ($host = www.example.com) {
        return 301 https://$host$request_uri;
    } # managed by Certbot


    if ($host = example.com) {
        return 301 https://$host$request_uri;
    } # managed by Certbot


    listen 127.0.0.1:{port};
    server_name example.com www.example.com;
    return 404; # managed by Certbot


}""")
    r = p.get('/a/b?x=1&y=2', host='www.example.com')
    _eq(r.status, 301, 'www host')
    _eq(r.header('Location'), 'https://www.example.com/a/b?x=1&y=2', 'Location')
    r = p.get('/', host='EXAMPLE.com:8080')
    _eq(r.status, 301, '$host is lowercased, without the port')
    _eq(r.header('Location'), 'https://example.com/', 'Location')
    _eq(p.get('/', host='other.example.com').status, 404, 'other host: return 404')
    _eq(p.get('/', host='www.example.co').status, 404, 'no prefix match')


def test_if_conditions(t):
    p = t.proxy("""
map $http_user_agent $bad_bot {
    default 0;
    ~*evilbot 1;
}
server {
    listen 127.0.0.1:{port};
    default_type text/plain;
    location /method {
        if ($request_method = POST) { return 405; }
        return 200 "get";
    }
    location /ua {
        if ($http_user_agent ~* (bot|crawler)) { return 403; }
        return 200 "human";
    }
    location /notre {
        if ($http_x_token !~ ^secret-) { return 401 "no"; }
        if ($http_x_token !~* ^SECRET-B) { return 200 "a"; }
        return 200 "b";
    }
    location /scheme {
        if ($scheme != "https") { return 301 https://$host$request_uri; }
        return 200 "secure";
    }
    location /arg {
        if ($arg_debug) { return 200 "debug=$arg_debug"; }
        return 200 "off";
    }
    location /bot {
        if ($bad_bot) { return 444; }
        return 200 "welcome";
    }
    location /set {
        set $mobile no;
        if ($http_user_agent ~ Mobile) { set $mobile yes; }
        if ($mobile = yes) { return 200 "mobile"; }
        return 200 "desktop";
    }
    location /cap/ {
        if ($uri ~ ^/cap/(\\w+)/(?<rest>.*)$) { return 200 "$1:$rest"; }
        return 404;
    }
    location /quoted {
        if ($arg_q = "a b") { return 200 "spaced"; }
        if ( $arg_q = "" ) { return 200 "empty"; }
        if ($arg_q ~ "^x(y+)$") { return 200 "re $1"; }
        return 200 "other";
    }
    location /case {
        if ($arg_v = Abc) { return 200 "exact"; }
        return 200 "differs";
    }
}""")
    _eq(p.get('/method').body, b'get', 'GET')
    _eq(p.req('POST', '/method', body=b'x').status, 405, 'POST refused')
    _eq(p.get('/ua', headers={'User-Agent': 'Mozilla'}).body, b'human', 'human UA')
    _eq(p.get('/ua', headers={'User-Agent': 'GoogleBOT/2'}).status, 403, '~* bot')
    _eq(p.get('/ua', headers={'User-Agent': 'a Crawler'}).status, 403, '~* crawler')
    _eq(p.get('/notre').status, 401, '!~ on a missing header')
    _eq(p.get('/notre', headers={'X-Token': 'secret-a'}).body, b'a', '!~* true')
    _eq(p.get('/notre', headers={'X-Token': 'secret-b'}).body, b'b', '!~* false')
    r = p.get('/scheme?z=1', host='h.example')
    _eq(r.status, 301, '!= "https"')
    _eq(r.header('Location'), 'https://h.example/scheme?z=1', 'Location')
    _eq(p.get('/arg').body, b'off', 'missing argument: false')
    _eq(p.get('/arg?debug=0').body, b'off', '"0": false')
    _eq(p.get('/arg?debug=').body, b'off', 'empty: false')
    _eq(p.get('/arg?debug=00').body, b'debug=00', '"00": true')
    _eq(p.get('/arg?debug=1').body, b'debug=1', '"1": true')
    _eq(p.get('/bot', headers={'User-Agent': 'curl'}).body, b'welcome', 'map 0')
    with Conn(p.port) as c:
        c.send(b'GET /bot HTTP/1.1\r\nHost: x\r\nUser-Agent: EvilBot\r\n\r\n')
        try:
            c.read_response()
            assert False, 'return 444 answered'
        except (ConnClosed, ConnectionResetError):
            pass
    _eq(p.get('/set', headers={'User-Agent': 'Mobile Safari'}).body, b'mobile',
        'set in if, then = on it')
    _eq(p.get('/set', headers={'User-Agent': 'Firefox'}).body, b'desktop', 'set default')
    _eq(p.get('/cap/ab/c/d').body, b'ab:c/d', '$1 and a named capture')
    _eq(p.get('/cap/+/x').status, 404, 'no match')
    _eq(p.get('/quoted?q=a%20b').body, b'other', '= compares the raw argument')
    _eq(p.get('/quoted?q=').body, b'empty', '= ""')
    _eq(p.get('/quoted?q=xyy').body, b're yy', 'quoted regex with a group')
    _eq(p.get('/case?v=Abc').body, b'exact', '= exact')
    _eq(p.get('/case?v=abc').body, b'differs', '= is case-sensitive')


def test_if_files(t):
    root = t.tmpdir('www-')
    t.write(root + '/f/file.txt', 'F\n')
    os.makedirs(root + '/f/dir', exist_ok=True)
    t.write(root + '/f/run.sh', '#!/bin/sh\n')
    os.chmod(root + '/f/run.sh', 0o755)
    os.symlink(root + '/f/file.txt', root + '/f/link')
    os.symlink(root + '/nowhere', root + '/f/dangling')
    t.write(root + '/files/a.txt', 'A\n')
    t.write(root + '/fallback/b.txt', 'FB\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {root};
    default_type text/plain;
    location /f/ {
        if (-f $request_filename) { return 200 "file"; }
        if (-d $request_filename) { return 200 "dir"; }
        if (!-e $request_filename) { return 200 "none"; }
        return 200 "other";
    }
    location ~ ^/x/(.*)$ {
        if (-x {root}/f/$1) { return 200 "exec"; }
        if (!-x "{root}/f/$1") { return 200 "noexec"; }
    }
    location ~ ^/nf/(.*)$ {
        if (!-f {root}/f/$1) { return 200 "notfile"; }
        if (!-d {root}/f/$1) { return 200 "notdir"; }
        return 200 "both?";
    }
    location /files/ {
        if (!-f $request_filename) {
            rewrite ^/files/(.*)$ /fallback/$1 break;
        }
    }
}""", root=root)
    _eq(p.get('/f/file.txt').body, b'file', '-f on a file')
    _eq(p.get('/f/dir').body, b'dir', '-d on a directory')
    _eq(p.get('/f/none').body, b'none', '!-e on a missing path')
    _eq(p.get('/f/link').body, b'file', '-f follows a symlink')
    _eq(p.get('/f/dangling').body, b'none', 'a dangling symlink does not exist')
    _eq(p.get('/f/file.txt/sub').body, b'none', 'ENOTDIR: missing')
    _eq(p.get('/x/run.sh').body, b'exec', '-x')
    _eq(p.get('/x/file.txt').body, b'noexec', '!-x')
    _eq(p.get('/x/missing').body, b'noexec', '!-x on a missing path')
    _eq(p.get('/x/dir').body, b'exec', '-x on a directory (its x bit)')
    _eq(p.get('/nf/dir').body, b'notfile', '!-f on a directory')
    _eq(p.get('/nf/file.txt').body, b'notdir', '!-d on a file')
    _eq(p.get('/files/a.txt').body, b'A\n', 'existing file served')
    r = p.get('/files/b.txt')
    _eq((r.status, r.body), (200, b'FB\n'), '!-f: rewrite ... break to the fallback')


def test_if_location_config(t):
    b1, b2 = t.backends('b1', 'b2')
    root = t.tmpdir('www-')
    t.write(root + '/exp', 'e\n')
    t.write(root + '/tf/fallback.txt', 'fallback\n')
    t.write(root + '/al/file.txt', 'aliased\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    default_type text/plain;
    location /two {
        set $true 1;
        if ($true) { add_header X-First 1; }
        if ($true) { add_header X-Second 2; }
        return 204;
    }
    location /hdr {
        add_header X-Loc 1;
        if ($arg_a) { add_header X-If 1; }
        return 200 "x";
    }
    location /keep {
        proxy_pass http://127.0.0.1:{b1};
        if ($arg_a) { add_header X-If yes; }
    }
    location /pick {
        if ($arg_to = b2) { proxy_pass http://127.0.0.1:{b2}; }
        proxy_pass http://127.0.0.1:{b1};
    }
    location /strip/ {
        proxy_pass http://127.0.0.1:{b1}/;
        if ($arg_a) { add_header X-If 1; }
    }
    location /after {
        if ($arg_a) { set $v if; }
        return 200 "after:$v";
    }
    location /tf/ {
        root {root};
        try_files $uri /tf/fallback.txt;
        if ($arg_a) { add_header X-If 1; }
    }
    location /alias/ {
        alias {root}/al/;
        if ($arg_a) { add_header X-If 1; }
    }
    location /exp {
        root {root};
        expires 1h;
        if ($arg_a) { expires off; }
    }
}""", b1=b1, b2=b2, root=root)
    r = p.get('/two')
    _eq(r.status, 204, 'return after two true ifs')
    _eq((r.header('X-First'), r.header('X-Second')), (None, '2'),
        'the last true if configures the request')
    r = p.get('/hdr')
    _eq((r.header('X-Loc'), r.header('X-If')), ('1', None), 'if false: location headers')
    r = p.get('/hdr?a=1')
    _eq((r.header('X-Loc'), r.header('X-If')), (None, '1'),
        'if true: its add_header replaces the location\'s')
    r = p.get('/keep?a=1')
    _eq((r.backend, r.header('X-If')), ('b1', 'yes'), 'proxy_pass kept under a true if')
    _eq(p.get('/keep').backend, 'b1', 'proxy_pass, if false')
    _eq(p.get('/pick?to=b2').backend, 'b2', 'proxy_pass inside the if')
    _eq(p.get('/pick?to=b3').backend, 'b1', 'the location\'s proxy_pass')
    r = p.get('/strip/x/y?a=1')
    _eq((r.backend, r.header('X-If')), ('b1', '1'), 'proxy_pass with a URI, if true')
    _eq(b1.last().target, '/x/y?a=1', 'the location prefix replaced')
    p.get('/strip/z')
    _eq(b1.last().target, '/z', 'if false')
    _eq(p.get('/after?a=1').body, b'after:if', 'steps after a true if still run')
    _eq(p.get('/after').body, b'after:', 'if false')
    _eq(p.get('/tf/none').body, b'fallback\n', 'try_files, if false')
    _eq(p.get('/tf/none?a=1').status, 404,
        'a true if drops try_files (not inherited, as nginx)')
    r = p.get('/alias/file.txt?a=1')
    _eq((r.status, r.body, r.header('X-If')), (200, b'aliased\n', '1'), 'alias under an if')
    _eq(p.get('/exp').header('Cache-Control'), 'max-age=3600', 'location expires')
    _eq(p.get('/exp?a=1').header('Cache-Control'), None, 'expires off in the if')


def test_if_location_directives(t):
    a, b = t.tmpdir('a-'), t.tmpdir('b-')
    t.write(a + '/r/x.txt', 'from a\n')
    t.write(b + '/r/x.txt', 'from b\n')
    t.write(a + '/ep-fallback.txt', 'fallback page\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    default_type text/plain;
    location /r/ {
        root {a};
        if ($arg_b) { root {b}; }
    }
    location /ep/ {
        root {a};
        if ($arg_e) { error_page 404 =200 /ep-fallback.txt; }
    }
    location = /ep-fallback.txt {
        root {a};
    }
    location /quiet {
        if ($arg_q) { access_log off; }
        return 200 "q";
    }
    location /marker {
        return 200 "m";
    }
}""", a=a, b=b)
    _eq(p.get('/r/x.txt').body, b'from a\n', 'location root')
    _eq(p.get('/r/x.txt?b=1').body, b'from b\n', 'root in a true if')
    _eq(p.get('/ep/none').status, 404, 'no error_page')
    r = p.get('/ep/none?e=1')
    _eq((r.status, r.body), (200, b'fallback page\n'), 'error_page in a true if')
    for q in ('1', '0', 'yes'):
        _eq(p.get('/quiet?q=' + q).body, b'q', 'return after the if')
    p.get('/marker')
    wait_for(lambda: '/marker' in p.access_log(), 5, what='access log written')
    log = p.access_log()
    assert '/quiet?q=0' in log, log
    assert '/quiet?q=1' not in log and '/quiet?q=yes' not in log, \
        'access_log off in a true if: ' + log


def test_if_rewrite_phases(t):
    root = t.tmpdir('www-')
    t.write(root + '/brk', 'static brk\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root {root};
    default_type text/plain;
    set $phase server;
    if ($arg_old) {
        rewrite ^ /new break;
    }
    if ($arg_srvbreak) {
        break;
    }
    set $phase server2;
    location /new {
        return 200 "new $uri $phase";
    }
    location /a {
        if ($arg_x) { rewrite ^ /b last; }
        return 200 "a $phase";
    }
    location /b {
        return 200 "b";
    }
    location /brk {
        if ($arg_x) { break; }
        return 200 "after";
    }
    location /loop {
        if ($uri) { rewrite ^ /loop last; }
    }
    location /cond {
        if ($phase = server2) { return 200 "server steps ran"; }
        return 200 "server steps stopped: $phase";
    }
}""", root=root)
    _eq(p.get('/zzz?old=1').body, b'new /new server', 'server if: rewrite break, then location')
    _eq(p.get('/a').body, b'a server2', 'location, if false')
    _eq(p.get('/a?x=1').body, b'b', 'rewrite ... last in an if')
    _eq(p.get('/brk').body, b'after', 'if false')
    r = p.get('/brk?x=1')
    _eq((r.status, r.body), (200, b'static brk\n'), 'break in an if: no more rewrite steps')
    _eq(p.get('/loop').status, 500, 'rewrite cycle: 500 after 10')
    _eq(p.get('/cond').body, b'server steps ran', 'server if false')
    _eq(p.get('/cond?srvbreak=1').body, b'server steps stopped: server',
        'break in a server if')


# (config, nginx's message): each is written into a server block
CONF_ERRORS = [
    ('if () { }', 'invalid condition ")"'),
    ('if ( { }', 'invalid condition "("'),
    ('if ($a { }', 'invalid condition "$a"'),
    ('if a) { }', 'invalid condition "a)"'),
    ('if ($) { }', 'invalid condition "$"'),
    ('if ($host = ) { }', 'invalid condition "$host"'),
    ('if ($host = a b) { }', 'invalid condition "$host"'),
    ('if ($host foo b) { }', 'unexpected "foo" in condition'),
    ('if ($host == b) { }', 'unexpected "==" in condition'),
    ('if (-q /x) { }', 'invalid condition "-q"'),
    ('if (-f /x /y) { }', 'invalid condition "-f"'),
    ('if (!-z /x) { }', 'invalid condition "!-z"'),
    ('if ($host ~ "^x(y") { }',
     'pcre2_compile() failed: missing closing parenthesis in "^x(y"'),
    ('if ($host) { add_header X 1; }', '"add_header" directive is not allowed here'),
    ('if ($host) { if ($uri) { return 200; } }', '"if" directive is not allowed here'),
    ('location / { if ($host) { proxy_set_header A b; } }',
     '"proxy_set_header" directive is not allowed here'),
    ('location / { if ($host) { proxy_pass http://127.0.0.1:1/x; } }',
     '"proxy_pass" cannot have URI part in location given by regular expression, '
     'or inside named location, or inside "if" statement, or inside "limit_except" block'),
    ('location / { if ($host) { location /x { } } }',
     '"location" directive is not allowed here'),
    ('location / { if ($host) { return 200; }',
     'unexpected end of file, expecting "}"'),
]


def test_if_config_errors(t):
    p = t.proxy("server { listen 127.0.0.1:{port}; }", start=False)
    for body, msg in CONF_ERRORS:
        p.write_conf(http='server {\n    listen 127.0.0.1:{port};\n    %s\n}' % body)
        r = p.run('-t')
        assert r.returncode == 1, 'accepted (%d):\n%s' % (r.returncode, p.text)
        lines = p.text.split('\n')
        if 'end of file' in msg:
            lineno = len(lines)  # the line after the last newline
        else:
            lineno = [ln.strip() for ln in lines].index(body) + 1
        want = '%s in %s:%d' % (msg, p.conf_path, lineno)
        assert want in r.stderr, 'want %r\n got %r' % (want, r.stderr)
    # an unknown variable: nginx names no line
    p.write_conf(http='server { listen 127.0.0.1:{port}; if ($nosuch) { } }')
    r = p.run('-t')
    assert r.returncode == 1 and 'unknown "nosuch" variable' in r.stderr, r.stderr
    # the accepted forms
    p.write_conf(http="""server {
    listen 127.0.0.1:{port};
    if ( $host ) { }
    if ($host){ }
    if ($host ~ "^x(y)$") { }
    if ($host ~* ^x(?<n>y)$) { return 200 $n; }
    if ($host !~* "^(a|b)") { }
    if (!-e "/tmp") { }
    location / {
        if ($request_method = POST) {
            set $x 1; rewrite ^ /x break; break; return 200;
            root /tmp; expires 1h; sendfile on; add_header A b; error_page 404 /x;
            access_log off; gzip on; proxy_pass http://127.0.0.1:1;
        }
    }
}""")
    r = p.run('-t')
    _eq(r.returncode, 0, 'accepted forms: ' + r.stderr)
