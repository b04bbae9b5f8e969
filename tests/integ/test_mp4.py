"""nginx's mp4 module: `?start=SEC&end=SEC` on MP4 files (mp4kit.py writes
them: moov first, moov last, co64) answers the cut file, compared byte
for byte with what nginx 1.22 answered (GOLDEN: the answers' lengths and
sha256 prefixes, recorded from real nginx; the same test runs against
it): on and off key frames, with mp4_start_key_frame (an edit list),
end only, start and end, end before start, odd numbers (".5", "1.",
"1.23456"), no usable start (the file as it is). The head (Content-Length,
ETag of the answer's length, Last-Modified), one range of the answer (two
get the whole answer: nginx's single_range), 416, 304, 412, HEAD, 405;
500 with nginx's log line for a start past the end, a moov over
mp4_max_buffer_size and a file that is not an MP4; -t errors."""
import hashlib
import os

from harness import assert_location_t_errors
import mp4kit

GOLDEN = [
    ('/a.mp4?', 12004, 'af850095dba7c2d2'),
    ('/a.mp4?start=0', 12004, 'af850095dba7c2d2'),
    ('/a.mp4?start=1', 10194, '262c0011d2a0e2be'),
    ('/a.mp4?start=1.5', 9272, '7d4ef110b6f39819'),
    ('/a.mp4?start=2', 8082, '0bb250d80778a376'),
    ('/a.mp4?start=2.05', 8042, '4290c74e5907eaa7'),
    ('/a.mp4?start=3.999', 4610, '507f0871c61843e9'),
    ('/a.mp4?start=4.5', 3878, 'beb177595a7d25dd'),
    ('/a.mp4?start=4.99', 3570, 'ed70647538adf850'),
    ('/a.mp4?end=2', 4782, 'e7351ca380f9fad4'),
    ('/a.mp4?end=0', 12004, 'af850095dba7c2d2'),
    ('/a.mp4?start=1&end=3', 4980, '6436a8dc51a6126f'),
    ('/a.mp4?start=1.2&end=1.3', 1554, '2664a48caea1bc5e'),
    ('/a.mp4?start=0.5&end=4.2', 8827, 'd42b61ff9efd3122'),
    ('/a.mp4?start=3&end=2', 6182, 'a034d73a36beeb07'),
    ('/a.mp4?start=abc', 12004, 'af850095dba7c2d2'),
    ('/a.mp4?start=1.23456', 9714, '5a1c02a2d4ee258f'),
    ('/a.mp4?start=.5', 11085, '592263e3c1e59686'),
    ('/a.mp4?start=1.', 10194, '262c0011d2a0e2be'),
    ('/a.mp4?START=1', 10194, '262c0011d2a0e2be'),
    ('/a.mp4?start=1&end=100', 10194, '262c0011d2a0e2be'),
    ('/a.mp4?end=4.97', 11782, '957073cef1b17018'),
    ('/a.mp4?start=2.3&end=2.35', 1312, '1ec4b29317558f0e'),
    ('/a.mp4?start=4.3&end=4.8', 3544, '3feee765c34b21d8'),
    ('/k/a.mp4?start=1.5', 10194, 'bee761ccaf3f7055'),
    ('/k/a.mp4?start=2.05', 8042, '4290c74e5907eaa7'),
    ('/k/a.mp4?start=3.999', 6098, '25c91f3c8096d06c'),
    ('/k/a.mp4?start=4.5', 3878, 'beb177595a7d25dd'),
    ('/k/a.mp4?start=2.05&end=3.3', 3722, '2068e68fc5ff8754'),
    ('/k/a.mp4?start=0.05', 11916, 'fd0a5dd68f934733'),
    ('/s/a.mp4?start=1', 10194, '262c0011d2a0e2be'),
    ('/b.mp4?', 12092, 'ddda20cc56534242'),
    ('/b.mp4?start=0', 11996, '40b77d458c69a408'),
    ('/b.mp4?start=1', 10266, 'e6127af03d244506'),
    ('/b.mp4?start=1.5', 9336, '6826036c757f295e'),
    ('/b.mp4?start=2', 8134, '22790fd041871e79'),
    ('/b.mp4?start=2.05', 8090, '830f398475a4f380'),
    ('/b.mp4?start=3.999', 4634, 'e12d393d47e5c92f'),
    ('/b.mp4?start=4.5', 3890, 'c1a2eb005b5e2171'),
    ('/b.mp4?start=4.99', 3578, 'a7ba46c6f4450368'),
    ('/b.mp4?end=2', 4822, '3662f37d382db2d6'),
    ('/b.mp4?end=0', 12092, 'ddda20cc56534242'),
    ('/b.mp4?start=1&end=3', 5020, 'c9bd3c15d07fc0b9'),
    ('/b.mp4?start=1.2&end=1.3', 1562, '489eb0dfd205e40f'),
    ('/b.mp4?start=0.5&end=4.2', 8895, 'c4576b1a8ba4bc60'),
    ('/b.mp4?start=3&end=2', 6218, '5b06b4a770a0838d'),
    ('/b.mp4?start=abc', 12092, 'ddda20cc56534242'),
    ('/b.mp4?start=1.23456', 9778, 'ccde11081157e3f8'),
    ('/b.mp4?start=.5', 11165, '9675a7bf127c7003'),
    ('/b.mp4?start=1.', 10266, 'e6127af03d244506'),
    ('/b.mp4?START=1', 10266, 'e6127af03d244506'),
    ('/b.mp4?start=1&end=100', 10266, 'e6127af03d244506'),
    ('/b.mp4?end=4.97', 11870, '620e4feb4e54dcd6'),
    ('/b.mp4?start=2.3&end=2.35', 1320, 'b103c6ca0d373d81'),
    ('/b.mp4?start=4.3&end=4.8', 3560, '7519099f0186fffb'),
    ('/k/b.mp4?start=1.5', 10262, '3c3f9f933033f02a'),
    ('/k/b.mp4?start=2.05', 8090, '830f398475a4f380'),
    ('/k/b.mp4?start=3.999', 6126, '515abafbe9b77ffb'),
    ('/k/b.mp4?start=4.5', 3890, 'c1a2eb005b5e2171'),
    ('/k/b.mp4?start=2.05&end=3.3', 3746, '77d720a203b3124c'),
    ('/k/b.mp4?start=0.05', 12004, 'af5d78316b5624d1'),
    ('/c.mp4?', 12004, 'cb55602d97e9c892'),
    ('/c.mp4?start=0', 11908, '477add2f75aebde8'),
    ('/c.mp4?start=1', 10194, '262c0011d2a0e2be'),
    ('/c.mp4?start=1.5', 9272, '7d4ef110b6f39819'),
    ('/c.mp4?start=2', 8082, '0bb250d80778a376'),
    ('/c.mp4?start=2.05', 8042, '4290c74e5907eaa7'),
    ('/c.mp4?start=3.999', 4610, '507f0871c61843e9'),
    ('/c.mp4?start=4.5', 3878, 'beb177595a7d25dd'),
    ('/c.mp4?start=4.99', 3570, 'ed70647538adf850'),
    ('/c.mp4?end=2', 4782, 'e7351ca380f9fad4'),
    ('/c.mp4?end=0', 12004, 'cb55602d97e9c892'),
    ('/c.mp4?start=1&end=3', 4980, '6436a8dc51a6126f'),
    ('/c.mp4?start=1.2&end=1.3', 1554, '2664a48caea1bc5e'),
    ('/c.mp4?start=0.5&end=4.2', 8827, 'd42b61ff9efd3122'),
    ('/c.mp4?start=3&end=2', 6182, 'a034d73a36beeb07'),
    ('/c.mp4?start=abc', 12004, 'cb55602d97e9c892'),
    ('/c.mp4?start=1.23456', 9714, '5a1c02a2d4ee258f'),
    ('/c.mp4?start=.5', 11085, '592263e3c1e59686'),
    ('/c.mp4?start=1.', 10194, '262c0011d2a0e2be'),
    ('/c.mp4?START=1', 10194, '262c0011d2a0e2be'),
    ('/c.mp4?start=1&end=100', 10194, '262c0011d2a0e2be'),
    ('/c.mp4?end=4.97', 11782, '957073cef1b17018'),
    ('/c.mp4?start=2.3&end=2.35', 1312, '1ec4b29317558f0e'),
    ('/c.mp4?start=4.3&end=4.8', 3544, '3feee765c34b21d8'),
    ('/k/c.mp4?start=1.5', 10194, 'bee761ccaf3f7055'),
    ('/k/c.mp4?start=2.05', 8042, '4290c74e5907eaa7'),
    ('/k/c.mp4?start=3.999', 6098, '25c91f3c8096d06c'),
    ('/k/c.mp4?start=4.5', 3878, 'beb177595a7d25dd'),
    ('/k/c.mp4?start=2.05&end=3.3', 3722, '2068e68fc5ff8754'),
    ('/k/c.mp4?start=0.05', 11916, 'fd0a5dd68f934733'),
    ('/s/c.mp4?start=1', 10194, '262c0011d2a0e2be'),
]


def _proxy(t):
    root = t.tmpdir('mp4-')
    t.write(os.path.join(root, 'a.mp4'), mp4kit.make_mp4())
    t.write(os.path.join(root, 'b.mp4'), mp4kit.make_mp4(co64=True, moov_first=False))
    t.write(os.path.join(root, 'c.mp4'), mp4kit.make_mp4(moov_first=False))
    t.write(os.path.join(root, 't.mp4'), b'hello, not an mp4 file at all' * 10)
    os.makedirs(os.path.join(root, 'dir'), mode=0o755)
    return t.proxy("""
types { video/mp4 mp4; }
server {
    listen 127.0.0.1:{port};
    root %s;
    location / { mp4; }
    location /k/ { alias %s/; mp4; mp4_start_key_frame on; }
    location /s/ { alias %s/; mp4; mp4_buffer_size 1k; mp4_max_buffer_size 2k; }
    location /plain/ { alias %s/; }
}""" % (root, root, root, root))


def _digest(body):
    return hashlib.sha256(body).hexdigest()[:16]


def test_mp4_cuts_as_nginx(t):
    p = _proxy(t)
    mtime = {f: p.get('/plain/%s.mp4' % f).header('ETag').strip('"').split('-')[0]
             for f in 'abc'}
    lm = p.get('/plain/a.mp4').header('Last-Modified')
    for path, length, digest in GOLDEN:
        r = p.get(path)
        assert (r.status, len(r.body), _digest(r.body)) == (200, length, digest), \
            (path, r.status, len(r.body), _digest(r.body))
        assert r.header('Content-Length') == str(length), (path, r.headers)
        f = path.split('/')[-1][0]
        assert r.header('ETag') == '"%s-%x"' % (mtime[f], length), (path, r.headers)
        assert r.header('Content-Type') == 'video/mp4', (path, r.headers)
        assert r.header('Last-Modified') == lm, (path, r.headers)
        assert r.header('Accept-Ranges') == 'bytes', (path, r.headers)


def test_mp4_cut_contents(t):
    """What the golden digests stand for: a cut starts at the samples kept."""
    p = _proxy(t)
    whole = mp4kit.make_mp4()
    body = p.get('/a.mp4?start=1').body
    assert body[:28] == whole[:28]  # ftyp as it is
    assert body[32:36] == b'moov' and b'udta' not in body[:2000]
    mdat = body.index(b'mdat')
    assert body[mdat + 4:mdat + 7] == b'V\x00\x0a'  # video sample 10 first
    assert len(body) < len(whole)
    # moov first and the whole file asked: the file as it is
    assert p.get('/a.mp4?start=0').body == whole
    # moov last: rebuilt even from 0 (moov goes first)
    b0 = p.get('/c.mp4?start=0').body
    assert b0[32:36] == b'moov' and len(b0) == 11908


def test_mp4_ranges_and_conditions(t):
    p = _proxy(t)
    full = p.get('/a.mp4?start=1')
    body, etag = full.body, full.header('ETag')
    assert len(body) == 10194
    for rng, a, b in (('0-99', 0, 100), ('5000-5099', 5000, 5100), ('-10', 10184, 10194),
                      ('1000-', 1000, 10194)):
        r = p.get('/a.mp4?start=1', headers=[('Range', 'bytes=' + rng)])
        assert (r.status, r.body) == (206, body[a:b]), (rng, r.status, len(r.body))
        assert r.header('Content-Range') == 'bytes %d-%d/10194' % (a, b - 1), r.headers
        assert r.header('ETag') == etag, r.headers
    # two ranges: nginx's single_range, the whole answer
    r = p.get('/a.mp4?start=1', headers=[('Range', 'bytes=0-9,20-29')])
    assert (r.status, r.body, r.header('Accept-Ranges')) == (200, body, 'bytes'), r.headers
    r = p.get('/a.mp4?start=1', headers=[('Range', 'bytes=99999-')])
    assert (r.status, r.header('Content-Range')) == (416, 'bytes */10194'), r.headers
    r = p.get('/a.mp4?start=1', headers=[('If-None-Match', etag)])
    assert (r.status, r.body, r.header('ETag')) == (304, b'', etag), r.headers
    r = p.get('/a.mp4?start=1', headers=[('If-Match', '"x"')])
    assert r.status == 412, r.status
    r = p.req('HEAD', '/a.mp4?start=1')
    assert (r.status, r.body, r.header('Content-Length'), r.header('ETag')) == \
        (200, b'', '10194', etag), r.headers
    # without start/end: the static file, several ranges allowed
    r = p.get('/a.mp4', headers=[('Range', 'bytes=0-3')])
    assert (r.status, r.body) == (206, mp4kit.make_mp4()[:4]), r.status


def test_mp4_errors(t):
    p = _proxy(t)
    for path, log in (
            ('/a.mp4?start=5', 'no mp4 trak atoms were found in "'),
            ('/a.mp4?start=6', 'a.mp4" mp4 start time exceeds file duration'),
            ('/c.mp4?start=6', 'c.mp4" mp4 start time exceeds file duration'),
            ('/s/b.mp4?start=1', 'b.mp4" mp4 moov atom is too large:2108, '
             'you may want to increase mp4_max_buffer_size'),
            ('/t.mp4?start=1', 't.mp4" mp4 atom too large:1751477356'),
            ('/t.mp4?end=1', 't.mp4" mp4 atom too large:1751477356'),
            ('/a.mp4?end=0.040', 'no data between start time and end time in "'),
            ('/c.mp4?start=3.846&end=3.864', 'no data between start time and end time in "')):
        r = p.get(path)
        assert r.status == 500, (path, r.status)
        assert log in p.error_log(), (path, p.error_log()[-600:])
    # moov within mp4_buffer_size's reach... or not: a moov first file in /s/
    # is read whole under the 2k limit only when it fits
    assert p.get('/s/a.mp4?start=1').status == 200
    # not an MP4, no start: the file as it is
    r = p.get('/t.mp4')
    assert (r.status, r.body) == (200, b'hello, not an mp4 file at all' * 10)
    for m, path in (('POST', '/a.mp4?start=1'), ('POST', '/a.mp4'), ('POST', '/none.mp4'),
                    ('DELETE', '/a.mp4')):
        assert p.req(m, path, body=b'x').status == 405, (m, path)
    assert p.get('/none.mp4?start=1').status == 404
    r = p.get('/dir?start=1')
    assert r.status == 301, r.status


def test_mp4_config_errors(t):
    assert_location_t_errors(t, [
        ('mp4 on;', 'invalid number of arguments in "mp4" directive'),
        ('mp4_buffer_size;', 'invalid number of arguments in "mp4_buffer_size" directive'),
        ('mp4_max_buffer_size 1x;', '"mp4_max_buffer_size" directive invalid value'),
        ('mp4_start_key_frame yes;', 'invalid value "yes" in "mp4_start_key_frame" directive, '
         'it must be "on" or "off"'),
    ])
