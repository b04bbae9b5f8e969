# SPDX-License-Identifier: MIT
"""The request target as nginx 1.22 reads it and passes it on, found by
sending the same raw requests to nginx and lbd:

* a '#' ends $uri and $args ($request_uri keeps the fragment; a target
  sent upstream unchanged keeps it too);
* the path sent for `proxy_pass` with a URI part (or after a rewrite) is
  the decoded path, sent as it came when the client's target had no %XX
  escape and the URI was not rewritten, else escaped with nginx's set
  (space " # % < > ? \\ ^ ` { | } DEL, controls and bytes over 0x7f; not
  ~ ! $ & ' ( ) * + , : ; = @ [ ]);
* the request line: more than one space between its parts and after the
  version is taken, HTTP/1.01, HTTP/1.10 and HTTP/1.999 are 1.1 (a fourth minor digit is 400), HTTP/01.1 and
  HTTP/0.9 are 400, HTTP/9.9 is 505;
* HTTP/1.1 without a Host header is 400 even with an absolute target;
* TRACE is 405 and the connection is closed.
Every case runs against nginx too."""

import base64
import json

from harness import raw_exchange


def _exchange(p, raw, closed=False):
    """(status, response, closed?); closed is looked at (a 1 s wait for an
    open connection) only when asked."""
    oc, rs, c = raw_exchange(p.port, raw, timeout=3.0)
    if closed:
        closed = c.is_closed(timeout=1.0) if rs else True
    c.close()
    return oc, (rs[0] if rs else None), closed


def _upstream_target(resp):
    """The request target the backend received, as raw bytes."""
    raw = base64.b64decode(json.loads(resp.body)['raw_b64'])
    return raw.split(b'\r\n', 1)[0].split(b' ')[1]


def _conf(t):
    b = t.backend('b')
    return t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /a/ { return 200 "uri=$uri args=$args req=$request_uri"; }
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
    location /q/ { proxy_pass http://127.0.0.1:{b}; }
    location /r/ { rewrite ^/r/(.*)$ /z/$1 break; proxy_pass http://127.0.0.1:{b}; }
}""", b=b)


def test_fragment_ends_uri_and_args(t):
    p = _conf(t)
    for target, want in ((b'/a/x#frag', b'uri=/a/x args= req=/a/x#frag'),
                         (b'/a/x?q=1#f', b'uri=/a/x args=q=1 req=/a/x?q=1#f'),
                         (b'/a/#x?y', b'uri=/a/ args= req=/a/#x?y'),
                         (b'/a/x%23y?q=1', b'uri=/a/x#y args=q=1 req=/a/x%23y?q=1')):
        oc, r, _ = _exchange(p, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        assert (oc, r.body) == (200, want), (target, oc, r and r.body)
    for target, want in ((b'/p/a#frag', b'/a'), (b'/p/a?b#c', b'/a?b'),
                         (b'/q/x#y', b'/q/x#y'), (b'/q/x?a#y', b'/q/x?a#y'),
                         (b'/r/x#y', b'/z/x'), (b'/r/%41#y', b'/z/A')):
        oc, r, _ = _exchange(p, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        assert oc == 200 and _upstream_target(r) == want, (target, oc, r and r.body[:200])


def test_path_escaping_sent_upstream(t):
    p = _conf(t)
    quoted = (b'/p/%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D%7E%21%24%26%27%28%29%2A%2B'
              b'%2C%3A%3B%3D%40%5B%5D%7F%C3%A9%01%2F')
    cases = (
        (quoted, b"/%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D~!$&'()*+,:;=@[]%7F%C3%A9%01/"),
        # no escape in the client's target: the path goes as it came
        (b'/p/a"b<c>{d}|e\\f^g`h', b'/a"b<c>{d}|e\\f^g`h'),
        (b'/p/\xc3\xa9', b'/\xc3\xa9'),
        (b'/p/a/../b//c', b'/b/c'),
        # rewritten: escaped
        (b'/r/\xc3\xa9', b'/z/%C3%A9'),
        (b'/r/a"b', b'/z/a%22b'),
        # arguments are never re-escaped
        (b'/p/a?b=%zz&c=\xc3\xa9', b'/a?b=%zz&c=\xc3\xa9'),
    )
    for target, want in cases:
        oc, r, _ = _exchange(p, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        assert oc == 200 and _upstream_target(r) == want, (target, oc, r and _upstream_target(r))


def test_request_line_as_nginx(t):
    p = _conf(t)
    for line, want in ((b'GET  /a/x HTTP/1.1', 200), (b'GET /a/x  HTTP/1.1', 200),
                       (b'GET /a/x HTTP/1.1  ', 200), (b'GET /a/x HTTP/1.01', 200),
                       (b'GET /a/x HTTP/1.10', 200), (b'GET /a/x HTTP/01.1', 400),
                       (b'GET /a/x HTTP/0.9', 400), (b'GET /a/x HTTP/9.9', 505),
                       (b'GET /a/x HTTP/1.999', 200), (b'GET /a/x HTTP/1.1000', 400), (b'GET /a/x\tHTTP/1.1', 400),
                       (b'GET /a/x http/1.1', 400)):
        oc, r, _ = _exchange(p, line + b'\r\nHost: x\r\n\r\n')
        assert oc == want, (line, oc)
        if want == 200:
            assert r.body == b'uri=/a/x args= req=/a/x', (line, r.body)
    # HTTP/1.10 keeps the connection open as 1.1 does
    oc, r, closed = _exchange(p, b'GET /a/x HTTP/1.10\r\nHost: x\r\n\r\n', closed=True)
    assert (oc, closed) == (200, False)


def test_host_required_and_trace_closes(t):
    p = _conf(t)
    oc, _, closed = _exchange(p, b'GET http://x/a/abs HTTP/1.1\r\n\r\n', closed=True)
    assert (oc, closed) == (400, True)
    oc, r, _ = _exchange(p, b'GET http://x/a/abs HTTP/1.1\r\nHost: y\r\n\r\n')
    assert (oc, r.body) == (200, b'uri=/a/abs args= req=/a/abs'), (oc, r and r.body)
    oc, r, _ = _exchange(p, b'GET http://x/a/abs HTTP/1.0\r\n\r\n')
    assert oc == 200
    oc, _, closed = _exchange(p, b'TRACE /a/t HTTP/1.1\r\nHost: x\r\n\r\n', closed=True)
    assert (oc, closed) == (405, True)


def test_undecodable_target_logs_empty_uri(t):
    """A target that does not decode (a bad %XX, dot segments above the
    root) is 400, and nginx logs its $uri empty (not "-") and $args not
    found ("-")."""
    from harness import wait_for
    p = t.proxy("""
log_format u '[$uri] [$args] $status';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/u.log u;
    location / { return 200 "ok\\n"; }
}""")
    for target in (b'/%zz?a=1', b'/a/../../x?b=2', b'/ok?c=3'):
        oc, _, c = raw_exchange(p.port, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        c.close()
        assert oc == (200 if target.startswith(b'/ok') else 400), (target, oc)
    wait_for(lambda: p.read('logs', 'u.log').count('\n') >= 3, what='3 log lines')
    assert p.read('logs', 'u.log').splitlines() == [
        '[] [-] 400', '[] [-] 400', '[/ok] [c=3] 200'], p.read('logs', 'u.log')
