# SPDX-License-Identifier: MIT
"""client_body_temp_path: a request body larger than client_body_buffer_size
is spooled to a temp file in the configured directory (nginx: a numbered
file it unlinks at once; lbd: an O_TMPFILE file that never has a name,
unless the configuration uses $request_body_file: then as nginx's), so
while a slow client is mid-body the proxy holds an open, deleted file
under that path (/proc/PID/fd). The upstream gets the body byte-exact; a
path where no file can be made answers 500 with a crit `open() "..."
failed` line; a body that fits in memory never needs the path."""

import hashlib
import os
import pwd
import shutil
import subprocess

from harness import Conn, ConnClosed, wait_for
from test_buffering import _fds_under

BUF = 8 * 1024          # client_body_buffer_size in these configs
SIZE = 1024 * 1024 + 7  # the body: well past BUF
PAT = bytes(range(251))  # a prime period: a misplaced block shows


def _body(n=SIZE):
    return (PAT * (n // len(PAT) + 1))[:n]


CONF = """
server {
    listen 127.0.0.1:{port};
    client_body_buffer_size 8k;
    client_max_body_size 4m;
    %s
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
}"""


def _files_left(tdir):
    return [f for _, _, fs in os.walk(tdir) for f in fs]


def _spooled(t, p, b1, tdir, chunked=False):
    """Send SIZE bytes in two halves; between them the body must sit in a
    deleted file under TDIR. Then the upstream must get it byte-exact and
    nothing may be left under TDIR."""
    body = _body()
    half = SIZE // 2
    if chunked:
        head = (b'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                b'Connection: close\r\n\r\n')
        first = b'%x\r\n%s\r\n' % (half, body[:half])
        rest = b'%x\r\n%s\r\n0\r\n\r\n' % (SIZE - half, body[half:])
    else:
        head = (b'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
                b'Connection: close\r\n\r\n' % SIZE)
        first, rest = body[:half], body[half:]
    with Conn(p.port) as c:
        c.send(head + first)
        # nginx opens a named file and unlinks it a moment later (its fd
        # was seen still named under load); lbd's has no name (O_TMPFILE)
        wait_for(lambda: _all_deleted(_fds_under(p, tdir)), 10,
                 what='an unlinked temp file open under ' + tdir)
        wait_for(lambda: _files_left(tdir) == [], 5, what='no named temp file')
        assert b1.count() == 0  # proxy_request_buffering on: body first
        c.send(rest)
        r = c.read_response('POST')
    assert r.status == 200, (r.status, r.body[:200])
    got = r.json()
    assert got['body_len'] == SIZE, got['body_len']
    assert got['body_sha256'] == hashlib.sha256(body).hexdigest()
    wait_for(lambda: not _fds_under(p, tdir), 5, what='temp file closed')
    # nginx unlinks its file a moment after the answer (seen left once
    # under a -j 4 run)
    wait_for(lambda: _files_left(tdir) == [], 5, what='temp file removed')
    assert 'a client request body is buffered to a temporary file' in p.error_log()



def _all_deleted(fds):
    """FDS when there are some and each one's file is unlinked."""
    return fds if fds and all(f.endswith(' (deleted)') for f in fds) else None


def test_body_temp_path_used(t):
    """client_body_temp_path PATH: the spooled body's file is in PATH
    (lbd makes PATH when first needed; nginx at start)."""
    b1, = t.backends('b1')
    p = t.proxy(CONF % 'client_body_temp_path {prefix}/cbt;', b1=b1.port)
    _spooled(t, p, b1, p.path('cbt'))


def test_body_temp_path_levels_chunked(t):
    """A chunked body, a location-level path with levels (accepted; nginx
    makes its numbered files in level subdirectories, lbd's file has no
    name and goes in PATH): the file is under PATH, the body exact. The
    http level's path is not used."""
    b1, = t.backends('b1')
    p = t.proxy('client_body_temp_path {prefix}/other;\n' +
                CONF % 'location /up { proxy_pass http://127.0.0.1:{b1}; '
                       'client_body_temp_path {prefix}/lv 1 2; }',
                b1=b1.port)
    _spooled(t, p, b1, p.path('lv'), chunked=True)
    assert not os.path.isdir(p.path('other')) or _files_left(p.path('other')) == []
    if t.target == 'lbd':
        # no $request_body_file in the configuration: the file had no
        # name (O_TMPFILE), so no level directories either
        assert os.listdir(p.path('lv')) == [], os.listdir(p.path('lv'))


def test_body_temp_path_user(t):
    """`user nobody nogroup`: the temp paths are made at start and given to
    the user (nginx: its workers' user), so the unprivileged proxy can
    spool a body there."""
    if os.geteuid() != 0:
        t.skip('needs root to start as root and drop to nobody')
    try:
        uid = pwd.getpwnam('nobody').pw_uid
    except KeyError:
        t.skip('no user nobody on this system')
    b1, = t.backends('b1')
    p = t.proxy(CONF % 'client_body_temp_path {prefix}/cbt; proxy_temp_path {prefix}/pt;',
                main='user nobody nogroup;', b1=b1.port)
    for d in ('cbt', 'pt'):
        st = os.stat(p.path(d))
        assert st.st_uid == uid and st.st_mode & 0o700 == 0o700, (d, st)
    _spooled(t, p, b1, p.path('cbt'))


def test_body_temp_path_default(t):
    """No client_body_temp_path: PREFIX/client_body_temp (nginx's built-in
    default; Debian's nginx is built with /var/lib/nginx/body instead)."""
    if t.target == 'nginx':
        t.skip('Debian builds nginx with --http-client-body-temp-path=/var/lib/nginx/body')
    b1, = t.backends('b1')
    p = t.proxy(CONF % '', b1=b1.port)
    _spooled(t, p, b1, p.path('client_body_temp'))


def _post_big(p):
    """POST SIZE bytes on a fresh connection: the response, or None when
    the proxy closed without one."""
    with Conn(p.port) as c:
        try:
            c.send(b'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
                   b'Connection: close\r\n\r\n' % SIZE + _body())
        except OSError:
            pass  # answered and closed before the end of the body
        try:
            return c.read_response('POST')
        except ConnClosed:
            return None


def test_body_temp_path_full(t):
    """PATH on a full file system (a 256k tmpfs): 500 with a crit line on
    the failed write; the upstream sees nothing."""
    if os.geteuid() != 0:
        t.skip('mounting a tmpfs needs root')
    mnt = t.tmpdir('cbt-full-')
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0777',
                        'lbdtest', mnt], capture_output=True, text=True)
    if r.returncode:
        t.skip('cannot mount a tmpfs: %s' % r.stderr.strip())
    t.defer(lambda: subprocess.run(['umount', '-l', mnt]))
    b1, = t.backends('b1')
    p = t.proxy(CONF % ('client_body_temp_path %s;' % mnt), b1=b1.port)
    r = _post_big(p)
    assert r is not None and r.status == 500, r and (r.status, r.body[:200])
    assert b1.count() == 0
    log = p.error_log()
    # nginx: 'write() "MNT/0000000001" failed (28: No space left on device)'
    # or '... has written only N of M'; lbd names the directory
    assert '[crit]' in log and 'write() ' in log and mnt in log, log[-2000:]
    assert _files_left(mnt) == []


def test_body_temp_path_unwritable(t):
    """PATH is no directory (a regular file put there after start, as nginx
    makes its paths at start and would refuse to start otherwise): a body
    that must spool gets 500 and a crit `open() "PATH..." failed (20: Not a
    directory)`; the upstream sees nothing; a body within
    client_body_buffer_size is still passed."""
    b1, = t.backends('b1')
    p = t.proxy(CONF % 'client_body_temp_path {prefix}/cbt;', b1=b1.port)
    tdir = p.path('cbt')
    if os.path.isdir(tdir):
        shutil.rmtree(tdir)
    with open(tdir, 'w') as f:
        f.write('not a directory\n')
    r = _post_big(p)
    assert r is not None and r.status == 500, r and (r.status, r.body[:200])
    assert b1.count() == 0
    log = p.error_log()
    assert '[crit]' in log and ('open() "%s' % tdir) in log, log[-2000:]
    assert 'failed (20: Not a directory)' in log, log[-2000:]
    with Conn(p.port) as c:
        r = c.request('POST', '/small', body=_body(BUF))
    assert r.status == 200, r.status
    assert r.json()['body_sha256'] == hashlib.sha256(_body(BUF)).hexdigest()


def test_body_temp_path_config(t):
    """The directive's syntax: levels as nginx checks them (each positive,
    digits and slashes within 10 + their number), one per level."""
    b1, = t.backends('b1')
    p = t.proxy(CONF % 'client_body_temp_path {prefix}/cbt 1 2 3;', b1=b1.port)
    for good in ('client_body_temp_path {prefix}/cbt 3;',
                 'client_body_temp_path {prefix}/cbt 5 5;'):
        p.write_conf(http=CONF % good)
        r = p.run('-t')
        assert r.returncode == 0, (good, r.stderr)
    for bad, msg in (('client_body_temp_path {prefix}/cbt 0;',
                      '"client_body_temp_path" directive invalid value'),
                     ('client_body_temp_path {prefix}/cbt 5 6;',
                      '"client_body_temp_path" directive invalid value'),
                     ('client_body_temp_path {prefix}/cbt 1 x;',
                      '"client_body_temp_path" directive invalid value'),
                     ('client_body_temp_path {prefix}/a; client_body_temp_path {prefix}/b;',
                      '"client_body_temp_path" directive is duplicate')):
        p.write_conf(http=CONF % bad)
        r = p.run('-t')
        assert r.returncode != 0, bad
        assert msg in r.stderr, (bad, r.stderr)



def test_request_body_file_of_a_spooled_body(t):
    """$request_body_file of a body spooled past client_body_buffer_size
    (no client_body_in_file_only), as nginx gives it: the numbered file's
    name, from 0000000001, in the path's levels (1 2: PATH/1/00/0000000001);
    the file is unlinked as soon as it is made (open and deleted while the
    body comes, nothing left after), the level directories stay; the warn
    line names the file. A body in memory, one streamed upstream
    (proxy_request_buffering off) and one never read have none."""
    b1, = t.backends('b1')
    p = t.proxy(CONF % """client_body_temp_path {prefix}/lv 1 2;
    location /f { proxy_set_header X-File "[$request_body_file]";
                  proxy_pass http://127.0.0.1:{b1}; }
    location /nb { proxy_request_buffering off;
                   proxy_set_header X-File "[$request_body_file]";
                   proxy_pass http://127.0.0.1:{b1}; }
    location /r { return 200 "[$request_body_file]"; }""", b1=b1.port)
    tdir = p.path('lv')

    def xfile(r):
        assert r.status == 200, r
        return dict((k.lower(), v) for k, v in r.json()['headers'])['x-file']

    assert xfile(p.req('POST', '/f', body=b'x' * 100)) == '[]'
    first = tdir + '/1/00/0000000001'
    assert xfile(p.req('POST', '/f', body=b'x' * 20000)) == '[%s]' % first
    assert not os.path.exists(first)
    assert xfile(p.req('POST', '/nb', body=b'x' * 20000)) == '[]'
    r = p.req('POST', '/r', body=b'x' * 20000)
    assert (r.status, r.body) == (200, b'[]')
    # while the body comes: open under its name, already unlinked
    body = _body()
    half = SIZE // 2
    with Conn(p.port) as c:
        c.send(b'POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
               b'Connection: close\r\n\r\n' % SIZE + body[:half])
        fds = wait_for(lambda: _all_deleted(_fds_under(p, tdir)), 10,
                       what='the unlinked body file open under ' + tdir)
        name = fds[0][:-len(' (deleted)')]
        c.send(body[half:])
        r = c.read_response('POST')
    assert xfile(r) == '[%s]' % name
    assert r.json()['body_sha256'] == hashlib.sha256(body).hexdigest()
    num = os.path.basename(name)
    assert len(num) == 10 and num.isdigit() and \
        name == '%s/%s/%s/%s' % (tdir, num[-1], num[-3:-1], num), name
    assert _files_left(tdir) == [] and os.path.isdir(os.path.dirname(name)), \
        list(os.walk(tdir))
    wait_for(lambda: 'a client request body is buffered to a temporary file %s,' % name
             in p.error_log(), 5, what='the warn line naming the file')


def test_request_body_file_in_ssi(t):
    """$request_body_file looked up by name at run time, by SSI's echo in
    the answer of a location with ssi on, names the spooled body's file
    as nginx's (PATH/0000000001), though nothing else in the configuration
    uses the variable. (lbd before: `(none)`, the file had no name.) A
    location without ssi keeps lbd's nameless file (O_TMPFILE, `#` in
    /proc/PID/fd; nginx names every one)."""
    b1, = t.backends('b1')
    p = t.proxy(CONF % """client_body_temp_path {prefix}/sb;
    location /s { ssi on; proxy_pass http://127.0.0.1:{port}/page; }
    location = /page { default_type text/html;
                       return 200 '[<!--# echo var="request_body_file" -->]'; }""",
                b1=b1.port)
    tdir = p.path('sb')
    r = p.req('POST', '/s', body=b'x' * 100)
    assert (r.status, r.body) == (200, b'[(none)]'), r
    r = p.req('POST', '/s', body=b'x' * 20000)
    assert (r.status, r.body) == (200, b'[%s/0000000001]' % tdir.encode()), r
    if t.target != 'lbd':
        return
    body = _body()
    # the SSI request's named file is closed when its connection is
    # (which lbd may see a moment after the client read the answer)
    wait_for(lambda: not _fds_under(p, tdir), 10,
             what='the SSI request\'s body file closed')
    with Conn(p.port) as c:
        c.send(b'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
               b'Connection: close\r\n\r\n' % SIZE + body[:SIZE // 2])
        fds = wait_for(lambda: _all_deleted(_fds_under(p, tdir)), 10,
                       what='the body file open under ' + tdir)
        assert os.path.basename(fds[0]).startswith('#'), fds
        c.send(body[SIZE // 2:])
        assert c.read_response('POST').status == 200
