# SPDX-License-Identifier: MIT
"""Variables about the response, as nginx 1.22 has them: $sent_http_NAME
(a header as sent; in a log, and while the head is made: the
`map $sent_http_content_type $expires` + `expires $expires` browser-cache
idiom), $upstream_http_NAME and $upstream_cookie_NAME (the upstream's
answer), and $args / $query_string "not found" ("-" in a log) when the
target had no arguments. `expires` with variables replaces the upstream's
Expires and Cache-Control when its value is not "off". Every case runs
against nginx too."""

import os


def test_sent_and_upstream_variables_in_the_log(t):
    b = t.backend('b')
    p = t.proxy("""
log_format rv '$request_uri|$sent_http_content_type|$sent_http_x_up|$sent_http_location|'
              '$upstream_http_x_up|$upstream_http_content_type|$upstream_cookie_sid|$args|'
              '$query_string|$sent_http_x_none';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/rv.log rv;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
    location = /r { return 302 /p/x; }
    location = /t { return 200 "t"; }
}""", b=b)
    assert p.get('/p/headers?X-Up=1&Set-Cookie=sid%3Dabc%3B%20Path%3D%2F').status == 200
    assert p.get('/r').status == 302
    assert p.get('/t?').status == 200
    p.stop()
    lines = open(os.path.join(p.prefix, 'logs', 'rv.log')).read().splitlines()
    assert lines[0] == ('/p/headers?X-Up=1&Set-Cookie=sid%3Dabc%3B%20Path%3D%2F|application/json|1|-|'
                        '1|application/json|abc|X-Up=1&Set-Cookie=sid%3Dabc%3B%20Path%3D%2F|'
                        'X-Up=1&Set-Cookie=sid%3Dabc%3B%20Path%3D%2F|-'), lines[0]
    assert lines[1] == '/r|text/html|-|http://localhost:%d/p/x|-|-|-|-|-|-' % p.port, lines[1]
    assert lines[2] == '/t?|text/plain|-|-|-|-|-|-|-|-', lines[2]


def test_expires_by_content_type_map(t):
    b = t.backend('b')
    p = t.proxy("""
types { text/html html; text/css css; image/png png; }
default_type text/plain;
map $sent_http_content_type $expires {
    default     off;
    text/html   epoch;
    text/css    max;
    ~image/     1h;
}
server {
    listen 127.0.0.1:{port};
    expires $expires;
    root {prefix}/www;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
}""", b=b, start=False)
    for name in ('a.html', 'a.css', 'a.png', 'a.txt'):
        t.write(os.path.join(p.prefix, 'www', name), 'x')
    p.start()
    r = p.get('/a.html')
    assert (r.header('Expires'), r.header('Cache-Control')) == \
        ('Thu, 01 Jan 1970 00:00:01 GMT', 'no-cache'), r.headers
    r = p.get('/a.css')
    assert r.header('Cache-Control') == 'max-age=315360000', r.headers
    r = p.get('/a.png')
    assert r.header('Cache-Control') == 'max-age=3600' and r.header('Expires'), r.headers
    r = p.get('/a.txt')
    assert (r.header('Expires'), r.header('Cache-Control')) == (None, None), r.headers
    # a proxied answer: its own Cache-Control is replaced when the map
    # gives a value, kept when it gives "off"
    r = p.get('/p/headers?Content-Type=text/css&Cache-Control=private')
    assert r.header_all('Cache-Control') == ['max-age=315360000'], r.headers
    r = p.get('/p/headers?Content-Type=text/plain&Cache-Control=private')
    assert r.header_all('Cache-Control') == ['private'] and r.header('Expires') is None, r.headers


def test_request_completion(t):
    """$request_completion: "OK" for an answer that went out whole, empty
    for one the client cut short (a big file it stopped reading, a proxied
    request it left before the answer: 499), as nginx."""
    import socket
    import time
    from harness import wait_for
    b = t.backend('b')
    p = t.proxy("""
log_format rc '$request_uri $status "$request_completion"';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/rc.log rc;
    root {prefix}/www;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
}""", b=b, start=False)
    t.write(os.path.join(p.prefix, 'www', 'big.bin'), 'z' * (16 << 20))
    t.write(os.path.join(p.prefix, 'www', 'small.txt'), 'ok')
    p.start()
    assert p.get('/small.txt').status == 200
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    s.recv(1000)
    s.close()
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(b'GET /p/slow/3000 HTTP/1.1\r\nHost: x\r\n\r\n')
    time.sleep(0.3)
    s.close()

    def lines():
        text = p.read('logs', 'rc.log')
        return text if text.count('\n') >= 3 else None
    text = wait_for(lines, 10, what='three log lines')
    assert '/small.txt 200 "OK"\n' in text, text
    assert '/big.bin 200 ""\n' in text, text
    assert '/p/slow/3000 499 ""\n' in text, text
