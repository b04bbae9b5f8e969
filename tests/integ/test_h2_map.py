# SPDX-License-Identifier: MIT
"""How an HTTP/2 request maps onto the request the HTTP/1 code serves
(issue 6): Host from :authority (and what wins when a host field
disagrees), cookie crumbs joined with "; " (RFC 9113 8.2.3), te and
invalid or underscored names, header limits (request line -> 414, a field
line or the joined cookie over large_client_header_buffers' buffer, more
than 100 fields -> 400 "Request Header Or Cookie Too Large", all answered
on the stream), a method the HTTP/1 grammar refuses, request bodies with
and without content-length through to an HTTP/1.1 upstream, and the
variables ($request, $request_uri, $uri, $args, $host, $http_*) in access
log lines that are the same for h2 and HTTP/1.1 but for the protocol.
Written as raw frames (see test_h2.py); the response status is read from
the access log line, the request the upstream got from its JSON echo."""

import json
import struct
import time

from harness import Conn, raw_upstream, wait_for
from test_h2 import (DATA, END_HEADERS, END_STREAM, HEADERS, RST_STREAM,
                     SETTINGS, ACK, H2Raw, frame, hp_lit)

FMT = ("log_format m '$request|$request_uri|$uri|$args|$host|$http_host|"
       "$http_cookie|$http_x_a|$http_x_u|$server_protocol|$status|"
       "$request_method|$content_length|$request_length';")


def _proxy(t, b1, extra='', loc=''):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port} http2;
    listen 127.0.0.1:{port2};
    server_name localhost;
    access_log {prefix}/logs/m.log m;
    %s
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Connection "";
        %s
    }
    location = /small { return 200 "small\\n"; }
}""" % (FMT, extra, loc), b1=b1)


def _block(method='GET', path='/', authority='localhost', extra=()):
    b = hp_lit(':method', method) + hp_lit(':scheme', 'http') + \
        hp_lit(':path', path)
    if authority is not None:
        b += hp_lit(':authority', authority)
    for k, v in extra:
        b += hp_lit(k, v)
    return b


def _stream(c, sid, timeout=10):
    """('rst', code) or ('ok', DATA bytes) for stream SID."""
    deadline = time.monotonic() + timeout
    body = b''
    while True:
        f = c.read_frame(deadline)
        assert f is not None, 'connection closed before stream %d ended' % sid
        ftype, flags, fsid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        if fsid != sid:
            continue
        if ftype == RST_STREAM:
            return 'rst', struct.unpack('>I', payload[:4])[0]
        if ftype == DATA:
            body += payload
        if ftype in (HEADERS, DATA) and flags & END_STREAM:
            return 'ok', body


def _send(c, sid, block, body=None, end=True):
    if body is None:
        c.send(frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid,
                     block))
        return
    c.send(frame(HEADERS, END_HEADERS, sid, block))
    for i, piece in enumerate(body):
        last = i == len(body) - 1
        c.send(frame(DATA, END_STREAM if last and end else 0, sid, piece))


def _log_lines(p, n):
    wait_for(lambda: len(p.read('logs', 'm.log').splitlines()) >= n,
             what='%d access log lines' % n)
    return p.read('logs', 'm.log').splitlines()


def _hdrs(info):
    return [(k.lower(), v) for k, v in info['headers']]


def test_h2_map_host_authority(t):
    """Host is :authority when the client sent no host field ($host
    lowercased without the port, $http_host as sent); a host field beside
    a different :authority wins in lbd (the request is served for it);
    neither is malformed (RST_STREAM)."""
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(path='/a?x=1', authority='A.Example:81'))
    st, body = _stream(c, 1)
    assert st == 'ok', (st, body)
    info = json.loads(body)
    assert ('host', 'a.example') in _hdrs(info), info['headers']
    lines = _log_lines(p, 1)
    f = lines[0].split('|')
    assert f[:6] == ['GET /a?x=1 HTTP/2.0', '/a?x=1', '/a', 'x=1',
                     'a.example', 'A.Example:81'], f
    # a host field alone
    _send(c, 3, _block(path='/b', authority=None,
                       extra=[('host', 'h.example')]))
    st, body = _stream(c, 3)
    if t.is_nginx:
        return  # nginx 1.22 answers 400 without :authority
    assert st == 'ok', (st, body)
    assert ('host', 'h.example') in _hdrs(json.loads(body))
    # :authority and a host field that disagree: lbd goes by the host field
    _send(c, 5, _block(path='/c', authority='a.example',
                       extra=[('host', 'b.example')]))
    st, body = _stream(c, 5)
    assert st == 'ok', (st, body)
    h = _hdrs(json.loads(body))
    assert ('host', 'b.example') in h and ('host', 'a.example') not in h, h
    lines = _log_lines(p, 3)
    assert lines[1].split('|')[4:6] == ['h.example', 'h.example'], lines[1]
    assert lines[2].split('|')[4:6] == ['b.example', 'b.example'], lines[2]
    # neither: malformed (nghttp2), the stream is reset
    _send(c, 7, _block(path='/d', authority=None))
    assert _stream(c, 7) == ('rst', 1)


def test_h2_map_cookies_joined(t):
    """Cookie crumbs in separate fields reach the HTTP/1.1 upstream as one
    Cookie field joined with "; " (RFC 9113 8.2.3), and $http_cookie is
    the joined value; other fields keep their order."""
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(path='/c', extra=[
        ('cookie', 'a=1'), ('x-a', 'one'), ('cookie', 'b=2'),
        ('x-b', 'two'), ('cookie', 'c=3')]))
    st, body = _stream(c, 1)
    assert st == 'ok', (st, body)
    h = _hdrs(json.loads(body))
    assert [v for k, v in h if k == 'cookie'] == ['a=1; b=2; c=3'], h
    names = [k for k, v in h]
    assert names.index('x-a') < names.index('x-b'), names
    if not t.is_nginx:
        # the order the HTTP/1.1 request is built in: Host, the fields as
        # received, the joined Cookie last
        assert names == ['host', 'x-a', 'x-b', 'cookie'], names
    f = _log_lines(p, 1)[0].split('|')
    assert f[6:8] == ['a=1; b=2; c=3', 'one'], f


def test_h2_map_dropped_fields(t):
    """te: trailers is hop-by-hop (not forwarded); a name with an
    underscore or a '.' is dropped (ignore_invalid_headers on, the
    default), so $http_x_u is empty; underscores_in_headers on keeps it."""
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(path='/d', extra=[
        ('te', 'trailers'), ('x_u', 'under'), ('x.dot', 'dot'),
        ('x-a', 'kept')]))
    st, body = _stream(c, 1)
    assert st == 'ok', (st, body)
    h = _hdrs(json.loads(body))
    names = [k for k, v in h]
    assert 'te' not in names and 'x_u' not in names and \
        'x.dot' not in names, names
    assert ('x-a', 'kept') in h
    f = _log_lines(p, 1)[0].split('|')
    assert f[7:9] == ['kept', '-'], f
    p2 = _proxy(t, b1, 'underscores_in_headers on;')
    c2 = H2Raw(p2.port)
    t.defer(c2.close)
    _send(c2, 1, _block(path='/d', extra=[('x_u', 'under')]))
    st, body = _stream(c2, 1)
    assert ('x_u', 'under') in _hdrs(json.loads(body))
    f = _log_lines(p2, 1)[0].split('|')
    assert f[8] == 'under', f


def test_h2_map_bad_requests(t):
    """Malformed in HTTP/2 (nghttp2's checks): a connection-specific
    field, te other than trailers, a content-length the DATA does not
    match -> RST_STREAM PROTOCOL_ERROR (the last one after its request
began: logged with 400). Refused by the request code: a
    method outside the HTTP/1 grammar -> 400 on the stream. The
    connection serves the next stream either way."""
    if t.is_nginx:
        t.skip('nginx 1.22 answers these with its own statuses')
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(path='/small', extra=[('keep-alive', '1')]))
    assert _stream(c, 1) == ('rst', 1)
    _send(c, 3, _block(path='/small', extra=[('te', 'gzip')]))
    assert _stream(c, 3) == ('rst', 1)
    _send(c, 5, _block(method='POST', path='/up', extra=[
        ('content-length', '10')]), [b'12345'])
    assert _stream(c, 5) == ('rst', 1)
    _send(c, 7, _block(method='get', path='/small'))
    st, body = _stream(c, 7)
    assert st == 'ok' and b'400 Bad Request' in body, (st, body)
    _send(c, 9, _block(path='/small'))
    assert _stream(c, 9) == ('ok', b'small\n')
    lines = [ln.split('|') for ln in _log_lines(p, 3)]
    # the body cut short: logged as the 400 the request code answers
    assert lines[0][:2] == ['POST /up HTTP/2.0', '/up'], lines
    assert lines[0][10] == '400', lines
    # a request the HTTP/1 grammar refuses is logged as one that never
    # parsed: no $request, HTTP/1.0
    assert (lines[1][0], lines[1][9], lines[1][10]) == \
        ('-', 'HTTP/1.0', '400'), lines
    assert lines[2][:2] == ['GET /small HTTP/2.0', '/small']
    assert b1.count() == 0


def test_h2_map_header_limits(t):
    """The HTTP/1 head limits apply to the request as HTTP/1.1 would carry
    it, within the h2 field and list limits: a request line over
    large_client_header_buffers' size -> 414, one field line or the joined
    Cookie over it -> 400 "Request Header Or Cookie Too Large" (more than
    100 fields are kept, as HTTP/1.1's, up to 1000); each answered on its stream, the connection goes
    on. One byte less passes."""
    if t.is_nginx:
        t.skip('nginx 1.22 checks h2 fields by its own http2_* sizes')
    b1 = t.backend('b1')
    p = _proxy(t, b1, 'large_client_header_buffers 4 1k;')
    c = H2Raw(p.port)
    t.defer(c.close)
    # "GET " + path + " HTTP/1.1\r\n": 1024 bytes pass, 1025 do not
    ok_path = '/' + 'p' * (1024 - 4 - 11 - 1)
    _send(c, 1, _block(path=ok_path + 'q'))
    st, body = _stream(c, 1)
    assert st == 'ok' and b'414' in body, (st, body[:200])
    _send(c, 3, _block(path=ok_path))
    st, body = _stream(c, 3)
    assert st == 'ok' and json.loads(body)['path'] == ok_path
    # "x-a: " + value + "\r\n": 1024 bytes pass, 1025 do not
    _send(c, 5, _block(path='/h', extra=[('x-a', 'v' * (1024 - 7 + 1))]))
    st, body = _stream(c, 5)
    assert st == 'ok' and b'Request Header Or Cookie Too Large' in body, \
        (st, body[:200])
    _send(c, 7, _block(path='/h', extra=[('x-a', 'v' * (1024 - 7))]))
    st, body = _stream(c, 7)
    assert st == 'ok' and json.loads(body)['path'] == '/h'
    # "Cookie: " + 2 crumbs joined + "\r\n" over 1024
    _send(c, 9, _block(path='/k', extra=[('cookie', 'a=' + 'x' * 510),
                                         ('cookie', 'b=' + 'y' * 510)]))
    st, body = _stream(c, 9)
    assert st == 'ok' and b'Request Header Or Cookie Too Large' in body, \
        (st, body[:200])
    # 101 fields (Host from :authority is one of them): past the 100 a
    # request holds itself, as HTTP/1.1 takes them (up to 1000; here the
    # h2 list limit, 4k counted as RFC 9113 counts, comes first)
    _send(c, 11, _block(path='/n', extra=[('x-%d' % i, 'v')
                                          for i in range(100)]))
    st, body = _stream(c, 11)
    assert st == 'ok' and json.loads(body)['path'] == '/n', (st, body[:200])
    assert b1.last().header('x-99') == 'v'
    _send(c, 13, _block(path='/n', extra=[('x-%d' % i, 'v')
                                          for i in range(99)]))
    st, body = _stream(c, 13)
    assert st == 'ok' and json.loads(body)['path'] == '/n'
    # a control byte in a value: malformed (RFC 9113 8.2.1), reset
    _send(c, 15, _block(path='/v', extra=[('x-a', 'a\x01b'), ('x-b', 'ok')]))
    assert _stream(c, 15) == ('rst', 1)
    lines = _log_lines(p, 7)
    assert [ln.split('|')[10] for ln in lines] == \
        ['414', '200', '400', '200', '400', '200', '200'], lines
    assert b1.count() == 4
    # the whole head over the 4 buffers (4 KiB) while the h2 list limit
    # allows it: too large as HTTP/1.1 text
    p2 = _proxy(t, b1, 'large_client_header_buffers 4 1k; '
                'http2_max_header_size 64k;')
    c2 = H2Raw(p2.port)
    t.defer(c2.close)
    _send(c2, 1, _block(path='/t', extra=[('x-%d' % i, 'v' * 900)
                                          for i in range(5)]))
    st, body = _stream(c2, 1)
    assert st == 'ok' and b'Request Header Or Cookie Too Large' in body, \
        (st, body[:200])
    _send(c2, 3, _block(path='/t', extra=[('x-%d' % i, 'v' * 900)
                                          for i in range(4)]))
    st, body = _stream(c2, 3)
    assert st == 'ok' and json.loads(body)['path'] == '/t'


def test_h2_map_bodies(t):
    """A request body with content-length, and one without (DATA until
    END_STREAM), reach the HTTP/1.1 upstream whole with a Content-Length;
    with proxy_request_buffering off the one without is sent chunked.
    $content_length and $request_length as logged today."""
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(method='POST', path='/cl', extra=[
        ('content-length', '11')]), [b'hello', b' world'])
    st, body = _stream(c, 1)
    assert st == 'ok', (st, body)
    info = json.loads(body)
    assert info['body_len'] == 11 and ('content-length', '11') in \
        _hdrs(info), info
    _send(c, 3, _block(method='POST', path='/nocl'),
          [b'abc', b'defg', b''])
    st, body = _stream(c, 3)
    assert st == 'ok', (st, body)
    info = json.loads(body)
    h = _hdrs(info)
    assert info['body_len'] == 7 and ('content-length', '7') in h, info
    assert 'transfer-encoding' not in [k for k, v in h], h
    lines = _log_lines(p, 2)
    f1, f2 = lines[0].split('|'), lines[1].split('|')
    assert f1[11:13] == ['POST', '11'], f1
    assert f2[11:13] == ['POST', '7'], f2
    if not t.is_nginx:
        # the request as HTTP/1.1 would carry it: head, then the body
        # (chunk framing counted when it had no content-length)
        assert f1[13] == str(len('POST /cl HTTP/1.1\r\nHost: localhost\r\n'
                                 'content-length: 11\r\n\r\n') + 11), f1
        assert f2[13] == str(len('POST /nocl HTTP/1.1\r\nHost: localhost\r\n'
                                 'Transfer-Encoding: chunked\r\n\r\n') +
                             len('3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n')), f2
    p2 = _proxy(t, b1, loc='proxy_request_buffering off;')
    c2 = H2Raw(p2.port)
    t.defer(c2.close)
    _send(c2, 1, _block(method='POST', path='/stream'),
          [b'abc', b'defg', b''])
    st, body = _stream(c2, 1)
    assert st == 'ok', (st, body)
    info = json.loads(body)
    h = _hdrs(info)
    assert info['body_len'] == 7, info
    # chunked, or with a Content-Length when the whole body came with
    # the head (timing: either is right)
    assert ('transfer-encoding', 'chunked') in h or \
        ('content-length', '7') in h, h


def test_h2_map_same_as_h1(t):
    """One request sent over HTTP/1.1 and over h2 with the same fields:
    the access log lines are the same but for the protocol, and the
    upstream gets the same fields."""
    b1 = t.backend('b1')
    p = _proxy(t, b1)
    path = '/same/%41b/../c?q=1&r=%20'
    fields = [('x-a', 'alpha'), ('user-agent', 'ua/1'),
              ('accept', '*/*'), ('cookie', 'k=v')]
    with Conn(p.subs['port2']) as h1:
        h1.send(('GET %s HTTP/1.1\r\nHost: Localhost:8080\r\n' % path +
                 ''.join('%s: %s\r\n' % kv for kv in fields) +
                 '\r\n').encode())
        r = h1.read_response()
    assert r.status == 200
    want = _hdrs(r.json())
    c = H2Raw(p.port)
    t.defer(c.close)
    _send(c, 1, _block(path=path, authority='Localhost:8080', extra=fields))
    st, body = _stream(c, 1)
    assert st == 'ok', (st, body)
    got = _hdrs(json.loads(body))
    assert got == want, (got, want)
    lines = _log_lines(p, 2)
    a = lines[0].split('|')
    b = lines[1].split('|')
    assert a[0] == 'GET %s HTTP/1.1' % path and b[0] == 'GET %s HTTP/2.0' % path
    assert a[9] == 'HTTP/1.1' and b[9] == 'HTTP/2.0'
    assert a[1:9] + a[10:13] == b[1:9] + b[10:13], (a, b)
    assert a[2] == '/same/c' and a[3] == 'q=1&r=%20' and a[4] == 'localhost'


def test_h2_map_response_heads(t):
    """The upstream's answer as HEADERS and DATA: names lowercased, the
    connection-specific fields (Connection, Keep-Alive, Transfer-Encoding)
    left out, repeated fields kept apart, values trimmed; a chunked answer
    (with trailers) and one delimited by the close arrive whole; lbd's own
    answers (return, an error page) too."""
    from test_h2 import curl_h2
    chunked = raw_upstream(t, (
        b'HTTP/1.1 200 OK\r\nX-Mixed-Case: One\r\nSet-Cookie: a=1\r\n'
        b'Keep-Alive: timeout=5\r\nSet-Cookie: b=2\r\n'
        b'X-Space:   padded  \r\nTransfer-Encoding: chunked\r\n'
        b'Connection: close\r\n\r\n'
        b'5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n'))
    closed = raw_upstream(t, (
        b'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\n' +
        b'z' * 100000))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location /chunked { proxy_pass http://127.0.0.1:%d; }
    location /closed { proxy_pass http://127.0.0.1:%d; }
    location = /own { add_header X-Own yes; return 200 "own\\n"; }
}""" % (chunked, closed))
    base = 'http://127.0.0.1:%d' % p.port
    ver, code, head, body = curl_h2(base + '/chunked', prior=True)
    assert (ver, code, body) == ('2', 200, b'hello world'), (ver, code, body)
    lines = head.split('\r\n')
    assert 'x-mixed-case: One' in lines, lines
    assert 'x-space: padded' in lines, lines
    assert [ln for ln in lines if ln.startswith('set-cookie')] == \
        ['set-cookie: a=1', 'set-cookie: b=2'], lines
    for hop in ('connection', 'keep-alive', 'transfer-encoding',
                'x-trailer'):
        assert not any(ln.lower().startswith(hop + ':') for ln in lines), \
            lines
    ver, code, head, body = curl_h2(base + '/closed', prior=True)
    assert (code, body) == (201, b'z' * 100000), (code, len(body))
    assert 'transfer-encoding' not in head.lower(), head
    ver, code, head, body = curl_h2(base + '/own', prior=True)
    assert (code, body) == (200, b'own\n')
    assert 'x-own: yes' in head.split('\r\n'), head
    ver, code, head, body = curl_h2(base + '/nope', prior=True)
    assert code == 404 and b'404 Not Found' in body, (code, body)
