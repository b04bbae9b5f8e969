# SPDX-License-Identifier: MIT
"""FastCGI (ngx_http_fastcgi_module) against Debian's php8.2-fpm: a php-fpm
master started per test with its own pools (a unix socket and 127.0.0.1:PORT
in the test's temp dir, run as root with -R, in the foreground), the same
config text for nginx 1.22 and lbd, Debian's /etc/nginx/fastcgi_params,
fastcgi.conf and snippets/fastcgi-php.conf included unchanged. Checked:
$_SERVER/$_GET/$_POST/$_COOKIE/$_FILES as PHP sees them, the WordPress
try_files front controller (SCRIPT_NAME, REQUEST_URI, PATH_INFO,
QUERY_STRING), CGI status/Location heads, 8 MiB answers byte-exact (chunked
to HTTP/1.1, close-delimited to 1.0), uploads (multipart, chunked from the
client, 24 MiB unbuffered), stderr in the error log, timeouts (504), a dead
php-fpm and a crashing script (502), failover in an upstream block,
keepalive with fastcgi_keep_conn (connections counted by a relay),
intercept_errors, hide/pass headers, fastcgi_param inheritance and
if_not_empty, variables in fastcgi_pass, HTTPS=on over TLS and HTTP/2,
fastcgi_index and fastcgi_split_path_info, backpressure from a stalled
client, the fastcgi_*/proxy_* twins kept apart, -t errors."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import Conn, free_port, request, wait_for

FPM = shutil.which('php-fpm8.2') or '/usr/sbin/php-fpm8.2'

SCRIPTS = {
    'dump.php': r'''<?php
$in = file_get_contents('php://input');
$files = [];
foreach ($_FILES as $k => $f) {
    $files[$k] = ['name' => $f['name'], 'size' => $f['size'], 'error' => $f['error'],
                  'sha' => $f['error'] ? '' : hash_file('sha256', $f['tmp_name'])];
}
$srv = [];
foreach ($_SERVER as $k => $v) { if (is_string($v)) $srv[$k] = $v; }
header('Content-Type: application/json');
header('X-Custom: yes');
echo json_encode(['server' => $srv, 'get' => $_GET, 'post' => $_POST,
    'cookie' => $_COOKIE, 'files' => $files,
    'input_len' => strlen($in), 'input_sha' => hash('sha256', $in)]);
''',
    'big.php': r'''<?php
$n = intval($_GET['n'] ?? 0);
if (isset($_GET['cl'])) header('Content-Length: ' . $n);
$blk = '';
for ($i = 0; $i < 4096; $i++) $blk .= chr(($i * 7 + 3) & 255);
$blk = str_repeat($blk, 16);
while ($n > 0) { $k = min($n, strlen($blk)); echo substr($blk, 0, $k); $n -= $k; }
''',
    'status.php': r'''<?php
if (isset($_GET['loc'])) { header('Location: ' . $_GET['loc']); echo "moved"; exit; }
if (isset($_GET['raw'])) { header('Status: ' . $_GET['raw']); echo "raw"; exit; }
http_response_code(intval($_GET['code'] ?? 200));
header('X-Accel-Expires: 10');
echo "code body";
''',
    'stderr.php': r'''<?php
error_log("hello-stderr " . ($_GET['x'] ?? ''));
echo "logged";
''',
    'sleep.php': r'''<?php
usleep(intval($_GET['ms'] ?? 0) * 1000);
echo "slept";
''',
    'crash.php': r'''<?php
if (isset($_GET['mid'])) { echo str_repeat("x", 10); flush(); }
posix_kill(getmypid(), 9);
''',
    'index.php': r'''<?php
header('Content-Type: application/json');
$k = ['SCRIPT_NAME', 'SCRIPT_FILENAME', 'REQUEST_URI', 'PATH_INFO', 'QUERY_STRING',
      'DOCUMENT_URI', 'PHP_SELF', 'REQUEST_METHOD'];
$o = [];
foreach ($k as $n) $o[$n] = $_SERVER[$n] ?? null;
$o['get'] = $_GET;
echo json_encode($o);
''',
    'empty.php': r'''<?php
''',
    'stream.php': r'''<?php
$n = intval($_GET['mib']) << 20;
$blk = str_repeat(substr(md5('x'), 0, 16), 16384); // 256 KiB
for ($sent = 0; $sent < $n; $sent += strlen($blk)) {
    echo $blk;
    flush();
    file_put_contents($_GET['progress'], strval($sent + strlen($blk)));
}
''',
}


def big_bytes(n):
    blk = bytes(((i * 7 + 3) & 255) for i in range(4096)) * 16
    out = blk * (n // len(blk)) + blk[:n % len(blk)]
    return out


class PhpFpm:
    """A php-fpm master for one test: pools on DIR/php.sock and on
    127.0.0.1:PORT; stopped (QUIT, then KILL) at the test's end."""

    def __init__(self, t, docroot, extra=''):
        self.dir = t.tmpdir('fpm-')
        self.sock = os.path.join(self.dir, 'php.sock')
        self.port = free_port()
        self.log = os.path.join(self.dir, 'fpm.log')
        pool = '''
user = root
group = root
pm = static
pm.max_children = 4
catch_workers_output = no
php_admin_value[post_max_size] = 64M
php_admin_value[upload_max_filesize] = 64M
php_admin_value[memory_limit] = 256M
php_admin_value[output_buffering] = 0
php_admin_flag[log_errors] = on
php_admin_value[error_log] =
request_terminate_timeout = 20s
''' + extra
        conf = '''[global]
pid = %s/fpm.pid
error_log = %s
daemonize = no
[unix]
listen = %s
listen.mode = 0666
%s
[tcp]
listen = 127.0.0.1:%d
%s
''' % (self.dir, self.log, self.sock, pool, self.port, pool)
        self.conf = t.write(os.path.join(self.dir, 'fpm.conf'), conf)
        self.proc = subprocess.Popen([FPM, '-R', '-F', '-y', self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        t.defer(self.stop)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('php-fpm exited: %s' % self.fpm_log())
            if not os.path.exists(self.sock):
                return False
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, 20, what='php-fpm up')

    def fpm_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGQUIT)
                self.proc.wait(3)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(3)


class Relay:
    """A TCP relay to PORT that counts the connections it accepted."""

    def __init__(self, t, port):
        self.accepted = 0
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.target = port
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()
        t.defer(self.close)

    def _pipe(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _loop(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                u = socket.create_connection(('127.0.0.1', self.target), 5)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    def close(self):
        self.closed = True
        self.ls.close()


def site(t, extra_files=None):
    """A document root with the PHP scripts (and EXTRA_FILES)."""
    d = t.tmpdir('www-')
    for name, body in SCRIPTS.items():
        t.write(os.path.join(d, name), body)
    for name, body in (extra_files or {}).items():
        t.write(os.path.join(d, name), body)
    return d


def debian_conf(p):
    """Debian's fastcgi files, unchanged, where a site's relative
    includes find them (the prefix's conf/, as /etc/nginx)."""
    conf = os.path.join(p.prefix, 'conf')
    for f in ('fastcgi_params', 'fastcgi.conf', 'snippets/fastcgi-php.conf'):
        os.makedirs(os.path.dirname(os.path.join(conf, f)), exist_ok=True)
        shutil.copy(os.path.join('/etc/nginx', f), os.path.join(conf, f))


def jbody(r):
    assert r.status == 200, (r.status, r.body[:300])
    return json.loads(r.body)


PHP_LOC = r"""
        location ~ \.php$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass %s;
            %s
        }"""


def php_proxy(t, root, target, loc_extra='', srv_extra='', http_extra=''):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    root %s;
    %s
    %s
}""" % (http_extra, root, srv_extra, PHP_LOC % (target, loc_extra)))


def test_fastcgi_params_tcp_and_unix(t):
    """fastcgi_params as Debian ships it: what PHP sees in $_SERVER, $_GET
    and $_COOKIE, over TCP and over a unix socket."""
    root = site(t)
    fpm = PhpFpm(t, root)
    for target in ('127.0.0.1:%d' % fpm.port, 'unix:' + fpm.sock):
        p = php_proxy(t, root, target)
        r = p.get('/dump.php?a=1&b=two%20x', host='example.com',
                  headers={'Cookie': 'c1=v1; c2=v2', 'X-Custom-Hdr': 'hv',
                           'User-Agent': 'ua/1'})
        j = jbody(r)
        s = j['server']
        assert j['get'] == {'a': '1', 'b': 'two x'}, j['get']
        assert j['cookie'] == {'c1': 'v1', 'c2': 'v2'}
        assert s['REQUEST_METHOD'] == 'GET'
        assert s['QUERY_STRING'] == 'a=1&b=two%20x'
        assert s['REQUEST_URI'] == '/dump.php?a=1&b=two%20x'
        assert s['SCRIPT_NAME'] == '/dump.php'
        assert s['DOCUMENT_URI'] == '/dump.php'
        assert s['SCRIPT_FILENAME'] == root + '/dump.php'
        assert s['DOCUMENT_ROOT'] == root
        assert s['SERVER_PROTOCOL'] == 'HTTP/1.1'
        assert s['GATEWAY_INTERFACE'] == 'CGI/1.1'
        assert s['REQUEST_SCHEME'] == 'http'
        assert s['REMOTE_ADDR'] == '127.0.0.1'
        assert s['SERVER_ADDR'] == '127.0.0.1'
        assert s['SERVER_PORT'] == str(p.port)
        assert s['SERVER_NAME'] == 'localhost'
        assert s['REDIRECT_STATUS'] == '200'
        assert s['HTTP_HOST'] == 'example.com'
        assert s['HTTP_X_CUSTOM_HDR'] == 'hv'
        assert s['HTTP_USER_AGENT'] == 'ua/1'
        assert s['HTTP_COOKIE'] == 'c1=v1; c2=v2'
        assert s['CONTENT_LENGTH'] == '' and s['CONTENT_TYPE'] == ''
        assert 'HTTPS' not in s  # if_not_empty on plain HTTP
        assert r.header('X-Custom') == 'yes'
        assert r.header('Content-Type') == 'application/json'
        assert r.header('X-Powered-By') is None or 'PHP' in r.header('X-Powered-By')
        p.stop()


def test_fastcgi_wordpress_front_controller(t):
    """The WordPress idiom: try_files to /index.php?$args, the php location
    with snippets/fastcgi-php.conf (split_path_info, try_files
    $fastcgi_script_name =404, PATH_INFO through set)."""
    root = site(t, {'style.css': 'body{}\n',
                    'sub/index.php': '<?php echo "sub:" . $_SERVER["SCRIPT_NAME"];'})
    fpm = PhpFpm(t, root)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    root %s;
    index index.php index.html;
    location / { try_files $uri $uri/ /index.php?$args; }
    location ~ [^/]\\.php(/|$) {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:%s;
    }
}""" % (root, fpm.sock), start=False)
    debian_conf(p)
    p.start()
    # a pretty URL: the front controller, with the client's URI
    j = jbody(p.get('/2024/05/hello-world/?p=1&q=x'))
    assert j['SCRIPT_NAME'] == '/index.php', j
    assert j['SCRIPT_FILENAME'] == root + '/index.php'
    assert j['REQUEST_URI'] == '/2024/05/hello-world/?p=1&q=x'
    assert j['QUERY_STRING'] == 'p=1&q=x'
    assert j['get'] == {'p': '1', 'q': 'x'}
    assert j['PATH_INFO'] == ''
    assert j['DOCUMENT_URI'] == '/index.php'
    # path info after the script
    j = jbody(p.get('/index.php/foo/bar?z=1'))
    assert j['SCRIPT_NAME'] == '/index.php', j
    assert j['PATH_INFO'] == '/foo/bar'
    assert j['REQUEST_URI'] == '/index.php/foo/bar?z=1'
    assert j['QUERY_STRING'] == 'z=1'
    # the root: index index.php
    j = jbody(p.get('/'))
    assert j['SCRIPT_NAME'] == '/index.php', j
    # a directory with its own index.php
    r = p.get('/sub/')
    assert (r.status, r.body) == (200, b'sub:/sub/index.php'), (r.status, r.body)
    # a missing script: try_files ... =404, php-fpm not asked
    assert p.get('/nope.php').status == 404
    # static files stay static
    r = p.get('/style.css')
    assert (r.status, r.body) == (200, b'body{}\n')
    # POST through the front controller
    r = p.req('POST', '/wp-login.php', body=b'log=a')
    assert r.status == 404
    j = jbody(p.req('POST', '/any/page?x=1', body=b'a=b',
                    headers={'Content-Type': 'application/x-www-form-urlencoded'}))
    assert j['REQUEST_METHOD'] == 'POST' and j['get'] == {'x': '1'}


def test_fastcgi_status_and_location(t):
    """CGI heads: Status: as the status line, Location without Status is a
    302, no Status is 200; Status and X-Accel-* are not passed on."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = php_proxy(t, root, '127.0.0.1:%d' % fpm.port)
    r = p.get('/status.php?code=404')
    assert (r.status, r.body) == (404, b'code body')
    assert r.header('Status') is None
    assert r.header('X-Accel-Expires') is None
    r = p.get('/status.php?raw=' + '418%20Teapot')
    assert (r.status, r.reason, r.body) == (418, 'Teapot', b'raw')
    r = p.get('/status.php?loc=/elsewhere')
    assert r.status == 302 and r.header('Location').endswith('/elsewhere')
    r = p.get('/status.php?loc=http://ex.com/x')
    assert r.status == 302 and r.header('Location') == 'http://ex.com/x'
    r = p.get('/status.php')
    assert (r.status, r.body) == (200, b'code body')
    r = p.get('/status.php?raw=abc')
    assert r.status == 502
    # a Status without a reason: the line goes as "HTTP/1.1 404", no
    # reason and no trailing space, as nginx copies the Status value
    from harness import raw_status_line
    line = raw_status_line(p.port, '/status.php?raw=404')
    assert line == b'HTTP/1.1 404', line
    # a script that prints nothing: a head of PHP's own, empty body
    r = p.get('/empty.php')
    assert (r.status, r.body) == (200, b'')
    # HEAD
    r = p.req('HEAD', '/status.php?code=201')
    assert r.status == 201 and r.body == b''


def test_fastcgi_big_answers(t):
    """8 MiB from a script, byte-exact: chunked to HTTP/1.1 without a
    Content-Length, the script's own Content-Length kept, close-delimited
    to HTTP/1.0; keep-alive with the client goes on."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = php_proxy(t, root, 'unix:' + fpm.sock, loc_extra='fastcgi_buffering off;')
    n = 8 << 20
    want = hashlib.sha256(big_bytes(n)).hexdigest()
    with Conn(p.port, timeout=30) as c:
        r = c.request('GET', '/big.php?n=%d' % n)
        assert r.status == 200
        assert (r.header('Transfer-Encoding') or '').lower() == 'chunked'
        assert hashlib.sha256(r.body).hexdigest() == want
        r = c.request('GET', '/big.php?n=%d&cl=1' % n)
        assert r.header('Content-Length') == str(n)
        assert hashlib.sha256(r.body).hexdigest() == want
        r = c.request('GET', '/big.php?n=1000')
        assert r.body == big_bytes(1000)
    r = request(p.port, 'GET', '/big.php?n=%d' % n, version='HTTP/1.0', timeout=30)
    assert r.header('Transfer-Encoding') is None
    assert hashlib.sha256(r.body).hexdigest() == want
    # buffered (the default)
    p2 = php_proxy(t, root, 'unix:' + fpm.sock)
    r = request(p2.port, 'GET', '/big.php?n=%d' % n, timeout=30)
    assert hashlib.sha256(r.body).hexdigest() == want


def multipart(fields, files, boundary='----lbdboundary7'):
    out = b''
    for k, v in fields.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                % (boundary, k, v)).encode()
    for k, (fn, data) in files.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                'Content-Type: application/octet-stream\r\n\r\n' % (boundary, k, fn)).encode()
        out += data + b'\r\n'
    out += ('--%s--\r\n' % boundary).encode()
    return out, 'multipart/form-data; boundary=' + boundary


def test_fastcgi_request_bodies(t):
    """POST form, multipart upload (3 MiB, spooled to a temp file), a
    chunked body from the client (read whole: CONTENT_LENGTH is its
    length), and 24 MiB with fastcgi_request_buffering off, byte-exact."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = php_proxy(t, root, '127.0.0.1:%d' % fpm.port,
                  srv_extra='client_max_body_size 64m;')
    j = jbody(p.req('POST', '/dump.php?g=1', body=b'a=1&b=hello+world',
                    headers={'Content-Type': 'application/x-www-form-urlencoded'}))
    assert j['post'] == {'a': '1', 'b': 'hello world'}
    assert j['get'] == {'g': '1'}
    assert j['server']['CONTENT_LENGTH'] == '17'
    assert j['server']['CONTENT_TYPE'] == 'application/x-www-form-urlencoded'
    data = os.urandom(3 << 20)
    body, ctype = multipart({'title': 'T'}, {'f': ('a.bin', data)})
    j = jbody(p.req('POST', '/dump.php', body=body, headers={'Content-Type': ctype},
                    timeout=30))
    assert j['post'] == {'title': 'T'}
    assert j['files']['f']['size'] == len(data)
    assert j['files']['f']['sha'] == hashlib.sha256(data).hexdigest()
    # chunked from the client
    raw = os.urandom(100000)
    chunks = b''.join(b'%x\r\n%s\r\n' % (len(raw[i:i + 7000]), raw[i:i + 7000])
                      for i in range(0, len(raw), 7000)) + b'0\r\n\r\n'
    j = jbody(p.req('POST', '/dump.php', body=chunks,
                    headers={'Transfer-Encoding': 'chunked',
                             'Content-Type': 'application/octet-stream'}))
    assert j['server']['CONTENT_LENGTH'] == str(len(raw))
    assert j['input_sha'] == hashlib.sha256(raw).hexdigest()
    # unbuffered: streamed in STDIN records as it comes
    p2 = php_proxy(t, root, '127.0.0.1:%d' % fpm.port,
                   srv_extra='client_max_body_size 64m;',
                   loc_extra='fastcgi_request_buffering off;')
    raw = os.urandom(24 << 20)
    j = jbody(p2.req('POST', '/dump.php', body=raw,
                     headers={'Content-Type': 'application/octet-stream'}, timeout=60))
    assert j['input_len'] == len(raw)
    assert j['input_sha'] == hashlib.sha256(raw).hexdigest()
    # fastcgi_pass_request_body off: PHP gets none
    p3 = php_proxy(t, root, '127.0.0.1:%d' % fpm.port,
                   loc_extra='fastcgi_pass_request_body off;')
    j = jbody(p3.req('POST', '/dump.php', body=b'xyz',
                     headers={'Content-Type': 'text/plain'}))
    assert j['input_len'] == 0


def test_fastcgi_stderr_logged(t):
    """FCGI_STDERR records land in the error log as nginx writes them."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = php_proxy(t, root, '127.0.0.1:%d' % fpm.port)
    r = p.get('/stderr.php?x=abc')
    assert (r.status, r.body) == (200, b'logged')
    want = 'FastCGI sent in stderr: "PHP message: hello-stderr abc" while reading ' \
           'response header from upstream'
    wait_for(lambda: want in p.error_log(), 5, what='stderr line')
    line = [ln for ln in p.error_log().split('\n') if want in ln][0]
    assert 'upstream: "fastcgi://127.0.0.1:%d"' % fpm.port in line, line
    assert 'request: "GET /stderr.php?x=abc HTTP/1.1"' in line


def test_fastcgi_catch_stderr(t):
    """fastcgi_catch_stderr STRING: a STDERR record holding STRING before
    the head makes the answer a bad one (502, the stderr line logged);
    several, inherited from the server level; one that does not match
    leaves the answer alone."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = php_proxy(t, root, '127.0.0.1:%d' % fpm.port,
                  srv_extra='fastcgi_catch_stderr "no such text"; '
                            'fastcgi_catch_stderr "hello-stderr caught";')
    r = p.get('/stderr.php?x=caught')
    assert r.status == 502, r
    want = 'FastCGI sent in stderr: "PHP message: hello-stderr caught" while reading ' \
           'response header from upstream'
    wait_for(lambda: want in p.error_log(), 5, what='stderr line')
    r = p.get('/stderr.php?x=other')
    assert (r.status, r.body) == (200, b'logged'), r


def test_fastcgi_failures(t):
    """A read timeout is a 504, a dead php-fpm and a crashing script 502;
    an upstream block fails over from a dead server to a live one."""
    root = site(t)
    fpm = PhpFpm(t, root)
    dead = t.dead_port()
    p = t.proxy("""
upstream php_pool { server 127.0.0.1:%d; server 127.0.0.1:%d; }
server {
    listen 127.0.0.1:{port};
    root %s;
    location ~ \\.php$ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_read_timeout 1s;
        fastcgi_pass 127.0.0.1:%d;
    }
    location ^~ /dead/ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_pass 127.0.0.1:%d;
    }
    location /pool/ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_param SCRIPT_FILENAME %s/sleep.php;
        fastcgi_pass php_pool;
    }
}""" % (dead, fpm.port, root, fpm.port, dead, root))
    assert p.get('/sleep.php?ms=3000', timeout=10).status == 504
    assert p.get('/sleep.php?ms=10').status == 200
    assert p.get('/dead/x.php').status == 502
    r = p.get('/crash.php')
    assert r.status == 502, (r.status, r.body)
    # dead mid-body: the head is out, the client is cut (framing incomplete)
    with Conn(p.port) as c:
        c.send(b'GET /crash.php?mid=1 HTTP/1.1\r\nHost: x\r\n\r\n')
        try:
            c.read_response()
            assert False, 'a complete response from a crashed script'
        except ConnectionError:
            pass
    for _ in range(4):
        r = p.get('/pool/a')
        assert (r.status, r.body) == (200, b'slept')
    assert 'connect() failed (111: Connection refused) while connecting to upstream' \
        in p.error_log()


def test_fastcgi_keepalive(t):
    """fastcgi_keep_conn on with upstream keepalive: one php-fpm connection
    for several requests; off: one each."""
    root = site(t)
    fpm = PhpFpm(t, root)
    on, off = Relay(t, fpm.port), Relay(t, fpm.port)
    p = t.proxy("""
upstream keep { server 127.0.0.1:%d; keepalive 4; }
upstream nokeep { server 127.0.0.1:%d; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    root %s;
    location /on/ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_param SCRIPT_FILENAME %s/big.php;
        fastcgi_keep_conn on;
        fastcgi_pass keep;
    }
    location /off/ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_param SCRIPT_FILENAME %s/big.php;
        fastcgi_pass nokeep;
    }
}""" % (on.port, off.port, root, root, root))
    for i in range(5):
        for pre in ('/on/', '/off/'):
            r = p.get(pre + 'x?n=%d' % (1000 * i + 5))
            assert r.status == 200 and r.body == big_bytes(1000 * i + 5)
    assert on.accepted == 1, on.accepted
    assert off.accepted == 5, off.accepted


def test_fastcgi_intercept_errors_and_headers(t):
    """fastcgi_intercept_errors with error_page; fastcgi_hide_header,
    fastcgi_pass_header; fastcgi_param inheritance (a level with its own
    params drops the outer ones) and if_not_empty; request headers off."""
    root = site(t, {'err404.html': 'custom 404\n'})
    fpm = PhpFpm(t, root)
    tgt = '127.0.0.1:%d' % fpm.port
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    fastcgi_param OUTER outer;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    error_page 404 /err404.html;
    location = /err404.html { }
    location /i/ {
        fastcgi_param SCRIPT_FILENAME %s/status.php;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_intercept_errors on;
        fastcgi_pass %s;
    }
    location /h/ {
        fastcgi_param SCRIPT_FILENAME %s/status.php;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_hide_header X-Powered-By;
        fastcgi_pass_header X-Accel-Expires;
        fastcgi_pass %s;
    }
    location /outer.php { fastcgi_pass %s; }
    location /inner.php {
        fastcgi_param SCRIPT_FILENAME %s/dump.php;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param EMPTY "" if_not_empty;
        fastcgi_param EMPTY2 "";
        fastcgi_param HTTP_X_SHADOW fromparam;
        fastcgi_pass %s;
    }
    location /nohdr.php {
        fastcgi_param SCRIPT_FILENAME %s/dump.php;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_pass_request_headers off;
        fastcgi_pass %s;
    }
}""" % (root, root, tgt, root, tgt, tgt, root, tgt, root, tgt))
    r = p.get('/i/?code=404')
    assert (r.status, r.body) == (404, b'custom 404\n')
    r = p.get('/i/?code=403')
    assert (r.status, r.body) == (403, b'code body')
    r = p.get('/h/?code=200')
    assert r.header('X-Powered-By') is None
    assert r.header('X-Accel-Expires') == '10'
    os.rename(os.path.join(root, 'dump.php'), os.path.join(root, 'outer.php'))
    r = p.get('/outer.php')
    assert r.status == 200, (r.status, r.body, r.headers)
    s = jbody(r)['server']
    assert s['OUTER'] == 'outer'
    os.rename(os.path.join(root, 'outer.php'), os.path.join(root, 'dump.php'))
    s = jbody(p.get('/inner.php', headers={'X-Shadow': 'fromclient'}))['server']
    assert 'OUTER' not in s
    assert 'EMPTY' not in s and s['EMPTY2'] == ''
    assert s['HTTP_X_SHADOW'] == 'fromparam'
    assert s['HTTP_HOST'] == 'localhost'
    s = jbody(p.get('/nohdr.php', headers={'X-A': 'b'}))['server']
    assert 'HTTP_X_A' not in s and 'HTTP_HOST' not in s


def test_fastcgi_pass_variables(t):
    """fastcgi_pass with variables: a map chooses the socket or the port."""
    root = site(t)
    fpm = PhpFpm(t, root)
    p = t.proxy("""
map $arg_via $php_target { unix unix:%s; default 127.0.0.1:%d; }
server {
    listen 127.0.0.1:{port};
    root %s;
    location ~ \\.php$ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_pass $php_target;
    }
}""" % (fpm.sock, fpm.port, root))
    for via in ('unix', 'tcp'):
        j = jbody(p.get('/dump.php?via=' + via))
        assert j['get'] == {'via': via}


def test_fastcgi_https_and_h2(t):
    """HTTPS=on from fastcgi_params over a TLS listener, and an HTTP/2
    client (SERVER_PROTOCOL HTTP/2.0, a POST body)."""
    from test_tls import make_cert
    root = site(t)
    fpm = PhpFpm(t, root)
    d = t.tmpdir('crt-')
    crt, key = make_cert(t, d, 'a', 'localhost')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    server_name localhost;
    ssl_certificate %s;
    ssl_certificate_key %s;
    root %s;
    location ~ \\.php$ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_pass unix:%s;
    }
}""" % (crt, key, root, fpm.sock))
    url = 'https://localhost:%d/dump.php?h=2' % p.port
    base = ['curl', '-sS', '-k', '--max-time', '30', '--resolve',
            'localhost:%d:127.0.0.1' % p.port]
    out = subprocess.run(base + ['--http2', url], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)['server']
    assert s['HTTPS'] == 'on' and s['REQUEST_SCHEME'] == 'https'
    assert s['SERVER_PROTOCOL'] == 'HTTP/2.0'
    out = subprocess.run(base + ['--http2', '--data-binary', 'k=v&w=2', url],
                         capture_output=True, timeout=60)
    j = json.loads(out.stdout)
    assert j['post'] == {'k': 'v', 'w': '2'}, j
    out = subprocess.run(base + ['--http1.1', url], capture_output=True, timeout=60)
    s = json.loads(out.stdout)['server']
    assert s['HTTPS'] == 'on' and s['SERVER_PROTOCOL'] == 'HTTP/1.1'


def test_fastcgi_config_errors(t):
    """-t errors of the fastcgi directives, with FILE:LINE."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location ~ \\.php$ {
        fastcgi_split_path_info ^(.+\\.php)$;
        fastcgi_pass 127.0.0.1:9;
    }
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0
    assert 'must have 2 captures' in r.stderr, r.stderr
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { fastcgi_param A b c; fastcgi_pass 127.0.0.1:9; }
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0 and 'invalid parameter "c"' in r.stderr, r.stderr


def test_fastcgi_proxy_settings_apart(t):
    """The fastcgi_* and proxy_* twins are two settings, inherited each on
    its own: at one level together (no "duplicate"), each applies to its
    own kind of location; proxy_hide_header and proxy_cache do not touch
    a fastcgi_pass location."""
    root = site(t)
    fpm = PhpFpm(t, root)
    b = t.backend('b1')
    p = t.proxy("""
proxy_read_timeout 1s;
fastcgi_read_timeout 20s;
proxy_hide_header X-Custom;
fastcgi_hide_header X-Powered-By;
server {
    listen 127.0.0.1:{port};
    root %s;
    location ~ \\.php$ {
        include /etc/nginx/fastcgi.conf;
        fastcgi_pass 127.0.0.1:%d;
    }
    location /p/ { proxy_pass http://127.0.0.1:{b1}/; }
}""" % (root, fpm.port), b1=b)
    r = p.get('/sleep.php?ms=1500', timeout=10)
    assert (r.status, r.body) == (200, b'slept')
    r = p.get('/dump.php')
    assert r.header('X-Custom') == 'yes'
    assert r.header('X-Powered-By') is None
    assert p.get('/p/slow/1500', timeout=10).status == 504
    r = p.get('/p/headers?X-Powered-By=x&X-Custom=y')
    assert r.header('X-Powered-By') == 'x' and r.header('X-Custom') is None


def test_fastcgi_backpressure(t):
    """A client that stops reading: with fastcgi_buffering off the script
    is held (its output waits in socket buffers), with buffering on it
    finishes into the temp file; both answers byte-exact once read."""
    root = site(t)
    fpm = PhpFpm(t, root)
    prog_dir = t.tmpdir('prog-')
    total = 64 << 20
    blk = hashlib.md5(b'x').hexdigest()[:16].encode() * 16384

    def progress(name):
        try:
            with open(os.path.join(prog_dir, name)) as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0

    for mode, name in (('off', 'a'), ('on', 'b')):
        p = php_proxy(t, root, 'unix:' + fpm.sock,
                      loc_extra='fastcgi_buffering %s;' % mode)
        c = Conn(p.port, timeout=60)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(('GET /stream.php?mib=64&progress=%s/%s HTTP/1.1\r\nHost: x\r\n\r\n'
                % (prog_dir, name)).encode())
        # (256 KiB: lbd's client socket holds 64 KiB unsent, not MiBs)
        wait_for(lambda: progress(name) >= 256 << 10, 20, what='script started')
        if mode == 'off':
            # held: the script cannot get far past the socket buffers
            last = -1
            for _ in range(40):
                time.sleep(0.05)
                cur = progress(name)
                if cur == last:
                    break
                last = cur
            time.sleep(1.0)
            assert progress(name) < total // 2, progress(name)
        else:
            wait_for(lambda: progress(name) >= total, 30, what='script done while buffered')
        r = c.read_response(timeout=60)
        assert len(r.body) == total
        assert r.body == blk * (total // len(blk))
        c.close()
        p.stop()


def test_fastcgi_index_and_split(t):
    """fastcgi_index after a trailing '/', fastcgi_split_path_info giving
    $fastcgi_script_name and $fastcgi_path_info (no try_files: the path
    info kept), a URI the regex does not match (all of it the script)."""
    show = '<?php echo $_SERVER["SCRIPT_NAME"] . "|" . ($_SERVER["PATH_INFO"] ?? "-") ' \
           '. "|" . $_SERVER["SCRIPT_FILENAME"];'
    root = site(t, {'app/index.php': show, 'app/x.php': show})
    fpm = PhpFpm(t, root)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location /app/ {
        fastcgi_index index.php;
        fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
        include /etc/nginx/fastcgi.conf;
        fastcgi_param PATH_INFO $fastcgi_path_info if_not_empty;
        fastcgi_pass 127.0.0.1:%d;
    }
}""" % (root, fpm.port))
    r = p.get('/app/')
    assert (r.status, r.body) == (200, ('/app/index.php|-|%s/app/index.php' % root).encode())
    r = p.get('/app/x.php/a/b?q=1')
    assert (r.status, r.body) == (200, ('/app/x.php|/a/b|%s/app/x.php' % root).encode())
    r = p.get('/app/x.php')
    assert (r.status, r.body) == (200, ('/app/x.php|-|%s/app/x.php' % root).encode())
