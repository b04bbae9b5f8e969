# SPDX-License-Identifier: MIT
"""Logs to syslog and gzip'd access logs, against nginx 1.22 with the same
config: access_log and error_log `syslog:server=...` to a UDP and a unix
datagram collector (python sockets here), the exact datagram nginx sends
(<PRI>, RFC 3164 time, hostname, "tag: ", the line without its newline;
time, host and pid masked), facility/severity/tag/nohostname, if=, several
syslog and file logs at once, the stream access log, a collector that is
down (errors logged, requests answered) and comes back, reload and USR1;
and `access_log ... gzip` read back with zcat."""

import os
import re
import signal
import socket
import subprocess
import threading

from harness import wait_for
from test_stream import backend, stream_proxy, read_line

HOST = socket.gethostname().lower()
# "<PRI>Mmm dd hh:mm:ss " as nginx writes it (day padded with a space)
STAMP = r'[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d'
TIME_LOCAL = r'\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]'


class Collector:
    """A datagram syslog collector: UDP on 127.0.0.1 (PORT, or a free
    one) or a unix socket at PATH; keeps every datagram in order."""

    def __init__(self, t, port=None, path=None):
        self.t, self.path = t, path
        self.msgs = []
        self._lock = threading.Lock()
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.sock.bind(path)
            os.chmod(path, 0o666)  # workers run as nobody under root
            self.addr = 'unix:' + path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(('127.0.0.1', port or 0))
            self.port = self.sock.getsockname()[1]
            self.addr = '127.0.0.1:%d' % self.port
        self.sock.settimeout(0.2)
        self._stop = False
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()
        t.defer(self.close)

    def _loop(self):
        while not self._stop:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.msgs.append(d.decode('utf-8', 'replace'))

    def close(self):
        if self._stop:
            return
        self._stop = True
        self._th.join(2)
        self.sock.close()
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def lines(self):
        with self._lock:
            return list(self.msgs)

    def wait(self, pattern, what=None):
        """The first datagram matching PATTERN (a regex, whole message)."""
        rx = re.compile(pattern)

        def find():
            for m in self.lines():
                if rx.match(m):
                    return m
            return None
        try:
            return wait_for(find, what=what or 'a datagram matching %s' % pattern)
        except AssertionError as e:
            raise AssertionError('%s; got: %r' % (e, self.lines()[-10:]))


def _access(pri, tag, path, status, ua, host=True):
    return (r'^<%d>%s %s%s: 127\.0\.0\.1 - - %s "GET %s HTTP/1\.1" %d \d+ "-" "%s"$'
            % (pri, STAMP, (re.escape(HOST) + ' ') if host else '', tag, TIME_LOCAL,
               re.escape(path), status, re.escape(ua)))


def test_syslog_access_and_error_log(t):
    udp = Collector(t)
    unix = Collector(t, path=os.path.join(t.tmpdir('slog-'), 'log.sock'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    access_log syslog:server=%s combined;
    access_log syslog:server=%s,facility=local0,severity=warn,tag=my_tag,nohostname combined;
    access_log syslog:server=%s,tag=cond combined if=$arg_log;
    access_log {prefix}/logs/site.log combined;
    error_log syslog:server=%s info;
    error_log {prefix}/logs/site-error.log;
    location / { return 200 "hi\\n"; }
    location /e { root {prefix}/nonexist; }
}""" % (udp.addr, udp.addr, unix.addr, unix.addr))
    assert p.get('/x', headers={'User-Agent': 'ua/1'}).status == 200
    assert p.get('/e', headers={'User-Agent': 'ua/2'}).status == 404
    assert p.get('/x?log=1', headers={'User-Agent': 'ua/3'}).status == 200
    # defaults: local7.info (23 * 8 + 6), hostname, tag "nginx"
    udp.wait(_access(190, 'nginx', '/x', 200, 'ua/1'))
    udp.wait(_access(190, 'nginx', '/e', 404, 'ua/2'))
    # local0.warn (16 * 8 + 4), no hostname
    udp.wait(_access(132, 'my_tag', '/x', 200, 'ua/1', host=False))
    # the error line: nginx's whole error log line, time and all, at the
    # line's own level (error: 184 + 3)
    unix.wait(r'^<187>%s %s nginx: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: '
              r'\*\d+ open\(\) "[^"]*/nonexist/e" failed \(2: No such file or directory\), '
              r'client: 127\.0\.0\.1, server: , request: "GET /e HTTP/1\.1", '
              r'host: "localhost"$' % (STAMP, re.escape(HOST)))
    # if=: only the request with ?log=1 (its line arrives after the others)
    unix.wait(_access(190, 'cond', '/x?log=1', 200, 'ua/3'))
    assert not [m for m in unix.lines() if ' cond: ' in m and 'ua/3' not in m], unix.lines()
    # the file logs got the same requests
    wait_for(lambda: p.read('logs', 'site.log').count('\n') == 3, what='3 file lines')
    wait_for(lambda: 'nonexist/e' in p.read('logs', 'site-error.log'),
             what='the error line in the file error_log too')
    # each datagram is one line, no newline
    assert not [m for m in udp.lines() + unix.lines() if '\n' in m]


def test_syslog_collector_down_and_back(t):
    """Nothing listens: requests are answered and the error log says why;
    once a collector listens again the next lines reach it."""
    port = t.dead_port()
    sock_dir = t.tmpdir('slog-')
    path = os.path.join(sock_dir, 'down.sock')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    access_log syslog:server=127.0.0.1:%d,tag=udp combined;
    access_log syslog:server=unix:%s,tag=unix combined;
    location / { return 200 "hi\\n"; }
}""" % (port, path))
    # A connected UDP socket learns of the closed port from ICMP: the
    # error shows on a later send.
    for i in range(20):
        assert p.get('/down%d' % i).status == 200
        log = p.error_log()
        if re.search(r'\[error\] .*send\(\) failed \(111: Connection refused\)', log) and \
                re.search(r'\[alert\] .*connect\(\) failed \(2: No such file or directory\)',
                          log):
            break
    else:
        assert False, 'no send()/connect() errors in:\n' + p.error_log()[-3000:]
    # the collectors come back
    udp = Collector(t, port=port)
    unix = Collector(t, path=path)

    def both_heard():
        p.get('/back')
        return [m for m in udp.lines() if 'GET /back' in m] and \
            [m for m in unix.lines() if 'GET /back' in m]
    wait_for(both_heard, what='lines at both collectors once they are back')
    udp.wait(r'^<190>%s %s udp: .*"GET /back HTTP/1\.1" 200 ' % (STAMP, re.escape(HOST)))
    unix.wait(r'^<190>%s %s unix: .*"GET /back HTTP/1\.1" 200 ' % (STAMP, re.escape(HOST)))


def test_syslog_reload_and_reopen(t):
    udp = Collector(t)
    tmpl = """
server {
    listen 127.0.0.1:{port};
    access_log syslog:server=%s,tag=%%s combined;
    location / { return 200 "hi\\n"; }
}""" % udp.addr
    main_log = Collector(t)
    main = 'error_log syslog:server=%s,facility=daemon,tag=main notice;' % main_log.addr
    p = t.proxy(tmpl % 'before', main=main)
    p.get('/one')
    udp.wait(r'^<190>.* before: .*"GET /one ')
    p.write_conf(http=tmpl % 'after', main=main)
    p.signal(signal.SIGHUP)

    def reloaded():
        p.get('/two')
        return [m for m in udp.lines() if ' after: ' in m and 'GET /two' in m]
    wait_for(reloaded, what='a line with the new tag after the reload')
    p.signal(signal.SIGUSR1)
    wait_for(lambda: 'reopening logs' in p.error_log() or
             'reopen' in p.error_log(), what='the reopen noted')
    p.get('/three')
    udp.wait(r'^<190>.* after: .*"GET /three ')
    # the main error_log to syslog (next to the harness's file one):
    # daemon.notice = 3 * 8 + 5
    main_log.wait(r'^<29>%s %s main: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#\d+: '
                  r'signal 10 \(SIGUSR1\) received.*reopening logs$' % (STAMP, re.escape(HOST)))
    assert 'reopening logs' in p.error_log()


def test_syslog_stream(t):
    udp = Collector(t)
    echo = backend(t, 'echo', 'hello')
    p = stream_proxy(t, """
    log_format st '$remote_addr $protocol $status $upstream_addr $server_port';
    map $server_port $logit { {port2} 1; default 0; }
    server {
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{port2};
        proxy_pass 127.0.0.1:{echo};
        access_log syslog:server=%s,tag=stream st;
        access_log syslog:server=%s,tag=cond st if=$logit;
        access_log {prefix}/logs/stream.log st;
        error_log syslog:server=%s info;
    }""" % (udp.addr, udp.addr, udp.addr), echo=echo)
    port2 = p.subs['port2']
    for port in (p.port, port2):
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        assert read_line(s).strip() == b'echo'
        s.close()
    udp.wait(r'^<190>%s %s stream: 127\.0\.0\.1 TCP 200 127\.0\.0\.1:%d %d$'
             % (STAMP, re.escape(HOST), echo.port, p.port))
    udp.wait(r'^<190>%s %s cond: 127\.0\.0\.1 TCP 200 127\.0\.0\.1:%d %d$'
             % (STAMP, re.escape(HOST), echo.port, port2))
    # if=: only sessions on port2 (the readiness probes reach both ports)
    cond = [m for m in udp.lines() if ' cond: ' in m]
    assert cond and all(m.endswith(' %d' % port2) for m in cond), cond
    wait_for(lambda: p.read('logs', 'stream.log').strip(), what='the stream file log')


def _zcat(path):
    return subprocess.run(['zcat', path], capture_output=True, check=True,
                          timeout=10).stdout.decode()


def test_gzip_access_log(t):
    """gzip=5: each flush is one gzip member appended to the file, so
    zcat reads every line; USR1 and stopping flush the buffer."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/a.log.gz combined gzip=5 flush=5m;
    access_log {prefix}/logs/b.log.gz combined gzip buffer=1k;
    location / { return 200 "hi\\n"; }
}""")
    gz = p.path('logs', 'a.log.gz')
    for i in range(3):
        assert p.get('/g%d' % i).status == 200
    if t.target == 'nginx':
        # buffered: nothing written yet (64k default buffer, flush=5m);
        # lbd's threads also write their buffers out each second
        assert os.path.getsize(gz) == 0

    def flushed():
        p.signal(signal.SIGUSR1)
        return os.path.getsize(gz) and _zcat(gz).count('\n') == 3
    wait_for(flushed, what='3 lines written out on USR1')
    with open(gz, 'rb') as f:
        assert f.read(2) == b'\x1f\x8b', 'not gzip'
    assert 'GET /g0 ' not in open(gz, 'rb').read().decode('latin-1'), 'stored as text'
    # b: a 1k buffer fills and is written as it goes
    for i in range(3, 30):
        assert p.get('/g%d' % i, headers={'User-Agent': 'x' * 60}).status == 200
    p.stop()
    text = _zcat(gz)
    lines = text.strip('\n').split('\n')
    assert len(lines) == 30, text
    for i, ln in enumerate(lines):
        assert re.match(r'^127\.0\.0\.1 - - %s "GET /g%d HTTP/1\.1" 200 3 ' % (TIME_LOCAL, i),
                        ln), ln
    blines = _zcat(p.path('logs', 'b.log.gz')).strip('\n').split('\n')
    assert [re.search(r'GET (/g\d+)', ln).group(1) for ln in blines] == \
        ['/g%d' % i for i in range(30)]


def test_gzip_reload_new_level(t):
    """A reload may change the gzip level of a file the old configuration
    still writes: both generations' members land in it, zcat reads all."""
    tmpl = """
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/r.log.gz combined gzip=%d;
    location / { return 200 "%s\\n"; }
}"""
    p = t.proxy(tmpl % (1, 'v1'))
    assert p.get('/r1').body == b'v1\n'
    p.write_conf(http=tmpl % (9, 'v2'))
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.get('/r2').body == b'v2\n', what='the new configuration')
    assert p.get('/r3').status == 200
    p.stop()
    text = _zcat(p.path('logs', 'r.log.gz'))
    for path in ('/r1', '/r3'):
        assert ('"GET %s HTTP/1.1" 200 3 ' % path) in text, text


def test_gzip_stream_access_log(t):
    echo = backend(t, 'echo', 'hello')
    p = stream_proxy(t, """
    log_format st '$remote_addr $status';
    server {
        listen 127.0.0.1:{port};
        proxy_pass 127.0.0.1:{echo};
        access_log {prefix}/logs/s.log.gz st gzip;
    }""", echo=echo)
    for _ in range(2):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
        assert read_line(s).strip() == b'echo'
        s.close()
    # a line is logged when its session ends; USR1 writes the buffer out
    gz = p.path('logs', 's.log.gz')

    def both():
        p.signal(signal.SIGUSR1)
        # (the harness's readiness probe is a session too)
        return os.path.getsize(gz) and _zcat(gz).count('\n') >= 3
    wait_for(both, what='the lines in the gzip stream log')
    for ln in _zcat(gz).strip('\n').split('\n'):
        assert re.match(r'^127\.0\.0\.1 200$', ln), ln


def test_syslog_t_errors_match_nginx(t):
    """-t: the same message and FILE:LINE as nginx."""
    cases = [
        ('access_log syslog:server=127.0.0.1:5514 combined buffer=4k;',
         'logs to syslog cannot be buffered'),
        ('access_log syslog:server=127.0.0.1:5514,facility=foo;',
         'unknown syslog facility "foo"'),
        ('access_log syslog:server=127.0.0.1:5514,tag=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;',
         'syslog tag length exceeds 32'),
        ('access_log syslog:server=127.0.0.1:99999;',
         'invalid port in syslog server "127.0.0.1:99999"'),
        ('access_log logs/a.gz combined gzip=10;', 'invalid compression level "10"'),
        ('error_log syslog:server=127.0.0.1,nohostname=1;',
         'unknown syslog parameter "nohostname=1"'),
    ]
    from harness import assert_location_t_errors
    assert_location_t_errors(t, cases)
