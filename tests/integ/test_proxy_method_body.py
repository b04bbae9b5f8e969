"""proxy_method (a word or variables) and proxy_set_body (variables; its
length as Content-Length, the client's body read but not sent, its
framing headers dropped) as nginx sends them upstream; HEAD sent for a
GET (no body awaited) and GET sent for a HEAD (the body dropped, the
upstream connection kept); inheritance; -t errors."""
from harness import assert_location_t_errors

CONF = r"""
upstream ka { server 127.0.0.1:{b}; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_method POST;
    location /m/ { proxy_pass http://ka; }
    location /var/ {
        proxy_method $arg_m;
        proxy_pass http://ka;
    }
    location /body/ {
        proxy_set_body "user=$arg_u&uri=$uri";
        proxy_pass http://ka;
    }
    location /empty/ {
        proxy_method PUT;
        proxy_set_body "";
        proxy_pass http://ka;
    }
    location /nobody/ {
        proxy_pass_request_body off;
        proxy_set_body "x=1";
        proxy_pass http://ka;
    }
    location /head/ {
        proxy_method HEAD;
        proxy_pass http://ka;
    }
    location /get/ {
        proxy_method GET;
        proxy_pass http://ka;
    }
}"""


def test_proxy_method(t):
    b, = t.backends('b')
    p = t.proxy(CONF, b=b)
    r = p.get('/m/x')
    assert r.status == 200 and b.last().method == 'POST', b.last().method
    assert b.last().header('Content-Length') is None
    r = p.get('/var/x?m=PATCH')
    assert r.status == 200 and b.last().method == 'PATCH'
    r = p.req('DELETE', '/var/x?m=OPTIONS')
    assert r.status == 200 and b.last().method == 'OPTIONS'
    # a client's body goes with the method it is sent under
    r = p.req('PUT', '/m/y', body=b'hello')
    last = b.last()
    assert (r.status, last.method, last.body) == (200, 'POST', b'hello'), last.raw


def test_proxy_set_body(t):
    b, = t.backends('b')
    p = t.proxy(CONF, b=b)
    r = p.get('/body/a?u=ann')
    last = b.last()
    assert r.status == 200 and last.method == 'POST'
    assert last.body == b'user=ann&uri=/body/a', last.raw
    assert last.header('Content-Length') == str(len(last.body))
    # the client's body is read and replaced, whatever its framing
    r = p.req('POST', '/body/b?u=bo', body=b'z' * 5000)
    last = b.last()
    assert r.status == 200 and last.body == b'user=bo&uri=/body/b', last.raw[:300]
    assert last.header('Transfer-Encoding') is None
    with p.conn() as c:
        c.send(b'POST /body/c?u=c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               b'5\r\nhello\r\n0\r\n\r\n')
        r = c.read_response()
        assert r.status == 200
        # keep-alive goes on after the unsent body
        r = c.request('GET', '/body/d?u=d')
        assert r.status == 200
    last = b.last()
    assert last.body == b'user=d&uri=/body/d', last.raw
    r = p.get('/empty/x')
    last = b.last()
    assert (r.status, last.method, last.body) == (200, 'PUT', b'')
    assert last.header('Content-Length') == '0', last.raw
    r = p.req('POST', '/nobody/x', body=b'client')
    last = b.last()
    assert r.status == 200 and last.body == b'x=1', last.raw


def test_proxy_method_head_and_get(t):
    b, = t.backends('b')
    p = t.proxy(CONF, b=b)
    with p.conn() as c:
        # GET sent for a HEAD: the upstream's body is read and dropped
        r = c.request('HEAD', '/get/y')
        assert r.status == 200 and b.last().method == 'GET' and r.body == b''
        r = c.request('GET', '/m/z')
        assert r.status == 200 and b.last().method == 'POST' and r.body
    # HEAD sent for a GET: as nginx, the head comes back alone (its
    # Content-Length kept) and nothing more is awaited from the upstream
    with p.conn() as c:
        c.send(b'GET /head/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        _, status, _, headers = c.read_head()
        assert status == 200 and b.last().method == 'HEAD'
        assert int(dict((k.lower(), v) for k, v in headers)['content-length']) > 0
        assert c.is_closed() and not c.buf, c.buf


def test_proxy_method_config_errors(t):
    assert_location_t_errors(t, [
        ('proxy_method a b;', 'invalid number of arguments in "proxy_method" directive'),
        ('proxy_method GET; proxy_method POST;', '"proxy_method" directive is duplicate'),
        ('proxy_set_body a; proxy_set_body b;', '"proxy_set_body" directive is duplicate'),
        ('if ($x) { proxy_method GET; }', '"proxy_method" directive is not allowed here'),
        ('if ($x) { proxy_set_body b; }', '"proxy_set_body" directive is not allowed here'),
    ])
