# SPDX-License-Identifier: MIT
"""nginx's command line on both binaries: -v, -V, -t -q, -T, -g,
-s reopen and -e."""

import os

from harness import free_port, request, wait_for

CONF = """
server {
    listen 127.0.0.1:{port};
    location / { return 200 "cli\\n"; }
}"""


def test_version_flags(t):
    p = t.proxy(CONF, start=False)
    p.write_conf()
    r = p.run('-v')
    assert r.returncode == 0, r
    assert ' version: ' in r.stderr and '/' in r.stderr, r.stderr
    r = p.run('-V')
    assert r.returncode == 0, r
    assert 'configure arguments' in r.stderr, r.stderr
    if t.target == 'lbd':
        for word in ('kernel features', 'XDP:', 'sockmap:', 'kTLS:'):
            assert word in r.stderr, r.stderr


def test_test_quiet_and_dump(t):
    p = t.proxy(CONF, start=False)
    text = p.write_conf()
    r = p.run('-t', '-q')
    assert r.returncode == 0, r
    assert 'successful' not in r.stderr, r.stderr
    r = p.run('-T')
    assert r.returncode == 0, r
    assert '# configuration file %s:' % p.conf_path in r.stdout, r.stdout[:300]
    assert text.strip().splitlines()[0] in r.stdout


def test_global_directives_flag(t):
    p = t.proxy(CONF, start=False)
    p.write_conf()
    # -g adds main-context directives; a duplicate of one in the file is an error
    r = p.run('-t', '-g', 'worker_rlimit_nofile 4096;')
    assert r.returncode == 0, (r.returncode, r.stderr)
    r = p.run('-t', '-g', 'no_such_directive on;')
    assert r.returncode != 0
    assert 'unknown directive "no_such_directive"' in r.stderr, r.stderr


def test_signal_reopen(t):
    p = t.proxy(CONF)
    assert p.get('/').status == 200
    log = p.path('logs', 'access.log')
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, timeout=20, what='access log')
    os.rename(log, log + '.1')
    r = p.run('-s', 'reopen')
    assert r.returncode == 0, r.stderr
    wait_for(lambda: os.path.exists(log), timeout=20, what='a new access.log after -s reopen')
    assert p.get('/after').status == 200
    wait_for(lambda: '/after' in p.read('logs', 'access.log'), timeout=20, what='line in the new log')


def test_port_taken_by_another_instance(t):
    """A second server started on a port the first one holds does not
    start: "bind() to ADDR failed (98: Address already in use)", as nginx
    (lbd's SO_REUSEPORT sockets let a second lbd join the first one's
    port before, the two splitting the connections between them)."""
    p1 = t.proxy(CONF)
    p2 = t.proxy(CONF.replace('{port}', str(p1.port)), start=False)
    p2.write_conf()
    r = p2.run(timeout=30)
    assert r.returncode != 0, r
    assert 'bind() to 127.0.0.1:%d failed (98: Address already in use)' % p1.port \
        in r.stderr, r.stderr
    for _ in range(20):
        assert p1.get('/').body == b'cli\n'


def test_error_log_flag(t):
    """-e NAME, as nginx 1.22: a file relative to the prefix; a
    configuration error goes to it as well as to stderr (which names the
    file in full); `-e syslog:server=...` is a file name too (nginx's -e
    takes no syslog target: it makes a file of that name in the prefix); at
    run time, with no error_log in the file, the server's errors go to it,
    from level error as nginx's default log: no notice lines (lbd before:
    its start and signal notices too)."""
    p = t.proxy(CONF.replace('location /', 'bogus_directive on;\n    location /'), start=False)
    p.write_conf()
    r = p.run('-t', '-e', 'logs/e.log')
    assert r.returncode != 0, r
    assert 'unknown directive "bogus_directive"' in r.stderr, r.stderr
    assert 'configuration file %s test failed' % p.conf_path in r.stderr, r.stderr
    log = p.read('logs', 'e.log')
    assert '[emerg]' in log and 'unknown directive "bogus_directive" in %s:' % p.conf_path \
        in log, log
    # syslog:... names a file, made in the prefix
    p = t.proxy(CONF + '\nserver { listen 127.0.0.1:{port2}; location /f/ { root {prefix}/html; } }',
                start=False)
    name = 'syslog:server=127.0.0.1:%d' % free_port()
    p.write_conf()
    r = p.run('-t', '-e', name)
    assert r.returncode == 0, r
    assert os.path.isfile(p.path(name)), os.listdir(p.prefix)
    # at run time: the file's errors, without an error_log in the configuration
    p.template = p.template.replace('error_log {prefix}/logs/error.log info;\n', '')
    base = p.args
    p.args = lambda *extra: base('-e', 'logs/run.log', *extra)
    p.start()
    assert request(p.subs['port2'], 'GET', '/f/missing').status == 404
    wait_for(lambda: '/f/missing" failed (2: No such file or directory)' in
             p.read('logs', 'run.log'), 10, what='the error line in the -e file')
    # at nginx's default level, error: no notice lines (start, signals)
    p.stop()
    log = p.read('logs', 'run.log')
    assert '[notice]' not in log, log
