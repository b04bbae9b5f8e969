"""nginx's WebDAV module (dav_methods PUT DELETE MKCOL COPY MOVE,
dav_access, create_full_put_path, min_delete_depth), each case against
nginx 1.22 with the same config: statuses, Location on 201, the file
system after (content, modes, directories, a Date header's mtime), bodies
in memory, spooled to a temp file and chunked, 413, methods not enabled
(405), a recursive DELETE (lbd removes a link in the tree, never what it
points to: nginx follows it and empties the target), COPY and MOVE of
files and trees (Destination, Overwrite, Depth, the collection rules,
each status and error log line), and the -t errors."""
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time

from harness import Conn, assert_location_t_errors, wait_for

CONF = """
server {
    listen 127.0.0.1:{port};
    root %s;
    client_max_body_size 100k;
    location / {
        dav_methods PUT DELETE MKCOL;
        dav_access user:rw group:r all:r;
    }
    location /full/ {
        dav_methods PUT;
        create_full_put_path on;
        dav_access group:rw all:r;
    }
    location /ro/ { }
    location /deep/ {
        dav_methods DELETE;
        min_delete_depth 3;
    }
    location /cm/ {
        dav_methods PUT DELETE MKCOL COPY MOVE;
        dav_access user:rw group:r all:r;
    }
}"""


def setup(t):
    root = t.tmpdir('dav-')
    # nginx's workers are nobody: the tree must be theirs to write
    for d in ('', 'sub', 'ro', 'full', 'deep', 'deep/x', 'tree', 'tree/a', 'tree/a/b',
              'tree2', 'tree3', 'outside'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, d), 0o777)
    for f in ('ro/f', 'deep/x/y', 'deep/z', 'tree/1', 'tree/a/2', 'tree/a/b/3',
              'outside/keep'):
        t.write(os.path.join(root, f), b'x', mode=0o666)
    os.symlink(os.path.join(root, 'outside'), os.path.join(root, 'tree3', 'link'))
    p = t.proxy(CONF % root)
    return root, p


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def test_dav_put(t):
    root, p = setup(t)
    port = p.port
    r = p.req('PUT', '/a.txt', body=b'hello')
    assert r.status == 201, r.status
    assert r.header('Location') == 'http://localhost:%d/a.txt' % port, r.headers
    assert r.header('Content-Length') == '0'
    assert read(os.path.join(root, 'a.txt')) == b'hello'
    assert mode(os.path.join(root, 'a.txt')) == 0o644
    r = p.req('PUT', '/a.txt', body=b'bye')
    assert (r.status, r.header('Location'), r.header('Content-Length')) == (204, None, None)
    assert read(os.path.join(root, 'a.txt')) == b'bye'
    r = p.get('/a.txt')
    assert (r.status, r.body) == (200, b'bye')
    # an empty body makes an empty file; no body at all is nginx's 500
    r = p.req('PUT', '/empty', headers=[('Content-Length', '0')])
    assert r.status == 201 and read(os.path.join(root, 'empty')) == b''
    r = p.req('PUT', '/none')
    assert r.status == 500 and not os.path.exists(os.path.join(root, 'none')), r.status
    # past client_body_buffer_size: the body comes from the temp file
    big = bytes(range(256)) * 300
    r = p.req('PUT', '/sub/big.bin', body=big)
    assert r.status == 201 and read(os.path.join(root, 'sub', 'big.bin')) == big
    # chunked
    r = p.req('PUT', '/sub/ch', headers=[('Transfer-Encoding', 'chunked')],
              body=b'3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n')
    assert r.status == 201 and read(os.path.join(root, 'sub', 'ch')) == b'abcdefg'
    # the Date header sets the file's time
    r = p.req('PUT', '/dated', body=b'd', headers=[('Date', 'Sun, 06 Nov 1994 08:49:37 GMT')])
    assert r.status == 201 and int(os.stat(os.path.join(root, 'dated')).st_mtime) == 784111777
    # 413: nothing written
    r = p.req('PUT', '/huge', body=b'x' * (101 * 1024))
    assert r.status == 413 and not os.path.exists(os.path.join(root, 'huge'))
    # a collection, an existing directory, a range, a missing parent
    assert p.req('PUT', '/sub/', body=b'x').status == 409
    assert p.req('PUT', '/sub', body=b'x').status == 409
    assert p.req('PUT', '/r', body=b'x',
                 headers=[('Content-Range', 'bytes 0-0/1')]).status == 501
    assert not os.path.exists(os.path.join(root, 'r'))
    r = p.req('PUT', '/nodir/x', body=b'x')
    assert r.status == 500 and not os.path.exists(os.path.join(root, 'nodir')), r.status
    # create_full_put_path: the directories made, dav_access on the file
    r = p.req('PUT', '/full/x/y/z.txt', body=b'zz')
    assert r.status == 201, r.status
    assert read(os.path.join(root, 'full/x/y/z.txt')) == b'zz'
    assert mode(os.path.join(root, 'full/x/y/z.txt')) == 0o664
    assert os.path.isdir(os.path.join(root, 'full/x/y'))
    # no dav_methods: the static module's 405
    assert p.req('PUT', '/ro/f', body=b'y').status == 405
    assert read(os.path.join(root, 'ro', 'f')) == b'x'
    # no temp file left beside the targets
    left = [n for n in os.listdir(root) + os.listdir(os.path.join(root, 'sub'))
            if n.startswith('.')]
    assert not left, left
    log = p.error_log()
    for want in ('cannot PUT to a collection', 'PUT with range is unsupported',
                 'PUT request body must be in a file',
                 '"%s/sub" could not be created (21: Is a directory)' % root,
                 'to "%s/nodir/x" failed (2: No such file or directory)' % root):
        assert want in log, want
    # keep-alive: a PUT then a GET on one connection
    with p.conn() as c:
        r = c.request('PUT', '/ka', body=b'k1')
        assert r.status == 201
        r = c.request('GET', '/ka')
        assert (r.status, r.body) == (200, b'k1')


def test_dav_mkcol_delete(t):
    root, p = setup(t)
    port = p.port
    r = p.req('MKCOL', '/newdir/')
    assert r.status == 201, r.status
    assert r.header('Location') == 'http://localhost:%d/newdir/' % port, r.headers
    assert os.path.isdir(os.path.join(root, 'newdir'))
    assert mode(os.path.join(root, 'newdir')) == 0o755
    assert p.req('MKCOL', '/newdir/').status == 405
    assert p.req('MKCOL', '/nodir').status == 409
    assert p.req('MKCOL', '/x/y/').status == 409
    assert p.req('MKCOL', '/withbody/', body=b'x').status == 415
    assert not os.path.exists(os.path.join(root, 'withbody'))
    # DELETE a file, twice
    t.write(os.path.join(root, 'f'), b'x', mode=0o666)
    r = p.req('DELETE', '/f')
    assert (r.status, r.header('Content-Length')) == (204, None)
    assert not os.path.exists(os.path.join(root, 'f'))
    assert p.req('DELETE', '/f').status == 404
    assert p.req('DELETE', '/f/g').status == 404
    # a file under a file: ENOTDIR
    t.write(os.path.join(root, 'plain'), b'x', mode=0o666)
    assert p.req('DELETE', '/plain/g').status == 409
    assert p.req('DELETE', '/plain', headers=[('Depth', '1')]).status == 400
    assert p.req('DELETE', '/plain', body=b'x').status == 415
    # a directory: only as a collection, Depth infinity
    assert p.req('DELETE', '/tree').status == 409
    assert p.req('DELETE', '/tree2/', headers=[('Depth', '0')]).status == 400
    assert os.path.isdir(os.path.join(root, 'tree2'))
    r = p.req('DELETE', '/tree/')
    assert r.status == 204, r.status
    assert not os.path.exists(os.path.join(root, 'tree'))
    r = p.req('DELETE', '/tree3/')
    if t.is_nginx:
        # nginx follows the link: what it points to is emptied, then the
        # link's rmdir() fails (ENOTDIR) and so does the tree's (500)
        assert r.status == 500 and not os.path.exists(os.path.join(root, 'outside', 'keep'))
    else:
        # lbd removes the link, never what it points to
        assert r.status == 204 and not os.path.lexists(os.path.join(root, 'tree3'))
        assert read(os.path.join(root, 'outside', 'keep')) == b'x'
    r = p.req('DELETE', '/tree2/', headers=[('Depth', 'infinity')])
    assert r.status == 204 and not os.path.exists(os.path.join(root, 'tree2'))
    # min_delete_depth 3
    assert p.req('DELETE', '/deep/z').status == 409
    assert os.path.exists(os.path.join(root, 'deep', 'z'))
    assert p.req('DELETE', '/deep/x/y').status == 204
    assert not os.path.exists(os.path.join(root, 'deep', 'x', 'y'))
    log = p.error_log()
    for want in ('mkdir() "%s/newdir" failed (17: File exists)' % root,
                 'MKCOL can create a collection only', 'MKCOL with body is unsupported',
                 'mkdir() "%s/x/y" failed (2: No such file or directory)' % root,
                 'lstat() "%s/f" failed (2: No such file or directory)' % root,
                 'lstat() "%s/plain/g" failed (20: Not a directory)' % root,
                 '"Depth" header must be 0 or infinity', 'DELETE with body is unsupported',
                 'DELETE "%s/tree" failed (21: Is a directory)' % root,
                 '"Depth" header must be infinity', 'insufficient URI depth:2 to DELETE'):
        assert want in log, want
    # methods not enabled
    assert p.req('MKCOL', '/ro/new/').status == 405
    assert p.req('DELETE', '/ro/f').status == 405
    assert os.path.exists(os.path.join(root, 'ro', 'f'))
    assert p.req('DELETE', '/full/x').status == 405


def test_dav_t_errors(t):
    assert_location_t_errors(t, [
        ('dav_methods GET;', 'invalid value "GET"'),
        ('dav_access user:x;', 'invalid value "user:x"'),
        ('dav_access other:r;', 'invalid value "other:r"'),
        ('dav_access user:rw group:r all:r all:r;',
         'invalid number of arguments in "dav_access" directive'),
        ('dav_access all:r; dav_access all:r;', '"dav_access" directive is duplicate'),
        ('create_full_put_path x;', 'invalid value "x" in "create_full_put_path" directive'),
        ('min_delete_depth x;', '"min_delete_depth" directive invalid number'),
        ('dav_methods;', 'invalid number of arguments in "dav_methods" directive'),
    ])


def test_dav_body_paths(t):
    """A PUT body the client sends in two parts (the read resumes from the
    event loop), a chunked body over client_max_body_size (413), a client
    gone mid-body (400 logged), client_body_timeout (408 logged, nothing
    answered): no file left in any of them; a PUT over h2c."""
    root = t.tmpdir('dav-')
    os.chmod(root, 0o777)
    p = t.proxy("""
log_format st '$uri $status';
server {
    listen 127.0.0.1:{port};
    root %s;
    client_max_body_size 1k;
    client_body_timeout 1s;
    access_log {prefix}/logs/st.log st;
    location / { dav_methods PUT; }
}""" % root)
    with Conn(p.port) as c:
        c.send(b'PUT /two HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc')
        time.sleep(0.3)
        c.send(b'def')
        r = c.read_response()
        assert r.status == 201, r.status
    assert read(os.path.join(root, 'two')) == b'abcdef'
    with Conn(p.port) as c:
        c.send(b'PUT /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               b'800\r\n' + b'a' * 2048 + b'\r\n0\r\n\r\n')
        assert c.read_response().status == 413
    with Conn(p.port) as c:
        c.send(b'PUT /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
    with Conn(p.port) as c:
        c.send(b'PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
        assert c.is_closed(timeout=5) and c.buf == b''
    wait_for(lambda: len(p.read('logs', 'st.log').splitlines()) == 4, what='4 lines')
    log = sorted(p.read('logs', 'st.log').splitlines())
    assert log == ['/big 413', '/gone 400', '/slow 408', '/two 201'], log
    assert sorted(os.listdir(root)) == ['two'], os.listdir(root)
    p.stop()
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    location / { dav_methods PUT; }
}""" % root)
    r = subprocess.run(['curl', '-sS', '--max-time', '10', '--http2-prior-knowledge', '-X', 'PUT',
                        '--data-binary', 'h2body', '-o', '/dev/null', '-w', '%{http_code}',
                        'http://127.0.0.1:%d/h2' % p.port], capture_output=True, text=True)
    assert r.stdout == '201', (r.stdout, r.stderr)
    assert read(os.path.join(root, 'h2')) == b'h2body'


def test_dav_disable_symlinks(t):
    """Under disable_symlinks on, lbd's PUT, DELETE and MKCOL do not go
    through a link to a directory (403, as a static file there), nor
    DELETE a directory that is a link; nginx's dav module does not look
    (it writes and removes through the link). Without it both follow."""
    root = t.tmpdir('dav-')
    out = t.tmpdir('dav-out-')
    for d in (root, out):
        os.chmod(d, 0o777)
    t.write(os.path.join(out, 'f'), b'x', mode=0o666)
    os.symlink(out, os.path.join(root, 'lnk'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location / { dav_methods PUT DELETE MKCOL; }
    location /safe/ { alias %s/; dav_methods PUT DELETE MKCOL; disable_symlinks on; }
}""" % (root, root))
    st = [p.req('PUT', '/safe/lnk/new', body=b'n').status,
          p.req('MKCOL', '/safe/lnk/dir/').status,
          p.req('DELETE', '/safe/lnk/f').status,
          p.req('DELETE', '/safe/lnk/').status]
    if t.is_nginx:
        assert st[:3] == [201, 201, 204], st
    else:
        assert st == [403] * 4, st
        assert sorted(os.listdir(out)) == ['f']
        assert 'openat() "%s/lnk" failed (40: ' % root in p.error_log()
    # disable_symlinks off (the default): through the link, both
    assert p.req('PUT', '/lnk/g', body=b'g').status == 201
    assert read(os.path.join(out, 'g')) == b'g'
    assert p.req('DELETE', '/lnk/g').status == 204
    assert not os.path.exists(os.path.join(out, 'g'))


def cm_tree(root):
    """The COPY/MOVE tree under ROOT/cm, made again: f (mode 0604, an old
    mtime), g, d/a, d/sub/b, e/ (empty). Directories everyone's, and every
    file nobody's: nginx's workers are nobody, and only a file's owner may
    set its time (a COPY over g does)."""
    cm = os.path.join(root, 'cm')
    shutil.rmtree(cm, ignore_errors=True)
    for d in ('', 'd', 'd/sub', 'e'):
        os.makedirs(os.path.join(cm, d), exist_ok=True)
        os.chmod(os.path.join(cm, d), 0o777)
    for f, body, m in (('f', b'F', 0o604), ('g', b'G', 0o666), ('d/a', b'A', 0o644),
                       ('d/sub/b', b'B', 0o644)):
        with open(os.path.join(cm, f), 'wb') as fh:
            fh.write(body)
        os.chmod(os.path.join(cm, f), m)
    os.utime(os.path.join(cm, 'f'), (1000000000, 1000000000))
    nobody = pwd.getpwnam('nobody').pw_uid
    for d, _, files in os.walk(cm):
        for n in files:
            os.chown(os.path.join(d, n), nobody, -1)
    return cm


def test_dav_copy_move(t):
    """COPY and MOVE as nginx 1.22 answers them, case by case on a fresh
    tree: the status, the error log line, and the files after. A file's
    COPY is 204 whether or not the target existed (an existing one is
    overwritten in place, its mode kept; a new one gets the source's mode
    and mtime, not dav_access), a tree's 201; MOVE renames (making a
    file's missing directories with dav_access's mode), replacing a
    directory target; Destination is a path or an http:// URL on this
    host; Overwrite F with a target is 412; Depth other than infinity (0
    for COPY) is 400; the collection rules are 409 or 400."""
    root, p = setup(t)
    port = p.port
    cm = os.path.join(root, 'cm')

    def ex(*names):
        return all(os.path.exists(os.path.join(cm, n)) for n in names)

    def body(n):
        return read(os.path.join(cm, n))

    cases = [
        # (method, uri, headers, request body, status, log line, check)
        ('COPY', '/cm/f', [('Destination', '/cm/f2')], b'', 204, None,
         lambda: (body('f2'), mode(os.path.join(cm, 'f2')),
                  int(os.stat(os.path.join(cm, 'f2')).st_mtime), ex('f')) ==
         (b'F', 0o604, 1000000000, True)),
        ('COPY', '/cm/f', [('Destination', 'http://localhost:%d/cm/f3' % port)], b'', 204,
         None, lambda: body('f3') == b'F'),
        ('COPY', '/cm/f', [('Destination', 'http://other.example/cm/x')], b'', 400,
         '"Destination" URI "http://other.example/cm/x" is handled by different repository '
         'than the source URI', lambda: not ex('x')),
        ('COPY', '/cm/f', [('Destination', 'https://localhost/cm/x')], b'', 400,
         'client sent invalid "Destination" header: "https://localhost/cm/x"',
         lambda: not ex('x')),
        ('COPY', '/cm/f', [('Destination', 'http://localhost')], b'', 400,
         'client sent invalid "Destination" header: "http://localhost"', None),
        ('COPY', '/cm/f', [], b'', 400, 'client sent no "Destination" header', None),
        ('COPY', '/cm/f', [('Destination', '/cm/../x')], b'', 400,
         'client sent invalid "Destination" header: "/cm/../x"', None),
        ('COPY', '/cm/f', [('Destination', '/cm/a%20b?q=1')], b'', 204, None,
         lambda: body('a b') == b'F'),
        ('COPY', '/cm/f', [('Destination', '/cm/g')], b'', 204, None,
         lambda: (body('g'), mode(os.path.join(cm, 'g'))) == (b'F', 0o666)),
        ('COPY', '/cm/f', [('Destination', '/cm/g'), ('Overwrite', 'F')], b'', 412,
         '"%s/g" could not be created (17: File exists)' % cm, lambda: body('g') == b'G'),
        ('COPY', '/cm/f', [('Destination', '/cm/g'), ('Overwrite', 't')], b'', 204, None,
         lambda: body('g') == b'F'),
        ('COPY', '/cm/f', [('Destination', '/cm/g'), ('Overwrite', 'x')], b'', 400,
         'client sent invalid "Overwrite" header: "x"', lambda: body('g') == b'G'),
        ('COPY', '/cm/f', [('Destination', '/cm/nodir/x')], b'', 500,
         'open() "%s/nodir/x" failed (2: No such file or directory)' % cm,
         lambda: not ex('nodir')),
        ('COPY', '/cm/f', [('Destination', '/cm/e/')], b'', 409,
         'both URI "/cm/f" and "Destination" URI "/cm/e/" should be either collections or '
         'non-collections', None),
        ('COPY', '/cm/f', [('Destination', '/cm/e')], b'', 409,
         '"/cm/f" could not be COPYed to collection "/cm/e"', None),
        ('COPY', '/cm/f/', [('Destination', '/cm/h/')], b'', 404,
         'lstat() "%s/f/" failed (20: Not a directory)' % cm, None),
        ('COPY', '/cm/d', [('Destination', '/cm/h')], b'', 400, '"/cm/d" is collection',
         lambda: not ex('h')),
        ('COPY', '/cm/d/', [('Destination', '/cm/h/')], b'', 201, None,
         lambda: (body('h/a'), body('h/sub/b'), ex('d/sub/b')) == (b'A', b'B', True)),
        ('COPY', '/cm/d/', [('Destination', '/cm/h/'), ('Depth', '0')], b'', 201, None,
         lambda: body('h/sub/b') == b'B'),
        ('COPY', '/cm/d/', [('Destination', '/cm/h/'), ('Depth', '1')], b'', 400,
         '"Depth" header must be 0 or infinity', lambda: not ex('h')),
        ('COPY', '/cm/d/', [('Destination', '/cm/e/')], b'', 201, None,
         lambda: body('e/sub/b') == b'B'),
        ('COPY', '/cm/d/', [('Destination', '/cm/e/'), ('Overwrite', 'F')], b'', 412,
         '"%s/e" could not be created (17: File exists)' % cm, lambda: not ex('e/a')),
        ('COPY', '/cm/d/', [('Destination', '/cm/g/')], b'', 201, None,
         lambda: body('g/a') == b'A'),
        ('COPY', '/cm/nope', [('Destination', '/cm/x')], b'', 404,
         'lstat() "%s/nope" failed (2: No such file or directory)' % cm, None),
        ('COPY', '/cm/f', [('Destination', '/cm/x')], b'abc', 415,
         'COPY and MOVE with body are unsupported', lambda: not ex('x')),
        ('MOVE', '/cm/f', [('Destination', '/cm/m')], b'', 204, None,
         lambda: (body('m'), mode(os.path.join(cm, 'm')), ex('f')) == (b'F', 0o604, False)),
        ('MOVE', '/cm/f', [('Destination', '/cm/g')], b'', 204, None,
         lambda: (body('g'), ex('f')) == (b'F', False)),
        ('MOVE', '/cm/f', [('Destination', '/cm/g'), ('Overwrite', 'F')], b'', 412,
         '"%s/g" could not be created (17: File exists)' % cm, lambda: ex('f')),
        ('MOVE', '/cm/d/', [('Destination', '/cm/h/')], b'', 201, None,
         lambda: (body('h/sub/b'), ex('d')) == (b'B', False)),
        ('MOVE', '/cm/d/', [('Destination', '/cm/nodir/h/')], b'', 404,
         'mkdir() "%s/nodir/h" failed (2: No such file or directory)' % cm,
         lambda: ex('d/sub/b')),
        ('COPY', '/cm/d/', [('Destination', '/cm/nodir/h/')], b'', 404,
         'mkdir() "%s/nodir/h" failed (2: No such file or directory)' % cm, None),
        ('COPY', '/cm/f', [('Destination', 'http://localhostX/cm/y')], b'', 204, None,
         lambda: body('y') == b'F'),
        ('MOVE', '/cm/d/', [('Destination', '/cm/h/'), ('Depth', '0')], b'', 400,
         '"Depth" header must be infinity', lambda: ex('d/a')),
        ('MOVE', '/cm/d/', [('Destination', '/cm/e/')], b'', 201, None,
         lambda: (body('e/a'), ex('d')) == (b'A', False)),
        ('MOVE', '/cm/f', [('Destination', '/cm/nodir/deeper/x')], b'', 204, None,
         lambda: (body('nodir/deeper/x'), mode(os.path.join(cm, 'nodir'))) ==
         (b'F', 0o755)),
        ('MOVE', '/cm/f', [('Destination', '/cm/f')], b'', 204, None, lambda: body('f') == b'F'),
        ('MOVE', '/cm/nope', [('Destination', '/cm/x')], b'', 404,
         'lstat() "%s/nope" failed (2: No such file or directory)' % cm, None),
        # COPY and MOVE are off where dav_methods does not name them
        ('COPY', '/full/x', [('Destination', '/full/y')], b'', 405, None, None),
    ]
    for method, uri, hdrs, req_body, status, line, check in cases:
        cm_tree(root)
        r = p.req(method, uri, headers=hdrs, body=req_body)
        what = (method, uri, hdrs)
        assert r.status == status, (what, r.status)
        assert r.header('Location') is None, (what, r.headers)
        if line:
            wait_for(lambda: line in p.error_log(), what='log line %r' % line)
        if check:
            assert check(), what
    # a file's COPY onto itself: 500 in both; nginx truncates the file
    # (its log: read() has read only 0 of 1), lbd keeps it
    cm_tree(root)
    assert p.req('COPY', '/cm/f', headers=[('Destination', '/cm/f')]).status == 500
    if not t.is_nginx:
        assert body('f') == b'F'
        assert '"%s/f" could not be copied onto itself' % cm in p.error_log()


def test_dav_move_across_file_systems(t):
    """MOVE to another file system (a directory of the tree that is a link
    into /dev/shm, a tmpfs): rename() fails with EXDEV, and the file, or the
    tree, is copied there and removed here, as nginx does: 204 for a file
    (its mode and mtime kept), 201 for a tree."""
    if os.stat('/dev/shm').st_dev == os.stat(tempfile.gettempdir()).st_dev:
        t.skip("/dev/shm is on the temp directory's file system here")
    root, p = setup(t)
    shm = tempfile.mkdtemp(prefix='lbd-integ-dav-', dir='/dev/shm')
    t.defer(lambda: shutil.rmtree(shm, ignore_errors=True))
    os.chmod(shm, 0o777)
    cm = cm_tree(root)
    os.symlink(shm, os.path.join(cm, 'shm'))
    r = p.req('MOVE', '/cm/f', headers=[('Destination', '/cm/shm/f')])
    assert r.status == 204, r.status
    moved = os.path.join(shm, 'f')
    assert (read(moved), mode(moved), int(os.stat(moved).st_mtime)) == \
        (b'F', 0o604, 1000000000)
    assert not os.path.exists(os.path.join(cm, 'f'))
    r = p.req('MOVE', '/cm/d/', headers=[('Destination', '/cm/shm/d/')])
    assert r.status == 201, r.status
    assert read(os.path.join(shm, 'd', 'sub', 'b')) == b'B'
    assert not os.path.exists(os.path.join(cm, 'd'))
