# SPDX-License-Identifier: MIT
"""Logs, signals and the command line (guide Step 12): access_log with
the proxy_log format, error_log, pid file, SIGHUP reload under load, a bad
reload, SIGUSR1 reopen, SIGQUIT graceful stop, -t and -s reload."""

import os
import re
import signal
import threading
import time

from harness import wait_for, request

LOG_FORMAT = """\
log_format proxy_log '$remote_addr - $remote_user [$time_local] '
                     '"$request" $status $body_bytes_sent '
                     '"$http_referer" "$http_user_agent" '
                     'upstream=$upstream_addr '
                     'upstream_response_time=$upstream_response_time '
                     'request_time=$request_time '
                     'cache=$upstream_cache_status';"""


def _one_backend_conf(extra_location=''):
    return """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
%s
}""" % extra_location


def test_access_log_proxy_format(t):
    b1 = t.backend('b1')
    p = t.proxy(LOG_FORMAT + """
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/site-access.log proxy_log;
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)
    r = p.get('/logged?x=1', headers={'User-Agent': 'integ/1.0',
                                      'Referer': 'http://ref.test/'})
    assert r.status == 200
    line = wait_for(lambda: p.read('logs', 'site-access.log').strip(),
                    what='an access log line')
    want = (r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
            r'"GET /logged\?x=1 HTTP/1\.1" 200 %d '
            r'"http://ref\.test/" "integ/1\.0" '
            r'upstream=127\.0\.0\.1:%d '
            r'upstream_response_time=\d+\.\d{3} '
            r'request_time=\d+\.\d{3} '
            r'cache=-$') % (len(r.body), b1.port)
    assert re.match(want, line), 'log line %r\n does not match %r' % (
        line, want)
    # A request the proxy answers itself has no upstream.
    p.get('/', host=None)  # 400: no Host
    wait_for(lambda: len(p.read('logs', 'site-access.log').strip()
                         .split('\n')) == 2, what='second log line')
    line2 = p.read('logs', 'site-access.log').strip().split('\n')[1]
    assert '" 400 ' in line2 and 'upstream=- ' in line2, line2


def test_error_log_and_pid_file(t):
    dead = t.dead_port()
    p = t.proxy(_one_backend_conf().replace('{b1}', '{dead}'), dead=dead)
    assert p.read('logs', 'nginx.pid').strip() == str(p.pid), \
        'pid file %r, pid %d' % (p.read('logs', 'nginx.pid'), p.pid)
    assert p.get('/x').status == 502
    addr = '127.0.0.1:%d' % dead
    line = wait_for(lambda: [ln for ln in p.error_log().split('\n')
                             if '[error]' in ln and addr in ln],
                    what='an [error] line naming the upstream')[0]
    assert 'refused' in line, line
    assert re.match(r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] ', line), \
        line


def _load_loop(port, stop, stats, max_requests=300, max_secs=8.0):
    """Sequential requests on new connections until stopped or bounded;
    records every failure."""
    deadline = time.monotonic() + max_secs
    while not stop.is_set() and stats['n'] < max_requests and \
            time.monotonic() < deadline:
        try:
            r = request(port, 'GET', '/loop')
            ok = r.status == 200 and r.backend in ('b1', 'b2')
        except Exception as e:  # noqa: BLE001 - any error counts
            ok, r = False, e
        stats['n'] += 1
        if not ok:
            # all of it: where an answer without X-Backend came from
            stats['fail'].append(repr(r) if isinstance(r, Exception) else
                                 '%r headers=%r body=%r' % (r, r.headers, r.body[:200]))
        time.sleep(0.01)  # pacing only: ~100 requests/s


def test_reload_sighup_under_load(t):
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(_one_backend_conf(), b1=b1, b2=b2)
    assert p.get('/new/x').backend == 'b1'
    # 300 paced requests (about 3 s); the reload happens after 100.
    stop, stats = threading.Event(), {'n': 0, 'fail': []}
    th = threading.Thread(target=_load_loop, args=(p.port, stop, stats))
    th.start()
    try:
        wait_for(lambda: stats['n'] >= 100, what='100 requests before reload')
        p.write_conf(http=_one_backend_conf("""\
    location /new/ {
        proxy_pass http://127.0.0.1:{b2};
    }"""))
        p.signal(signal.SIGHUP)
        wait_for(lambda: p.get('/new/x').backend == 'b2', timeout=10,
                 what='the reloaded config to answer')
        reloaded_at = stats['n']
        th.join(45)  # ~3 s on a quiet machine; a loaded one takes longer
    finally:
        stop.set()
        th.join(15)
    # lbd: none may fail. nginx (the reference) answered one of the 300
    # without its backend once in a loaded CI run (a 2-byte 200): one is
    # let through for it, so that the suite does not fail on nginx's flake
    allowed = 1 if t.is_nginx else 0
    assert len(stats['fail']) <= allowed, '%d of %d requests failed: %s' % (
        len(stats['fail']), stats['n'], stats['fail'][:3])
    assert reloaded_at < stats['n'] == 300, (reloaded_at, stats['n'])
    assert p.alive()
    assert p.read('logs', 'nginx.pid').strip() == str(p.pid)


def test_reload_invalid_config_keeps_old(t):
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(_one_backend_conf(), b1=b1, b2=b2)
    good = p.text
    p.write_conf(http=_one_backend_conf("""\
    location /new/ {
        proxy_pass http://127.0.0.1:{b2};
        foo bar;
    }"""))
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'unknown directive "foo"' in p.error_log(),
             what='the reload error in error.log')
    assert p.alive(), 'proxy died on a bad reload'
    for path in ('/', '/new/x'):
        r = p.get(path)
        assert (r.status, r.backend) == (200, 'b1'), (path, r)
    assert good  # the old config is still what serves
    # And it can still reload a good one afterwards.
    p.write_conf(http=_one_backend_conf("""\
    location /new/ {
        proxy_pass http://127.0.0.1:{b2};
    }"""))
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.get('/new/x').backend == 'b2', timeout=10,
             what='a good reload after a bad one')


def test_reopen_logs_sigusr1(t):
    b1 = t.backend('b1')
    p = t.proxy(_one_backend_conf(), b1=b1)
    log, old = p.path('logs', 'access.log'), p.path('logs', 'access.log.1')
    p.get('/before')
    wait_for(lambda: '/before' in p.access_log(), what='/before logged')
    os.rename(log, old)
    p.get('/renamed')
    # Until the reopen, lines go to the renamed file (the open fd).
    wait_for(lambda: '/renamed' in p.read('logs', 'access.log.1'),
             what='/renamed logged to the renamed file')
    p.signal(signal.SIGUSR1)
    # Requests keep going to the renamed file until the reopen is done.
    n = [0]

    def reopened():
        n[0] += 1
        p.get('/after-%d' % n[0])
        return '/after-' in p.read('logs', 'access.log')
    wait_for(reopened, timeout=10, interval=0.02, what='a new access.log')
    with open(old) as f:
        rotated = f.read()
    assert '/before' in rotated and '/renamed' in rotated, rotated
    assert '/before' not in p.access_log()


def test_graceful_quit_finishes_inflight(t):
    b1 = t.backend('b1')
    p = t.proxy(_one_backend_conf(), b1=b1)
    out = []
    th = threading.Thread(target=lambda: out.append(
        p.get('/hold/q', timeout=20)))
    th.start()
    wait_for(lambda: b1.active == 1, what='the request to reach b1')
    p.signal(signal.SIGQUIT)

    def refused():
        try:
            request(p.port, 'GET', '/', timeout=1)
            return False
        except OSError:
            return True
    wait_for(refused, timeout=10, what='the listener to close')
    assert p.alive(), 'exited with a request in flight'
    b1.release('q')
    th.join(10)
    assert out and out[0].status == 200 and out[0].backend == 'b1', out
    assert out[0].json()['path'] == '/hold/q'
    assert p.wait_exit(10) == 0


def test_config_test_flag(t):
    b1 = t.backend('b1')
    p = t.proxy(_one_backend_conf(), start=False, b1=b1)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, 'good config rejected: %s' % r.stderr
    p.write_conf(http=_one_backend_conf('    foo bar;'))
    lineno = [ln.strip() for ln in p.text.split('\n')].index('foo bar;') + 1
    r = p.run('-t')
    assert r.returncode != 0, 'bad config accepted'
    want = 'unknown directive "foo" in %s:%d' % (p.conf_path, lineno)
    assert want in r.stderr, 'stderr %r lacks %r' % (r.stderr, want)


def test_signal_flag_reload(t):
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(_one_backend_conf(), b1=b1, b2=b2)
    assert p.get('/new/x').backend == 'b1'
    p.write_conf(http=_one_backend_conf("""\
    location /new/ {
        proxy_pass http://127.0.0.1:{b2};
    }"""))
    r = p.run('-s', 'reload')
    assert r.returncode == 0, r.stderr
    wait_for(lambda: p.get('/new/x').backend == 'b2', timeout=10,
             what='-s reload to take effect')
    assert p.get('/').backend == 'b1'


def test_upstream_variables_per_try(t):
    """$upstream_* list one entry per try as nginx's (", "-separated): a
    refused connect has 502 and "-" for the times it lacks, a try passed
    over by proxy_next_upstream http_404 has its status and 0 body bytes, a
    retry finding no live server names the upstream block, a single
    server is tried once; http_404 is never a failure (the server stays
    up for the next request). $upstream_response_length,
    $upstream_bytes_received and $upstream_bytes_sent count the tries'
    bytes."""
    import re
    import time
    b = t.backend('b')
    b2 = t.backend('b2')
    dead = t.dead_port()
    p = t.proxy("""
log_format u '$upstream_addr|$upstream_status|$upstream_response_time|$upstream_connect_time|$upstream_header_time|$upstream_response_length|$upstream_bytes_received|$upstream_bytes_sent|$status';
upstream two { server 127.0.0.1:%d; server 127.0.0.1:{b}; }
upstream three { server 127.0.0.1:{b}; server 127.0.0.1:{b2}; }
upstream none { server 127.0.0.1:%d; }
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/u.log u;
    location /t/ { proxy_pass http://two/; proxy_next_upstream error http_404; }
    location /h/ { proxy_pass http://three/; proxy_next_upstream error http_404; }
    location /n/ { proxy_pass http://none/; }
}""" % (dead, dead), b=b, b2=b2)
    for path in ['/t/size/5', '/t/status/404', '/n/x', '/n/x', '/t/size/5', '/h/status/404',
                 '/t/size/5']:
        p.get(path)

    def lines():
        text = p.read('logs', 'u.log')
        ls = text.splitlines()
        return ls if len(ls) >= 7 else None
    ls = wait_for(lines, timeout=5, what='7 access log lines')
    got = [re.sub(r'127\.0\.0\.1:\d+', 'A', re.sub(r'\d+\.\d{3}', 'T', x)) for x in ls]
    assert got == [
        'A, A|502, 200|T, T|-, T|-, T|0, 5|0, 176|0, 54|200',
        'A, two|404, 502|T, T|T, -|T, -|0, 0|564, 0|58, 0|502',
        'A|502|T|-|-|0|0|0|502',
        'A|502|T|-|-|0|0|0|502',
        'A|200|T|T|T|5|176|54|200',
        'A, A|404, 404|T, T|T, T|T, T|0, 395|566, 568|60, 60|404',
        'A|200|T|T|T|5|176|54|200',
    ], got
