# SPDX-License-Identifier: MIT
"""Kernel TLS for files (issue 6 item 4): lbd sets SSL_OP_ENABLE_KTLS when
the kernel has the "tls" TCP ULP and then sends static files with
SSL_sendfile; elsewhere the userspace path (pread + SSL_write) is used.
Either way the file arrives whole, and the debug log says, per
connection, which path served it. On a kernel without the ULP (as on the
machine these tests were written on) only the fallback can be seen."""

import os
import ssl
import socket

from harness import recv_until_close, wait_for
from test_tls import _certs, client_ctx


def _kernel_has_tls_ulp():
    try:
        with open('/proc/sys/net/ipv4/tcp_available_ulp') as f:
            return 'tls' in f.read().split()
    except OSError:
        return False


def test_ktls_file_path_reported(t):
    """A 300 KiB static file over HTTPS (HTTP/1.1) arrives byte for byte,
    and lbd's debug log names the path that sent it: kernel TLS where the
    kernel has the ULP, the userspace path otherwise."""
    if t.is_nginx:
        t.skip('lbd reports its own file path; nginx logs no such line')
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    conf = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log debug;
events {
    worker_connections 1024;
}
http {
    access_log {prefix}/logs/access.log;
    server {
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate %s;
        ssl_certificate_key %s;
        root {prefix}/html;
    }
}
""" % (c['a'][0], c['a'][1])
    p = t.proxy(conf=conf, start=False)
    body = bytes((i * 7) & 0xff for i in range(300 * 1024))
    with open(os.path.join(p.prefix, 'html', 'f.bin'), 'wb') as f:
        f.write(body)
    p.start()
    s = client_ctx().wrap_socket(
        socket.create_connection(('127.0.0.1', p.port), timeout=10),
        server_hostname='localhost')
    t.defer(s.close)
    s.sendall(b'GET /f.bin HTTP/1.1\r\nHost: localhost\r\n'
              b'Connection: close\r\n\r\n')
    data = recv_until_close(s, reset_ok=True, end_on=(ssl.SSLError,))
    head, _, got = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), head[:200]
    assert got == body, (len(got), len(body))
    want = ('kernel TLS (SSL_sendfile)' if _kernel_has_tls_ulp()
            else 'userspace TLS (pread + SSL_write')
    wait_for(lambda: want in p.error_log(), timeout=5,
             what='the debug line %r' % want)
