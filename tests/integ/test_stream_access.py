# SPDX-License-Identifier: MIT
"""nginx's stream access and return modules, against nginx (with
libnginx-mod-stream loaded) and lbd, same config: `allow`/`deny` (first
match wins, CIDR, `all`, inherited from stream{} unless the server has its
own rules) close a denied client before any upstream connect, with the
error-log line and status 403 in the access log; `return VALUE` (variables)
sends the value and closes, `return` and `proxy_pass` in one server (the
later one is the handler), deny before return; `-t` errors with FILE:LINE.

Clients connect from 127.0.0.1 or 127.0.0.2 (both local), so one test
sees both sides of a rule."""

import socket

from harness import recv_until_close, wait_for
from test_stream import MAIN, backend, stream_proxy, read_line


def _from(port, source, timeout=10):
    return socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                    source_address=(source, 0))


def _closed_at_once(port, source):
    """The proxy closes a client from SOURCE without a byte."""
    s = _from(port, source)
    try:
        try:
            return s.recv(100) == b''
        except ConnectionResetError:
            return True
    finally:
        s.close()


def _hello(port, source):
    s = _from(port, source)
    try:
        return read_line(s).strip().decode()
    finally:
        s.close()


def test_stream_allow_deny(t):
    a, b, c = (backend(t, n, 'hello') for n in ('a', 'b', 'c'))
    p = stream_proxy(t, """
    log_format st '$remote_addr $server_port $status $upstream_addr';
    access_log {prefix}/logs/stream.log st;
    deny 127.0.0.1;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{a};
             allow 127.0.0.2; deny all; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{port3}; proxy_pass 127.0.0.1:{c};
             deny 127.0.0.2/32; allow 127.0.0.0/8; deny all; }""",
                     a=a, b=b, c=c)
    port2, port3 = p.subs['port2'], p.subs['port3']
    # server 1: its own rules, first match wins
    assert _hello(p.port, '127.0.0.2') == 'a'
    before = a.accepted
    assert _closed_at_once(p.port, '127.0.0.1')
    assert a.accepted == before  # no upstream connect for a denied client
    # server 2: the stream-level rule is inherited
    assert _closed_at_once(port2, '127.0.0.1')
    assert _hello(port2, '127.0.0.2') == 'b'
    # server 3: its own list replaces the inherited one; CIDR
    assert _hello(port3, '127.0.0.1') == 'c'
    assert _closed_at_once(port3, '127.0.0.2')
    want = ('access forbidden by rule while initializing session, '
            'client: 127.0.0.1, server: 127.0.0.1:%d' % p.port)
    wait_for(lambda: want in p.error_log(), 10,
             what='%r in the error log' % want)
    line = [ln for ln in p.error_log().splitlines() if want in ln][0]
    assert '[error]' in line, line
    want = ('access forbidden by rule while initializing session, '
            'client: 127.0.0.2, server: 127.0.0.1:%d' % port3)
    wait_for(lambda: want in p.error_log(), 10, what=want)
    # status 403, no upstream
    want = '127.0.0.1 %d 403 -' % p.port
    wait_for(lambda: want in p.read('logs', 'stream.log'), 10,
             what='%r in %r' % (want, p.read('logs', 'stream.log')))
    want = '127.0.0.2 %d 200 127.0.0.1:%d' % (p.port, a.port)
    wait_for(lambda: want in p.read('logs', 'stream.log'), 10,
             what='%r in the stream log' % want)


def _unix_reply(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    try:
        try:
            return s.recv(100)
        except ConnectionResetError:
            return b''
    finally:
        s.close()


def test_stream_allow_deny_unix(t):
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; return "tcp\\n";
             allow unix:; deny all; }
    server { listen unix:{prefix}/ok.sock; return "unix\\n";
             deny 127.0.0.1; allow unix:; deny all; }
    server { listen unix:{prefix}/no.sock; return "no\\n";
             deny unix:; }""")
    # "unix:" matches unix-domain clients only; "all" the others
    assert _closed_at_once(p.port, '127.0.0.1')
    assert _unix_reply(p.path('ok.sock')) == b'unix\n'
    assert _unix_reply(p.path('no.sock')) == b''
    wait_for(lambda: 'access forbidden by rule while initializing session, '
             'client: unix:' in p.error_log(), 10, what='the unix refusal')


def test_stream_return(t):
    e = backend(t, 'e', 'hello')
    p = stream_proxy(t, """
    log_format st '$server_port $status $bytes_sent $upstream_addr';
    access_log {prefix}/logs/stream.log st;
    server { listen 127.0.0.1:{port}; return "$remote_addr $server_port\\n"; }
    server { listen 127.0.0.1:{port2}; return "gone\\n"; proxy_pass 127.0.0.1:{e}; }
    server { listen 127.0.0.1:{port3}; proxy_pass 127.0.0.1:{e}; return "mine\\n"; }
    server { listen 127.0.0.1:{port4}; return "x"; deny 127.0.0.2; }""", e=e)
    port2, port3, port4 = (p.subs['port%d' % i] for i in (2, 3, 4))
    s = _from(p.port, '127.0.0.1')
    got = recv_until_close(s)
    s.close()
    assert got == b'127.0.0.1 %d\n' % p.port, got
    # the later of return and proxy_pass is the handler
    assert _hello(port2, '127.0.0.1') == 'e'
    assert _hello(port3, '127.0.0.1') == 'mine'
    # the access phase comes first
    assert _closed_at_once(port4, '127.0.0.2')
    assert _hello(port4, '127.0.0.1') == 'x'
    n = len('127.0.0.1 %d\n' % p.port)
    want = '%d 200 %d -' % (p.port, n)
    wait_for(lambda: want in p.read('logs', 'stream.log'), 10,
             what='%r in %r' % (want, p.read('logs', 'stream.log')))
    assert '%d 403 0 -' % port4 in p.read('logs', 'stream.log')


def _t_error(t, body, want, line):
    p = stream_proxy(t, body, start=False)
    text = p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0, r.stderr
    lines = text.split('\n')
    n = [i + 1 for i, ln in enumerate(lines) if line in ln][0]
    msg = '%s in %s:%d' % (want, p.conf_path, n)
    assert msg in r.stderr + p.error_log(), (msg, r.stderr)


def test_stream_access_return_config_errors(t):
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             allow 10.0.0.1/33; }""", 'invalid parameter "10.0.0.1/33"',
             '/33')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             deny nothing; }""", 'invalid parameter "nothing"', 'nothing')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             allow a b; }""",
             'invalid number of arguments in "allow" directive', 'allow a b')
    _t_error(t, """
    upstream u { server 127.0.0.1:1;
                 deny all; }
    server { listen 127.0.0.1:{port}; proxy_pass u; }""",
             '"deny" directive is not allowed here', 'deny all')
    _t_error(t, """
    return x;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:1; }""",
             '"return" directive is not allowed here', 'return x')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             return y; }""", '"return" directive is duplicate', 'return y')
    _t_error(t, """
    server { listen 127.0.0.1:{port};
             return; }""",
             'invalid number of arguments in "return" directive', 'return;')


def _read_all(port, source='127.0.0.1'):
    s = _from(port, source)
    try:
        return recv_until_close(s)
    finally:
        s.close()


def test_stream_set(t):
    a, b = backend(t, 'a', 'hello'), backend(t, 'b', 'hello')
    p = stream_proxy(t, """
    map $tag $target { a 127.0.0.1:{a}; default 127.0.0.1:{b}; }
    log_format st '$server_port $who $tag';
    access_log {prefix}/logs/stream.log st;
    server { listen 127.0.0.1:{port}; set $up 127.0.0.1:{b}; proxy_pass $up; }
    server { listen 127.0.0.1:{port2}; set $tag a; proxy_pass $target;
             set $who "$remote_addr:$server_port"; }
    server { listen 127.0.0.1:{port3}; set $tag zz; proxy_pass $target; }
    server { listen 127.0.0.1:{port4}; set $x 1; set $y "${x}2"; set $x 3;
             return "$x-$y-$tag.\\n"; }""", a=a, b=b)
    port2, port3, port4 = (p.subs['port%d' % i] for i in (2, 3, 4))
    assert _hello(p.port, '127.0.0.1') == 'b'    # proxy_pass $set_var
    assert _hello(port2, '127.0.0.1') == 'a'     # a map of a set variable
    assert _hello(port3, '127.0.0.1') == 'b'
    # in order; a variable this server does not set is empty
    assert _read_all(port4) == b'3-12-.\n'
    log = lambda: p.read('logs', 'stream.log')
    want = '%d 127.0.0.1:%d a' % (port2, port2)
    wait_for(lambda: want in log(), 10, what='%r in %r' % (want, log()))
    # not set in this server: empty (not "-") in the log
    want = '%d  zz' % port3
    wait_for(lambda: want in log(), 10, what='%r in %r' % (want, log()))


def test_stream_set_config_errors(t):
    _t_error(t, """
    set $a 1;
    server { listen 127.0.0.1:{port}; return x; }""",
             '"set" directive is not allowed here', 'set $a')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             set a 1; }""", 'invalid variable name "a"', 'set a')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             set $remote_addr 1; }""",
             'the duplicate "remote_addr" variable', 'set $remote_addr')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             set $a; }""",
             'invalid number of arguments in "set" directive', 'set $a;')


def _echo_ok(s, msg=b'ping'):
    s.sendall(msg)
    got = b''
    while len(got) < len(msg):
        d = s.recv(100)
        if not d:
            return False
        got += d
    return got == msg


def test_stream_limit_conn(t):
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    limit_conn_zone $binary_remote_addr zone=addr:1m;
    limit_conn_zone $server_port zone=port:1m;
    log_format st '$server_port $remote_addr $status $limit_conn_status';
    access_log {prefix}/logs/stream.log st;
    limit_conn addr 2;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{e};
             limit_conn port 1; limit_conn_dry_run on;
             limit_conn_log_level warn; }""", e=e, workers=2)
    port2 = p.subs['port2']
    log = lambda: p.read('logs', 'stream.log')
    # the readiness probes' sessions have ended (and given their counts back)
    wait_for(lambda: log().count('\n') >= 2, 10, what='the probes')
    held = [_from(p.port, '127.0.0.1') for _ in range(2)]
    for s in held:
        t.defer(s.close)
        assert _echo_ok(s)
    before = e.accepted
    # a third from the same address: closed at once, no upstream connect
    assert _closed_at_once(p.port, '127.0.0.1')
    assert e.accepted == before
    # another address is another key
    s3 = _from(p.port, '127.0.0.2')
    assert _echo_ok(s3)
    s3.close()
    want = ('limiting connections by zone "addr" while initializing session, '
            'client: 127.0.0.1, server: 127.0.0.1:%d' % p.port)
    wait_for(lambda: want in p.error_log(), 10, what=want)
    assert '[error]' in [ln for ln in p.error_log().splitlines()
                         if want in ln][0]
    wait_for(lambda: '%d 127.0.0.1 503 REJECTED' % p.port in log(), 10,
             what='the 503 line in %r' % log())
    # a session that ends gives its count back
    line = '%d 127.0.0.1 200 PASSED' % p.port
    n = log().count(line)  # the readiness probe's
    held.pop().close()
    wait_for(lambda: log().count(line) > n, 10,
             what='the closed session logged')
    s4 = _from(p.port, '127.0.0.1')
    assert _echo_ok(s4)
    s4.close()
    # server 2: its own limit (the stream-level one is not inherited), dry run
    a = _from(port2, '127.0.0.1')
    t.defer(a.close)
    assert _echo_ok(a)
    b = _from(port2, '127.0.0.1')
    t.defer(b.close)
    assert _echo_ok(b)
    want = ('limiting connections, dry run, by zone "port" while '
            'initializing session, client: 127.0.0.1, server: 127.0.0.1:%d'
            % port2)
    wait_for(lambda: want in p.error_log(), 10, what=want)
    assert '[warn]' in [ln for ln in p.error_log().splitlines()
                        if want in ln][0]
    b.close()
    wait_for(lambda: '%d 127.0.0.1 200 REJECTED_DRY_RUN' % port2 in log(),
             10, what='the dry-run line in %r' % log())
    for s in held + [a]:
        s.close()


def test_stream_limit_conn_config_errors(t):
    _t_error(t, """
    limit_conn_zone $remote_addr zone=a:1m;
    server { listen 127.0.0.1:{port}; return x;
             limit_conn a 0; }""",
             'invalid number of connections "0"', 'limit_conn a 0')
    _t_error(t, """
    limit_conn_zone $remote_addr zone=a:1m;
    server { listen 127.0.0.1:{port}; return x;
             limit_conn a 1; limit_conn a 2; }""",
             '"limit_conn" directive is duplicate', 'limit_conn a 2')
    _t_error(t, """
    limit_conn_zone $remote_addr zone=a:1;
    server { listen 127.0.0.1:{port}; return x; }""",
             'zone "zone=a:1" is too small', 'zone=a:1;')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             limit_conn_zone $remote_addr zone=a:1m; }""",
             '"limit_conn_zone" directive is not allowed here',
             'limit_conn_zone')
    _t_error(t, """
    limit_conn_zone $remote_addr zone=a:1m;
    server { listen 127.0.0.1:{port}; return x;
             limit_conn_log_level loud; }""",
             'invalid value "loud"', 'loud')
    # one name space of shared memory zones for http and stream (nginx's
    # message at the second use in the file)
    p = stream_proxy(t, """
    limit_conn_zone $remote_addr zone=z:1m;
    server { listen 127.0.0.1:{port}; return x; }""", start=False)
    p.write_conf(http='limit_req_zone $remote_addr zone=z:1m rate=1r/s;',
                 main=MAIN + 'stream {\n    limit_conn_zone $remote_addr '
                 'zone=z:1m;\n    server { listen 127.0.0.1:{port}; '
                 'return x; }\n}\n')
    r = p.run('-t')
    # stream{} comes first in the file: the http zone is the second use
    n = [i + 1 for i, ln in enumerate(p.text.split('\n'))
         if 'limit_req_zone' in ln][0]
    want = ('the shared memory zone "z" is already declared for a different '
            'use in %s:%d' % (p.conf_path, n))
    assert r.returncode != 0 and want in r.stderr + p.error_log(), r.stderr


def test_stream_geo(t):
    a, b = backend(t, 'a', 'hello'), backend(t, 'b', 'hello')
    p = stream_proxy(t, """
    geo $zone { default other; 127.0.0.2/32 two; 127.0.0.0/8 lo; }
    geo $addr $net { default none; 10.0.0.0/8 ten; ::1 six; }
    geo $target { default 127.0.0.1:{a}; 127.0.0.2 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{port}; return "$zone\\n"; }
    server { listen 127.0.0.1:{port2}; set $addr 10.1.2.3;
             return "$net\\n"; }
    server { listen 127.0.0.1:{port3}; proxy_pass $target; }""", a=a, b=b)
    port2, port3 = p.subs['port2'], p.subs['port3']
    # the longest network holding $remote_addr
    assert _read_all(p.port, '127.0.0.1') == b'lo\n'
    assert _read_all(p.port, '127.0.0.2') == b'two\n'
    # another address: a set variable
    assert _read_all(port2) == b'ten\n'
    # geo values as proxy_pass targets
    assert _hello(port3, '127.0.0.1') == 'a'
    assert _hello(port3, '127.0.0.2') == 'b'


def test_stream_split_clients(t):
    from test_split_clients import bucket
    parts = [(3333, 'x'), (3333, 'y'), (None, 'z')]
    p = stream_proxy(t, """
    split_clients "$remote_port-salt" $part { 33.33% x; 33.33% y; * z; }
    server { listen 127.0.0.1:{port}; return "$remote_port $part\\n"; }""")
    seen = set()
    for _ in range(30):
        port, part = _read_all(p.port).decode().split()
        assert part == bucket(parts, (port + '-salt').encode()), (port, part)
        seen.add(part)
    assert seen == {'x', 'y', 'z'}, seen


def test_stream_geo_split_config_errors(t):
    _t_error(t, """
    geo $g { default a;
             10.0.0.1/33 x; }
    server { listen 127.0.0.1:{port}; return $g; }""",
             'invalid network "10.0.0.1/33"', '/33 x')
    _t_error(t, """
    split_clients "$remote_addr" $s { 60% a;
        50% b;
    }
    server { listen 127.0.0.1:{port}; return $s; }""",
             'percent total is greater than 100%', '    }')
    _t_error(t, """
    server { listen 127.0.0.1:{port}; return x;
             geo $g { default a; } }""",
             '"geo" directive is not allowed here', 'geo $g')
