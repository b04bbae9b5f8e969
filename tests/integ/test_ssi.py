# SPDX-License-Identifier: MIT
"""ssi (nginx's ngx_http_ssi_module): commands in static, proxied and
`return` main answers (echo with its encodings and default, set with
variables and escapes, if/elif/else/endif with strings and regexes and
their captures, config errmsg/timefmt, $date_gmt), include virtual= and
file= of static, proxied and missing URIs at any point of the body, with
and without a stub block (its commands in the subrequest's context),
include set=, broken commands (the errmsg or nothing with
ssi_silent_errors, nginx's error-log lines with the connection's action
and the upstream), the head edits
(no Content-Length, validators per ssi_last_modified), which answers
(ssi_types, a status with a body), HTTP/1.0, HTTP/2, a 1 MiB include
byte-exact, additions on the same answer, gzip on the assembled answer,
include set= over 4 KiB, and -t errors."""

import os
import re
import time

from harness import Conn, assert_location_t_errors, free_port
from test_h2 import curl_h2

ERRMSG = b'[an error occurred while processing the directive]'


def _site(t, files, loc='ssi on;', extra='', srv='', http='', listen=''):
    """A server with root DOCS holding FILES (name -> bytes); / has LOC."""
    docs = t.tmpdir('ssi-')
    for name, data in files.items():
        path = os.path.join(docs, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    return t.proxy(http + """
server {
    listen 127.0.0.1:{port}%s;
    root %s;
    %s
    location / {
        %s
    }
    %s
}""" % (listen, docs, srv, loc, extra)), docs


def test_ssi_echo_set_if(t):
    """echo of request and SSI variables (entity encoding by default, url,
    none; `(none)` and default= for an unknown one), set with ${}, \\$
    and unknown variables, if/elif/else/endif with = != and regexes whose
    captures feed $1."""
    page = (b'A<!--# echo var="arg_x" -->B'
            b'<!--#echo var="nope" -->|<!--#echo var="nope" default="<d>" -->|'
            b'<!--#echo var="arg_x" encoding="url" -->|'
            b'<!--#echo var="arg_x" -->|'
            b'<!--#echo var="arg_x" encoding="none" -->|'
            b'<!--#set var="v" value="u=${uri}|\\$x|$nope|\\q" -->'
            b'<!--#echo var="v" -->|'
            b'<!--#if expr="$arg_k = one" -->ONE'
            b'<!--#elif expr="$arg_k != /^t(w)o\\$/" -->NOT2'
            b'<!--#else -->ELSE<!--#echo var="1" -->'
            b'<!--#endif -->|'
            b'<!--#if expr="$arg_k" -->K<!--#endif -->'
            b'<!--#if expr="$arg_zz" -->Z<!--#else -->noz<!--#endif -->.')
    p, _ = _site(t, {'i.html': page})
    r = p.get('/i.html?x=%3Ca%20b%22%3E&k=two')
    assert r.status == 200, r
    # the arg is the raw query value (nginx does not decode $arg_)
    assert r.body == (b'A%3Ca%20b%22%3EB(none)|&lt;d&gt;|%253Ca%2520b%2522%253E|'
                      b'%253Ca%2520b%2522%253E|%3Ca%20b%22%3E|'
                      b'u=/i.html|$x||\\q|ELSEw|Knoz.'), r.body
    r = p.get('/i.html?x=%3C&k=one')
    assert b'|ONE|' in r.body, r.body
    r = p.get('/i.html?x=&k=three')
    assert b'|NOT2|' in r.body, r.body


def test_ssi_entity_default(t):
    """Entity encoding (the default) of < > & \"; url (kept for the next
    echoes); default= is encoded too."""
    p, _ = _site(t, {'i.html': b'<!--#set var="a" value="<&\\">" -->'
                               b'[<!--#echo var="a" -->]'
                               b'[<!--#echo var="a" encoding="url" -->]'
                               b'[<!--#echo var="a" -->]'
                               b'[<!--#echo var="b" default="<&>" -->]'})
    r = p.get('/i.html')
    assert r.body == b'[&lt;&amp;&quot;&gt;][%3C&%22%3E][%3C&%22%3E][%3C&%3E]', r.body


def test_ssi_include_virtual(t):
    """include virtual= of a static file, a proxied URI (relative to the
    page's directory, with arguments) and a `return`, in the middle of
    the body; the head: no Content-Length, no Last-Modified nor ETag
    (ssi_last_modified off), chunked; keep-alive goes on."""
    b = t.backend('B')
    p, _ = _site(t, {'d/i.html': b'<p><!--#include virtual="/inc.txt" -->|'
                                 b'<!--#include virtual="up?a=1" -->|'
                                 b'<!--#include virtual="/ret" --></p>\n',
                     'inc.txt': b'INC'},
                 extra="""
    location /d/up { proxy_pass http://127.0.0.1:%d/x; }
    location = /ret { return 200 "RET"; }""" % b.port)
    with Conn(p.port) as c:
        for _ in range(2):
            r = c.request('GET', '/d/i.html')
            assert r.status == 200, r
            m = re.match(rb'^<p>INC\|(.*)\|RET</p>\n$', r.body, re.S)
            assert m, r.body
            assert b'B' in m.group(1), m.group(1)
            assert r.header('Content-Length') is None, r.headers
            assert r.header('Last-Modified') is None, r.headers
            assert r.header('ETag') is None, r.headers
            assert r.header('Transfer-Encoding') == 'chunked', r.headers
    assert b.last().target == '/x?a=1', b.last().target


def test_ssi_last_modified_on(t):
    """ssi_last_modified on: Last-Modified kept, the ETag made weak."""
    p, _ = _site(t, {'i.html': b'x<!--#echo var="uri" -->'},
                 loc='ssi on; ssi_last_modified on;')
    r = p.get('/i.html')
    assert r.body == b'x/i.html', r.body
    assert r.header('Last-Modified'), r.headers
    assert r.header('ETag', ).startswith('W/"'), r.headers


def test_ssi_stub_and_404(t):
    """An include answering 404: its error page goes in without a stub;
    with stub= the block's text (recorded, not output where it stands)
    instead, also for an empty answer; a 200 ignores the stub. The stub's
    commands run when the subrequest's location has ssi on (the SSI
    variables are shared: see test_ssi_stub_in_subrequest_context)."""
    p, _ = _site(t, {'i.html': b'<!--#set var="v" value="V" -->'
                               b'<!--#block name="one" -->STUB<!--#echo var="v" -->'
                               b'<!--#endblock -->[<!--#include virtual="/no.html" stub="one" -->]'
                               b'[<!--#include virtual="/empty" stub="one" -->]'
                               b'[<!--#include virtual="/ok.txt" stub="one" -->]',
                     'j.html': b'[<!--#include virtual="/no.html" -->]',
                     'ok.txt': b'OK'},
                 extra='location = /empty { return 200 ""; }')
    r = p.get('/i.html')
    assert r.body == b'[STUBV][STUB<!--#echo var="v" -->][OK]', r.body
    r = p.get('/j.html')
    assert r.body.startswith(b'[<html>') and b'404' in r.body, r.body


def test_ssi_stub_in_subrequest_context(t):
    """A stub's commands run as the subrequest's answer, as nginx's: its
    request's variables ($uri, $args, $arg_, $document_uri, a map of $uri;
    $request_uri stays the client's), its directory for a relative
    include; the SSI variables and an `if` regex's captures are shared
    with the page (wait="yes": the page reads them after the include).
    (lbd before: the page's $uri, args and directory.)"""
    stub = (b'<!--#block name="one" -->{uri=<!--#echo var="uri" --> '
            b'args=<!--#echo var="args" --> a=<!--#echo var="arg_a" --> '
            b'du=<!--#echo var="document_uri" --> ru=<!--#echo var="request_uri" --> '
            b'm=<!--#echo var="mu" --> v=<!--#echo var="v" -->'
            b' s=<!--#echo var="status" -->'
            b'<!--#set var="w" value="$uri" -->'
            b'<!--#if expr="$uri = /(no)/" --> cap=<!--#echo var="1" --><!--#endif -->'
            b' inc=<!--#include virtual="ok.txt" -->}<!--#endblock -->')
    p, _ = _site(t, {'i.html': b'<!--#set var="v" value="V" -->' + stub +
                     b'[<!--#include virtual="/sub/no.html?a=1" stub="one" wait="yes" -->]'
                     b'w=<!--#echo var="w" --> c=<!--#echo var="1" -->',
                     'ok.txt': b'ROOT', 'sub/ok.txt': b'SUB'},
                 http='map $uri $mu { default "m:$uri"; }')
    r = p.get('/i.html?a=0')
    assert r.status == 200, r
    assert r.body == (b'[{uri=/sub/no.html args=a=1 a=1 du=/sub/no.html ru=/i.html?a=0 '
                      b'm=m:/sub/no.html v=V s=000 cap=no inc=SUB}]w=/sub/no.html c=no'), r.body


def test_ssi_stub_status(t):
    """Which answers a stub stands for, and $status in it, as nginx's: a
    code's own page (a missing file, a directory without its slash,
    `return 404`, `return 404 ""`, an upstream that refuses: 502) gets
    the stub, whose $status is 000
    (nginx runs it before it sets the status), or the code of a `return`
    redirect (set first); an answer with a body of its own is used
    whatever its status (`return 404 TEXT`, a proxied 404 page); an
    empty answer (`return 200 ""`, `return 204`) gets the stub as plain
    text though its location has ssi on (nginx's SSI filter took no
    empty head). (lbd before: 404 for the code pages, the stub for any
    answer but 2xx, the empty answers' stubs parsed.)"""
    blk = b'<!--#block name="one" -->{s=<!--#echo var="status" -->}<!--#endblock -->'
    uris = ('/no.html', '/dir', '/r404', '/e404', '/r302', '/down', '/r404t', '/p404', '/empty',
            '/e204')
    p, _ = _site(t, {'i.html': blk + b''.join(b'[<!--#include virtual="%s" stub="one" -->]'
                                              % u.encode() for u in uris),
                     'dir/x.txt': b'X'},
                 extra='location = /r404 { ssi on; return 404; }'
                       'location = /e404 { ssi on; return 404 ""; }'
                       'location = /r302 { ssi on; return 302 /x; }'
                       'location = /r404t { ssi on; return 404 "t404"; }'
                       'location = /p404 { ssi on; proxy_pass http://127.0.0.1:{port}/r404; }'
                       'location = /empty { ssi on; return 200 ""; }'
                       'location = /e204 { ssi on; return 204; }'
                       'location = /down { ssi on; proxy_pass http://127.0.0.1:%d; }'
                       % free_port())
    r = p.get('/i.html')
    assert r.status == 200, r
    raw = b'[{s=<!--#echo var="status" -->}]'
    parts = re.sub(rb'<html>.*?</html>\r\n', b'PAGE', r.body, flags=re.S)
    assert parts == (b'[{s=000}][{s=000}][{s=000}][{s=000}][{s=302}][{s=000}][t404][PAGE]' +
                     raw + raw), r.body


def test_ssi_errors(t):
    """Broken commands: the errmsg where they stand (config errmsg= changes
    it), the text after them goes on; nginx's error-log lines."""
    page = (b'a<!--#foo -->b<!--#echo var=u -->c<!--#echo var="x" extra="1" -->d'
            b'<!--#echo -->e<!--#endif -->f<!--#if expr="1" --><!--#if expr="1" -->'
            b'<!--#endif -->g<!--#include virtual="/x" stub="s" -->h'
            b'<!--#config errmsg="ERR" --><!--#foo -->i<!--# -->j-->k'
            b'<!--#include virtual="../x" -->l<!--#include virtual="/a" file="/b" -->m'
            b'<!--#echo var="x"')
    p, _ = _site(t, {'i.html': page})
    r = p.get('/i.html')
    E = ERRMSG
    assert r.body == (b'a' + E + b'b' + E + b'c' + E + b'd' + E + b'e' + E + b'f' + E +
                      b'g' + E + b'hERRiERRkERRlERRm'), r.body
    log = p.error_log()
    for line in ('invalid SSI command: "foo"',
                 'unexpected "u" symbol before value of "var" parameter in "echo" SSI command',
                 'invalid parameter name: "extra" in "echo" SSI command',
                 'mandatory "var" parameter is absent in "echo" SSI command',
                 'the "if" command inside the "if" command',
                 '"stub"="s" for "include" not found',
                 'unsafe URI "/../x" was detected',
                 'unexpected ">" symbol in "-" SSI command',
                 'inclusion may be either virtual="/a" or file="/b"',
                 'invalid context of SSI command: "endif"'):
        assert line in log, (line, log)


def test_ssi_error_log_action(t):
    """A command's error-log line ends as nginx's: " while " and the
    connection's current action (a static file's "sending response to
    client", a proxied answer's "sending to client" with its `upstream:`;
    none in a `return`, nor after a subrequest started), then the
    request's context (`subrequest:` for an included page). (lbd before:
    never a "while", never the upstream.)"""
    p, _ = _site(t, {'e.html': b'a<!--#foo1 -->[<!--#include virtual="/inc.html" wait="yes" -->]'
                               b'[<!--#include virtual="/ret" wait="yes" -->]<!--#foo2 -->',
                     'inc.html': b'<!--#foo3 -->',
                     'plain/p.html': b'<!--#foo4 -->[<!--#include virtual="/inc.html" wait="yes" -->]'
                                     b'<!--#foo5 -->'},
                 extra="""
    location /plain/ { }
    location /px/ { ssi on; proxy_pass http://127.0.0.1:{port}/plain/; }
    location = /ret { ssi on; default_type text/html; return 200 'r<!--#foo6 -->s'; }""")
    for path in ('/e.html', '/px/p.html'):
        r = p.get(path)
        assert r.status == 200 and ERRMSG in r.body, (path, r)
    up = 'upstream: "http://127.0.0.1:%d/plain/p.html"' % p.port

    def line(cmd, path, action=None, sub=None, upstream=None):
        return ('invalid SSI command: "%s"%s, client: 127.0.0.1, server: , '
                'request: "GET %s HTTP/1.1"%s%s, host: ' %
                (cmd, ' while ' + action if action else '', path,
                 ', subrequest: "%s"' % sub if sub else '',
                 ', ' + upstream if upstream else ''))
    want = [line('foo1', '/e.html', 'sending response to client'),
            line('foo3', '/e.html', 'sending response to client', '/inc.html'),
            line('foo6', '/e.html', sub='/ret'),
            line('foo2', '/e.html'),
            line('foo4', '/px/p.html', 'sending to client', upstream=up),
            line('foo3', '/px/p.html', 'sending response to client', '/inc.html'),
            line('foo5', '/px/p.html', 'sending response to client', upstream=up)]
    log = p.error_log()
    for w in want:
        assert w in log, (w, log)


def test_ssi_silent_errors(t):
    p, _ = _site(t, {'i.html': b'a<!--#foo -->b'},
                 loc='ssi on; ssi_silent_errors on;')
    r = p.get('/i.html')
    assert r.body == b'ab', r.body


def test_ssi_proxied_in_pieces(t):
    """A proxied main answer (Content-Length, chunked, until close) whose
    commands arrive split across reads (3-byte pieces), with includes of
    a static file and a proxied chunked URI between them."""
    from test_subfilter import PieceUpstream
    up = PieceUpstream()
    t.defer(up.close)
    page = (b'<p>' + b'text ' * 50 + b'<!--#set var="a" value="A1" -->'
            b'[<!--#echo var="a" -->]<!< <!-- plain comment --> <!-x '
            b'[<!--#include virtual="/inc.txt" -->][<!--#include virtual="/pi" -->]'
            b'<!--#if expr="$a = /^A(\\d)\\$/" -->m$1=<!--#echo var="1" --><!--#endif -->'
            b'</p>\n')
    want = (b'<p>' + b'text ' * 50 + b'[A1]<!< <!-- plain comment --> <!-x '
            b'[INC][' + b'piece ' * 20 + b']m$1=1</p>\n')
    up.routes.update({
        '/cl': dict(body=page, piece=3), '/ch': dict(body=page, mode='chunked', piece=3),
        '/close': dict(body=page, mode='close', piece=5),
        '/pi': dict(body=b'piece ' * 20, mode='chunked', piece=7),
    })
    p, _ = _site(t, {'inc.txt': b'INC'}, loc='', extra="""
    location /up/ { ssi on; proxy_pass http://127.0.0.1:%d/; }
    location = /pi { proxy_pass http://127.0.0.1:%d; }""" % (up.port, up.port))
    for path in ('/up/cl', '/up/ch', '/up/close'):
        r = p.get(path)
        assert r.status == 200, (path, r)
        assert r.body == want, (path, r.body)
        assert r.header('Content-Length') is None, r.headers


def test_ssi_large_include_byte_exact(t):
    """A 1 MiB static include and a 1 MiB proxied one, byte-exact, between
    text of a 1 MiB page with commands spread through it."""
    import random
    from test_subfilter import PieceUpstream
    rnd = random.Random(11)
    big1 = bytes(rnd.randrange(32, 127) for _ in range(1 << 20)).replace(b'<', b'(')
    big2 = rnd.randbytes(1 << 20)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/big2'] = dict(body=big2, mode='chunked', piece=50000, ct='application/x')
    chunk = b'x' * 1000 + b'<!--#echo var="uri" -->'
    page = chunk * 1000 + b'<!--#include virtual="/big1.txt" -->' + \
        b'<!--#include virtual="/big2" -->' + chunk * 10
    p, _ = _site(t, {'m.html': page, 'big1.txt': big1},
                 extra='location = /big2 { proxy_pass http://127.0.0.1:%d; }' % up.port)
    r = p.get('/m.html')
    out = b'x' * 1000 + b'/m.html'
    assert r.status == 200, r
    want = out * 1000 + big1 + big2 + out * 10
    assert len(r.body) == len(want), (len(r.body), len(want))
    assert r.body == want


def test_ssi_http10_head(t):
    """HTTP/1.0: no chunks, the answer ends with the close; HEAD: the
    edited head and no body, keep-alive goes on."""
    p, _ = _site(t, {'i.html': b'a<!--#include virtual="/b.txt" -->c', 'b.txt': b'b'})
    with Conn(p.port) as c:
        c.send(b'GET /i.html HTTP/1.0\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert r.body == b'abc', r.body
        assert r.header('Transfer-Encoding') is None, r.headers
        assert r.header('Content-Length') is None, r.headers
        assert c.is_closed()
    with Conn(p.port) as c:
        r = c.request('HEAD', '/i.html')
        assert r.status == 200 and r.body == b'', r
        assert r.header('Content-Length') is None, r.headers
        r = c.request('GET', '/i.html')
        assert r.body == b'abc', r.body


def test_ssi_h2(t):
    """Over HTTP/2 the same bytes (the stream's DATA, no chunks), with a
    70000-byte include (more than one window's worth of pieces) and a
    stub parsed in its subrequest."""
    docs = t.tmpdir('ssi-')
    for name, data in (('i.html', b'a<!--#include virtual="/b.txt" -->c'
                                  b'<!--#echo var="server_protocol" -->'
                                  b'<!--#block name="s" -->[<!--#echo var="uri" -->]'
                                  b'<!--#endblock --><!--#include virtual="/no" stub="s" -->'),
                       ('b.txt', b'b' * 70000)):
        with open(os.path.join(docs, name), 'wb') as f:
            f.write(data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    location / { ssi on; }
}""" % docs)
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/i.html' % p.port, prior=True)
    assert (ver, code) == ('2', 200), (ver, code)
    assert body == b'a' + b'b' * 70000 + b'cHTTP/2.0[/no]', body[-40:]
    assert 'content-length' not in head.lower(), head


def test_ssi_include_set_file_wait(t):
    """include set= puts the body into a variable (echo it, test it with
    if); file= is relative to the page's directory and waits; wait=yes."""
    p, _ = _site(t, {'d/i.html': b'<!--#include virtual="/v.txt" set="got" -->'
                                 b'[<!--#echo var="got" -->]'
                                 b'<!--#if expr="$got = VAL" -->eq<!--#endif -->'
                                 b'[<!--#include file="f.txt" -->]'
                                 b'[<!--#include virtual="/v.txt" wait="yes" -->]',
                     'v.txt': b'VAL', 'd/f.txt': b'FILE'})
    r = p.get('/d/i.html')
    assert r.body == b'[VAL]eq[FILE][VAL]', r.body


def test_ssi_which_answers(t):
    """ssi_types (text/html always, more types, `*`); an error page of a
    status other than 200 goes through SSI too; an empty file does not; a
    `return` text does."""
    p, _ = _site(t, {'t.txt': b'<!--#echo var="uri" -->', 'i.html': b'<!--#echo var="uri" -->',
                     'any/t.txt': b'<!--#echo var="uri" -->',
                     'e.html': b'', '404.html': b'NF <!--#echo var="uri" -->'},
                 srv='error_page 404 /404.html;',
                 extra="""
    location /any/ { ssi on; ssi_types *; }
    location = /ret { ssi on; default_type text/html;
                      return 200 '<!--#echo var="uri" -->'; }
    """)
    r = p.get('/t.txt')
    assert r.body == b'<!--#echo var="uri" -->' and r.header('Content-Length'), r
    r = p.get('/i.html')
    assert r.body == b'/i.html', r.body
    r = p.get('/any/t.txt')
    assert r.body == b'/any/t.txt', r.body
    r = p.get('/e.html')
    assert r.body == b'' and r.header('Content-Length') == '0', r
    r = p.get('/nope.html')
    assert r.status == 404 and r.body == b'NF /404.html', r
    r = p.get('/ret')
    assert r.status == 200 and r.body == b'/ret', r


def test_ssi_with_additions(t):
    """add_before_body / add_after_body on an SSI answer: the additions'
    bodies around the SSI output (they are not parsed as the main body)."""
    p, _ = _site(t, {'i.html': b'[<!--#echo var="uri" -->]', 'b.html': b'B<!--#x -->',
                     'a.html': b'A'},
                 loc='ssi on; add_before_body /b.html; add_after_body /a.html;')
    r = p.get('/i.html')
    assert r.body == b'B' + ERRMSG + b'[/i.html]A', r.body


def test_ssi_if_location_and_date(t):
    """ssi in an `if` inside a location; $date_gmt with config timefmt."""
    p, _ = _site(t, {'i.html': b'<!--#config timefmt="%Y" --><!--#echo var="date_gmt" -->'},
                 loc='if ($arg_s) { ssi on; }')
    r = p.get('/i.html')
    assert r.body.startswith(b'<!--#config'), r.body
    r = p.get('/i.html?s=1')
    assert r.body == time.strftime('%Y', time.gmtime()).encode(), r.body


def test_date_variables_outside_ssi(t):
    """$date_local and $date_gmt are variables of every request, not only
    of SSI commands: outside them, in the SSI module's default format."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        add_header X-G $date_gmt;
        add_header X-L $date_local;
        return 200 "ok";
    }
}""")
    r = p.get('/')
    form = r'[A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d '
    assert re.fullmatch(form + 'GMT', r.header('x-g') or ''), r.headers
    assert re.fullmatch(form + r'\S+', r.header('x-l') or ''), r.headers
    import calendar
    when = calendar.timegm(time.strptime(r.header('x-g'), '%A, %d-%b-%Y %H:%M:%S GMT'))
    assert abs(when - time.time()) < 60, r.header('x-g')


def test_ssi_t_errors(t):
    assert_location_t_errors(t, [
        ('ssi maybe;',
         'invalid value "maybe" in "ssi" directive, it must be "on" or "off"'),
        ('ssi on; ssi off;', '"ssi" directive is duplicate'),
        ('ssi_types;', 'invalid number of arguments in "ssi_types" directive'),
        ('ssi_value_length x;', '"ssi_value_length" directive invalid value'),
        ('ssi_min_file_chunk 1 2;',
         'invalid number of arguments in "ssi_min_file_chunk" directive'),
        ('if ($arg_x) { ssi_silent_errors on; }',
         '"ssi_silent_errors" directive is not allowed here'),
        ('ssi_last_modified;', 'invalid number of arguments in "ssi_last_modified" directive'),
    ])


def test_ssi_nested(t):
    """An included page's own commands run (its location has ssi on): a
    header that includes a nav, a proxied page with an include, variables
    set in an included page seen by the main one after it with wait="yes"
    (nginx keeps them in the main request; lbd always waits), $uri and
    relative URIs of the included request; a page that includes itself
    stops at nginx's depth limit."""
    from test_subfilter import PieceUpstream
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/px'] = dict(body=b'(px<!--#include virtual="/inc/nav.html" -->px)',
                            mode='chunked', piece=4)
    p, _ = _site(t, {'i.html': b'<!--#include virtual="/inc/head.html" wait="yes" -->|'
                               b'<!--#echo var="fromhead" -->|'
                               b'<!--#include virtual="/px" -->.',
                     'inc/head.html': b'H[<!--#echo var="uri" -->'
                                      b'<!--#set var="fromhead" value="FH" -->'
                                      b'<!--#include virtual="nav.html" -->]',
                     'inc/nav.html': b'N<!--#echo var="uri" -->',
                     'r.html': b'r<!--#include virtual="/r.html" -->',
                     'big.html': b'[<!--#include virtual="/big" -->]'},
                 extra='location ~ ^/(px|big)$ { ssi on; proxy_pass http://127.0.0.1:%d; }' % up.port)
    r = p.get('/i.html')
    assert r.status == 200, r
    assert r.body == (b'H[/inc/head.htmlN/inc/nav.html]|FH|(pxN/inc/nav.htmlpx).'), r.body
    # a proxied included page, whole in one write, with an include at its
    # start and 200 KiB after it: its writes wait and go on
    up.routes['/big'] = dict(body=b'<!--#include virtual="/inc/nav.html" -->' + b'z' * 200000)
    r = p.get('/big.html')
    assert r.body == b'[N/inc/nav.html' + b'z' * 200000 + b']', r.body[:100]
    r = p.get('/r.html')
    assert r.status == 200, r
    assert r.body.startswith(b'rrrrr') and r.body.endswith(ERRMSG), r.body[-80:]
    assert ('subrequests cycle while processing "/r.html" while sending response to client, '
            'client: 127.0.0.1, server: , request: "GET /r.html HTTP/1.1", '
            'subrequest: "/r.html", host: ') in p.error_log(), p.error_log()
    assert r.body == b'r' * 52 + ERRMSG, r.body


def test_ssi_value_length(t):
    """ssi_value_length (nginx documents 256, its default takes 255 bytes):
    a value of 255 bytes is taken, a longer one makes the command an
    error; a smaller setting."""
    ok, bad = b'v' * 255, b'v' * 256
    p, _ = _site(t, {'i.html': b'<!--#set var="a" value="' + ok + b'" -->'
                               b'[<!--#echo var="a" -->]'
                               b'<!--#set var="b" value="' + bad + b'" -->',
                     's/i.html': b'<!--#set var="a" value="12345" -->'
                                 b'<!--#set var="b" value="1234" -->[<!--#echo var="b" -->]'},
                 extra='location /s/ { ssi on; ssi_value_length 4; }')
    r = p.get('/i.html')
    assert r.body == b'[' + ok + b']' + ERRMSG, r.body
    r = p.get('/s/i.html')
    assert r.body == ERRMSG + b'[1234]', r.body


def test_ssi_client_gone_and_pipelined(t):
    """A client that leaves while a nested include still sends (its
    upstream writes a byte at a time) does not disturb the next clients;
    two pipelined requests both get their SSI output; a proxied main
    answer with proxy_buffering off too."""
    import socket
    from test_subfilter import PieceUpstream
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/slow'] = dict(body=b's' * 60 + b'<!--#echo var="uri" -->', piece=1)
    up.routes['/m'] = dict(body=b'<m><!--#include virtual="/b.txt" --></m>', mode='chunked',
                           piece=2)
    p, _ = _site(t, {'gone.html': b'G<!--#include virtual="/n.html" -->',
                     'n.html': b'<!--#include virtual="/slow" -->', 'b.txt': b'B',
                     'i.html': b'<!--#echo var="uri" -->'},
                 extra="""
    location = /slow { ssi on; proxy_pass http://127.0.0.1:%d; }
    location = /m { ssi on; proxy_pass http://127.0.0.1:%d; proxy_buffering off; }"""
                 % (up.port, up.port))
    for _ in range(3):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(b'GET /gone.html HTTP/1.1\r\nHost: x\r\n\r\n')
        assert s.recv(100).startswith(b'HTTP/1.1 200')
        s.close()
    with Conn(p.port) as c:
        c.send(b'GET /i.html HTTP/1.1\r\nHost: x\r\n\r\n'
               b'GET /m HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert r.body == b'/i.html', r.body
        r = c.read_response()
        assert r.body == b'<m>B</m>', r.body
    r = p.get('/gone.html')
    assert r.body == b'G' + b's' * 60 + b'/slow', r.body



def test_ssi_conditional_request(t):
    """If-Modified-Since on an SSI page: a 304 with its validators, as for
    any static file (nginx checks them before SSI drops them from a
    200)."""
    import email.utils
    p, docs = _site(t, {'i.html': b'<!--#echo var="uri" -->'})
    ims = email.utils.formatdate(os.path.getmtime(os.path.join(docs, 'i.html')), usegmt=True)
    r = p.get('/i.html', headers={'If-Modified-Since': ims})
    assert r.status == 304 and r.body == b'', r
    assert r.header('Last-Modified') and r.header('ETag'), r.headers
    r = p.get('/i.html')
    assert r.status == 200 and r.body == b'/i.html', r
    assert r.header('Last-Modified') is None and r.header('ETag') is None, r.headers


def test_ssi_gzip(t):
    """gzip on: the SSI answer is compressed after SSI ran (nginx's gzip
    filter comes later in the chain), whatever gzip_min_length (no length
    is known), with a proxied include; a 404 error page through SSI too;
    HTTP/2 gets the same compressed bytes as DATA."""
    import gzip
    from test_subfilter import PieceUpstream
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/app'] = dict(body=b'<p>app</p>' * 300, mode='chunked', piece=700)
    files = {'i.html': b'a<!--#include virtual="/app" -->'
                       b'<!--#echo var="uri" -->c' * 3,
             'e.html': b'E<!--#echo var="uri" -->'}
    srv = 'gzip on; gzip_min_length 100000; error_page 404 /e.html;'
    app = 'location = /app { proxy_pass http://127.0.0.1:%d; }' % up.port
    p, _ = _site(t, files, srv=srv, extra=app)
    p2, _ = _site(t, files, srv=srv, extra=app, listen=' http2')
    want = (b'a' + b'<p>app</p>' * 300 + b'/i.htmlc') * 3
    ae = {'Accept-Encoding': 'gzip'}
    r = p.get('/i.html', headers=ae)
    assert r.status == 200, r
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Vary') is None, r.headers
    assert gzip.decompress(r.body) == want
    r = p.get('/nope.html', headers=ae)
    assert r.status == 404 and r.header('Content-Encoding') == 'gzip', r
    assert gzip.decompress(r.body) == b'E/e.html', r.body
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/i.html' % p2.port,
                                    extra=('-H', 'Accept-Encoding: gzip'), prior=True)
    assert (ver, code) == ('2', 200), (ver, code)
    assert 'content-encoding: gzip' in head.lower(), head
    assert gzip.decompress(body) == want


def test_ssi_gzip_large_include(t):
    """gzip on and a 1 MiB include (half compressible, half not) under a
    page with commands: the compressed answer inflates byte-exact."""
    import gzip
    import random
    rnd = random.Random(5)
    big = b'<b>same</b>' * 50000 + rnd.randbytes(1 << 19)
    chunk = b'y' * 500 + b'<!--#echo var="uri" -->'
    page = chunk * 200 + b'<!--#include virtual="/big.txt" -->' + chunk * 5
    p, _ = _site(t, {'m.html': page, 'big.txt': big}, srv='gzip on;')
    r = p.get('/m.html', headers={'Accept-Encoding': 'gzip'})
    assert r.status == 200 and r.header('Content-Encoding') == 'gzip', r
    out = b'y' * 500 + b'/m.html'
    assert gzip.decompress(r.body) == out * 200 + big + out * 5


def test_ssi_include_set_too_big(t):
    """include set= of a body over subrequest_output_buffer_size (4 KiB):
    the answer ends there, without its last chunk, and the connection
    closes (nginx has not even sent its head, still in its postpone
    buffer; lbd has sent the head and the bytes before the include);
    nothing after the include goes out; nginx's error line."""
    import socket
    from harness import recv_until_close
    p, _ = _site(t, {'i.html': b'x<!--#include virtual="/big.txt" set="v" -->'
                               b'[<!--#echo var="v" -->]y',
                     'big.txt': b'b' * 5000})
    s = socket.create_connection(('127.0.0.1', p.port))
    s.settimeout(10)
    s.sendall(b'GET /i.html HTTP/1.1\r\nHost: x\r\n\r\n')
    data = recv_until_close(s)
    s.close()
    assert b']y' not in data and b'\r\n0\r\n\r\n' not in data, data
    assert data == b'' or data.endswith(b'\r\n1\r\nx\r\n'), data
    log = p.read('logs', 'error.log')
    assert re.search(r'\[error\] .*too big subrequest response: 5000\b.*'
                     r'subrequest: "/big\.txt"', log), log[-600:]
