# SPDX-License-Identifier: MIT
"""nginx's charset filter recoding bodies: charset_map tables (Debian's
/etc/nginx/koi-utf, koi-win and win-utf included as they are), static
files, `return` texts and proxied answers, single-byte <-> single-byte and
single-byte <-> UTF-8, unmapped characters ("&#N;") and invalid UTF-8
("?"), a UTF-8 sequence cut across the upstream's writes and chunks, the
source charset from the answer under override_charset on, charsets from
variables (known, other case, empty, unknown, not found: the request
fails), gzip after recoding, an encoded answer left alone (gzip_static's
type too), the header edits, single-byte recoding keeping Content-Length
and byte ranges (static files, proxied answers, cache hits), an empty
file recoded to UTF-8 (chunked), and the -t errors. Expected
bodies come from ref_to_utf8()/ref_from_utf8() below, a plain model of
nginx's rules over Debian's files, so nginx is checked against the model
and lbd against both."""

import gzip
import os
import re

from harness import build_request, conf_line, wait_for
from test_subfilter import PieceUpstream

AE = {'Accept-Encoding': 'gzip'}
MAPS = '/etc/nginx'
INCLUDES = ''.join('include %s/%s;\n' % (MAPS, m) for m in ('koi-utf', 'koi-win', 'win-utf'))


def load_map(name):
    """{byte: bytes} of the charset_map in Debian's file NAME."""
    with open(os.path.join(MAPS, name), 'rb') as f:
        text = re.sub(rb'#[^\n]*', b'', f.read())
    body = re.search(rb'\{(.*)\}', text, re.S).group(1)
    return {int(a, 16): bytes.fromhex(b.decode())
            for a, b in re.findall(rb'([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s*;', body)}


def ref_single(body, mp, reverse=False):
    """Single-byte to single-byte: mapped bytes, ASCII as it is, else '?'."""
    t = {v[0]: k for k, v in mp.items()} if reverse else {k: v[0] for k, v in mp.items()}
    return bytes(t.get(b, b if b < 0x80 else 0x3f) for b in body)


def ref_to_utf8(body, mp):
    return b''.join(mp.get(b, bytes([b]) if b < 0x80 else b'?') for b in body)


def ref_from_utf8(body, mp):
    """nginx's decoder: a lead byte C2..FF takes 1..3 more (a byte < 0x80
    among them ends it as an error, taken too); overlong and beyond
    U+10FFFF are '?'; a mapped code point its byte, else "&#N;"; a sequence
    cut at the end is dropped."""
    back = {}
    for k, v in mp.items():
        back[v.decode('utf-8')] = k
    out, i, n = bytearray(), 0, len(body)
    while i < n:
        c = body[i]
        if c < 0x80:
            out.append(c)
            i += 1
            continue
        if c >= 0xf0:
            u, least, more = c & 7, 0x10000, 3
        elif c >= 0xe0:
            u, least, more = c & 0xf, 0x800, 2
        elif c >= 0xc2:
            u, least, more = c & 0x1f, 0x80, 1
        else:
            out += b'?'
            i += 1
            continue
        if n - i - 1 < more:
            break
        i += 1
        bad = False
        for _ in range(more):
            b = body[i]
            i += 1
            if b < 0x80:
                bad = True
                break
            u = u << 6 | (b & 0x3f)
        if bad or u < least or u > 0x10ffff:
            out += b'?'
        elif u < 0x10000 and chr(u) in back:
            out.append(back[chr(u)])
        else:
            out += b'&#%d;' % u
    return bytes(out)


KOI = bytes(range(0x20, 0x7f)) + bytes(range(0x80, 0x100)) + b'\n'
UTF = ('Привет, мир! Ёё €·— 中文 😀 \u00a0 end\n'.encode() +
       b'bad: \x80 \xc0\xaf \xe0\x80\xaf \xd0Q \xf4\x90\x80\x80 .\n')


def _files(t):
    root = t.tmpdir('csr-')
    for name, data in (('k.html', KOI * 3), ('u.html', UTF * 3), ('u.css', UTF),
                       ('w.html', bytes(range(0x80, 0x100))), ('e.html', b'')):
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
    return root


def test_charset_recode_static(t):
    """Static files recoded as nginx: koi8-r -> utf-8 and back, koi8-r ->
    windows-1251, windows-1251 -> utf-8 with Debian's maps; a listed type
    only; no Content-Length (utf-8) and no ranges then, the validators
    kept; HEAD; gzip after recoding; an empty file."""
    koi_utf, koi_win, win_utf = load_map('koi-utf'), load_map('koi-win'), load_map('win-utf')
    root = _files(t)
    p = t.proxy(INCLUDES + """
types { text/html html; text/css css; }
server {
    listen 127.0.0.1:{port};
    location /k2u/ { charset utf-8; source_charset koi8-r; alias %s/; }
    location /u2k/ { charset koi8-r; source_charset utf-8; alias %s/; }
    location /k2w/ { charset windows-1251; source_charset koi8-r; alias %s/; }
    location /w2u/ { charset utf-8; source_charset windows-1251; alias %s/; }
    location /gz/ { charset utf-8; source_charset koi8-r; alias %s/;
                    gzip on; gzip_min_length 1; }
    location /sub/ { charset utf-8; source_charset koi8-r; alias %s/;
                     sub_filter abc "[Á]"; sub_filter_once off; }
}""" % ((root,) * 6))
    cases = [
        ('/k2u/k.html', 'utf-8', ref_to_utf8(KOI * 3, koi_utf)),
        ('/u2k/u.html', 'koi8-r', ref_from_utf8(UTF * 3, koi_utf)),
        ('/k2w/k.html', 'windows-1251', ref_single(KOI * 3, koi_win)),
        ('/w2u/w.html', 'utf-8', ref_to_utf8(bytes(range(0x80, 0x100)), win_utf)),
    ]
    for path, cs, want in cases:
        r = p.get(path)
        assert r.status == 200, (path, r.status)
        assert r.header('Content-Type') == 'text/html; charset=' + cs, (path, r.headers)
        assert r.body == want, (path, r.body[:200], want[:200])
        assert r.header('ETag') and r.header('Last-Modified'), (path, r.headers)
        if cs == 'utf-8' or path.startswith('/u2k/'):
            assert r.header('Content-Length') is None, (path, r.headers)
            # no length: no ranges either
            r = p.get(path, headers={'Range': 'bytes=0-3'})
            assert (r.status, r.body) == (200, want), path
    # spot checks of the model against Debian's table
    assert ref_to_utf8(b'\xf0\xd2\xc9', koi_utf) == 'При'.encode()
    assert b'&#20013;&#25991; &#128512;' in ref_from_utf8(UTF, koi_utf)
    # an unlisted type goes as it is
    r = p.get('/u2k/u.css')
    assert (r.header('Content-Type'), r.body) == ('text/css', UTF), r.headers
    r = p.req('HEAD', '/k2u/k.html')
    assert r.header('Content-Type') == 'text/html; charset=utf-8'
    assert r.header('Content-Length') is None, r.headers
    r = p.get('/gz/k.html', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert gzip.decompress(r.body) == ref_to_utf8(KOI * 3, koi_utf)
    # sub_filter first (on koi8-r bytes, case ignored), its replacement
    # (the config's UTF-8 bytes C3 81) recoded too
    r = p.get('/sub/k.html')
    subbed = re.sub(rb'(?i)abc', b'[\xc3\x81]', KOI * 3)
    assert r.body == ref_to_utf8(subbed, koi_utf), r.body[:200]
    r = p.get('/k2u/e.html')
    assert (r.status, r.body) == (200, b''), r.headers


def test_charset_recode_proxied(t):
    """Proxied answers: a UTF-8 sequence cut between the upstream's writes
    (1 and 3 bytes at a time), as chunks and close-delimited; the answer's
    own charset as the source under override_charset on (and left alone
    with it off); an encoded answer not recoded and its type kept; charset
    and source_charset from variables."""
    koi_utf = load_map('koi-utf')
    body = UTF * 4
    routes = {
        '/u1': dict(body=body, piece=1, ct='text/html; charset=utf-8'),
        '/u3c': dict(body=body, piece=3, mode='chunked', ct='text/html; charset=utf-8'),
        '/u5x': dict(body=body, piece=5, mode='close', ct='text/html; charset=UTF-8'),
        '/k': dict(body=KOI, ct='text/html'),
        '/kq': dict(body=KOI, ct='text/html; charset="koi8-r"'),
        '/z': dict(body=gzip.compress(KOI), ct='text/html', hdrs=['Content-Encoding: gzip']),
    }
    up = PieceUpstream()
    t.defer(up.close)
    up.routes.update(routes)
    p = t.proxy(INCLUDES + """
proxy_cache_path {prefix}/cache keys_zone=c:1m;
map $arg_cs $cs { default $arg_cs; }
server {
    listen 127.0.0.1:{port};
    location /o/ { charset koi8-r; override_charset on; proxy_pass http://127.0.0.1:%d/; }
    location /n/ { charset koi8-r; proxy_pass http://127.0.0.1:%d/; }
    location /s/ { charset utf-8; source_charset koi8-r; proxy_pass http://127.0.0.1:%d/; }
    location /v/ { charset $cs; source_charset koi8-r; proxy_pass http://127.0.0.1:%d/; }
    location /sv/ { charset utf-8; source_charset $cs; proxy_pass http://127.0.0.1:%d/; }
    location /c/ { charset utf-8; source_charset koi8-r; proxy_cache c;
                   proxy_cache_valid 200 1m; proxy_pass http://127.0.0.1:%d/; }
}""" % ((up.port,) * 6))
    want = ref_from_utf8(body, koi_utf)
    paths = ['/o/u1', '/o/u5x']
    # nginx 1.22 sends this one's body but never ends the chunked answer
    # (a piece held whole as a cut sequence takes the end of the body
    # with it); lbd ends it
    if t.target == 'lbd':
        paths.append('/o/u3c')
    for path in paths:
        r = p.get(path)
        assert r.header('Content-Type') == 'text/html; charset=koi8-r', (path, r.headers)
        assert r.header('Content-Length') is None, (path, r.headers)
        assert r.body == want, (path, r.body[:300])
    r = p.get('/n/u1')
    assert (r.header('Content-Type'), r.body) == ('text/html; charset=utf-8', body)
    r = p.get('/o/kq')  # its own charset is the charset: the type is rewritten
    assert (r.header('Content-Type'), r.body) == ('text/html; charset=koi8-r', KOI)
    k2u = ref_to_utf8(KOI, koi_utf)
    r = p.get('/s/k')
    assert (r.header('Content-Type'), r.body) == ('text/html; charset=utf-8', k2u)
    for _ in range(2):  # a miss, then a hit: recoded alike, no length, no ranges
        r = p.get('/c/k')
        assert (r.header('Content-Type'), r.body) == ('text/html; charset=utf-8', k2u)
        assert r.header('Content-Length') is None and r.header('Accept-Ranges') is None
    r = p.get('/s/z')
    assert (r.header('Content-Type'), r.header('Content-Encoding')) == ('text/html', 'gzip')
    assert gzip.decompress(r.body) == KOI
    for cs, ct, b in (('utf-8', 'text/html; charset=utf-8', k2u),
                      ('UTF-8', 'text/html; charset=UTF-8', k2u),
                      ('koi8-r', 'text/html; charset=koi8-r', KOI),
                      ('', 'text/html', KOI),
                      ('nosuch', 'text/html', KOI)):
        r = p.get('/v/k?cs=' + cs)
        assert (r.header('Content-Type'), r.body) == (ct, b), (cs, r.headers)
    r = p.get('/sv/k?cs=koi8-r')
    assert (r.header('Content-Type'), r.body) == ('text/html; charset=utf-8', k2u)
    r = p.get('/sv/k?cs=windows-1251')  # its own map: cp1251 -> utf-8
    assert r.body == ref_to_utf8(KOI, load_map('win-utf')), r.body[:100]
    r = p.get('/sv/k?cs=nosuch')
    assert (r.header('Content-Type'), r.body) == ('text/html', KOI), r.headers
    assert 'no "charset_map" between the charsets "nosuch" and "utf-8"' in p.logs_text()


def test_charset_recode_config_errors(t):
    """charset_map's -t errors, as nginx's with FILE:LINE; a location
    recoding between charsets no map joins; source_charset off names a
    charset "off"."""
    cases = [
        ('charset_map koi8-r utf-8 { C0 D1; }', 'invalid value "D1"', 'C0 D1'),
        ('charset_map koi8-r utf-8 { C0 41; }', 'invalid value "41"', 'C0 41'),
        ('charset_map koi8-r utf-8 { 1C0 D18E; }', 'invalid value "1C0"', '1C0'),
        ('charset_map a b { C0 100; }', 'invalid value "100"', 'C0 100'),
        ('charset_map a b { C0 C1 C2; }', 'invalid parameters number', 'C0 C1'),
        ('charset_map a b { C0; }', 'invalid parameters number', 'C0;'),
        ('charset_map a b { C0 C1 { } }', 'unexpected "{"', 'C0 C1'),
        ('charset_map koi8-r KOI8-R { }', '"charset_map" between the same charsets '
         '"koi8-r" and "KOI8-R"', 'charset_map'),
        ('charset_map a b { }\ncharset_map B A { }', 'duplicate "charset_map" between '
         '"B" and "A"', 'charset_map B'),
        ('server { location / { charset utf-8; source_charset off; } }',
         'no "charset_map" between the charsets "off" and "utf-8"', None),
        ('charset_map a b { }\nserver { location / { charset c; source_charset b; } }',
         'no "charset_map" between the charsets "b" and "c"', None),
    ]
    for text, want, line in cases:
        p = t.proxy(text + '\nserver { listen 127.0.0.1:{port}; }', start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (text, out)
        if line:
            assert conf_line(p, line) in out, (text, out)
    p = t.proxy(INCLUDES + """
charset_map iso-8859-5 windows-1251 { }
server {
    listen 127.0.0.1:{port};
    location / { charset $arg_x; source_charset $arg_y; override_charset on; }
    location /a/ { charset windows-1251; source_charset utf-8; }
    location /b/ { charset iso-8859-5; source_charset windows-1251; }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stdout + res.stderr


def _parts(r):
    """[(part headers dict, part body)] of a multipart/byteranges answer."""
    b = r.header('Content-Type').split('boundary=')[1].encode()
    out = []
    for chunk in r.body.split(b'\r\n--' + b)[1:]:
        if chunk.startswith(b'--'):
            break
        head, _, body = chunk[2:].partition(b'\r\n\r\n')
        hd = dict(ln.decode().split(': ', 1) for ln in head.split(b'\r\n'))
        out.append((hd, body))
    return out


def test_charset_recode_single_byte_keeps_length(t):
    """Single-byte to single-byte (koi8-r -> windows-1251): the length
    does not change, so Content-Length and byte ranges stay, as nginx's:
    static files (whole, HEAD, one range, several: each part's bytes
    recoded, its type with the charset; a file bigger than one read),
    proxied answers with a length (also cut to a range under
    proxy_force_ranges), cache misses and hits, `return` texts and error
    pages; a chunked answer stays chunked, gzip still compresses the
    recoded bytes."""
    koi_win = load_map('koi-win')
    root = _files(t)
    big = bytes((i * 7 + 3) % 256 for i in range(100000))
    with open(os.path.join(root, 'big.html'), 'wb') as f:
        f.write(big)
    up = PieceUpstream()
    t.defer(up.close)
    ar = ['Accept-Ranges: bytes']
    up.routes.update({
        '/k': dict(body=KOI * 3, ct='text/html'),
        '/kc': dict(body=KOI * 3, ct='text/html', mode='chunked'),
        '/c1': dict(body=KOI * 3, ct='text/html', hdrs=ar),
        '/c2': dict(body=big, ct='text/html', hdrs=ar),
        '/c3': dict(body=KOI * 3, ct='text/html', hdrs=ar),
    })
    p = t.proxy(INCLUDES + """
types { text/html html; }
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location /k2w/ { charset windows-1251; source_charset koi8-r; alias %s/; }
    location /gz/ { charset windows-1251; source_charset koi8-r; alias %s/;
                    gzip on; gzip_min_length 1; }
    location /p/ { charset windows-1251; source_charset koi8-r;
                   proxy_pass http://127.0.0.1:%d/; }
    location /pr/ { charset windows-1251; source_charset koi8-r; proxy_force_ranges on;
                    proxy_pass http://127.0.0.1:%d/; }
    location /c/ { charset windows-1251; source_charset koi8-r; proxy_cache c;
                   proxy_cache_valid 200 1m; proxy_pass http://127.0.0.1:%d/; }
    location /ret { charset windows-1251; source_charset koi8-r; default_type text/html;
                    return 200 "x\u00c1y"; }
    location /nf/ { charset windows-1251; source_charset koi8-r; alias %s/none/; }
}""" % (root, root, up.port, up.port, up.port, root))
    k3 = KOI * 3
    want = ref_single(k3, koi_win)
    wbig = ref_single(big, koi_win)
    ct = 'text/html; charset=windows-1251'

    def whole(path, body):
        r = p.get(path)
        assert (r.status, r.header('Content-Type')) == (200, ct), (path, r.headers)
        assert r.header('Content-Length') == str(len(body)), (path, r.headers)
        assert r.header('Transfer-Encoding') is None, (path, r.headers)
        assert r.body == body, (path, r.body[:100])
        return r

    def ranges(path, src):
        r = p.get(path, headers={'Range': 'bytes=120-130'})
        assert r.status == 206, (path, r.status, r.headers)
        assert r.header('Content-Range') == 'bytes 120-130/%d' % len(src), r.headers
        assert (r.header('Content-Length'), r.body) == ('11', src[120:131]), (path, r.body)
        n = len(src)
        spec = [(0, 10), (100, n // 2), (n - 50, n - 1)]
        r = p.get(path, headers={'Range': 'bytes=' + ','.join('%d-%d' % x for x in spec)})
        assert r.status == 206, (path, r.status)
        parts = _parts(r)
        assert len(parts) == 3, (path, r.body[:300])
        for (a, b), (hd, body) in zip(spec, parts):
            assert hd['Content-Type'] == ct, (path, hd)
            assert hd['Content-Range'] == 'bytes %d-%d/%d' % (a, b, n), (path, hd)
            assert body == src[a:b + 1], (path, a, b)

    whole('/k2w/k.html', want)
    r = p.req('HEAD', '/k2w/k.html')
    assert r.header('Content-Length') == str(len(want)), r.headers
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    ranges('/k2w/k.html', want)
    whole('/k2w/big.html', wbig)
    ranges('/k2w/big.html', wbig)
    # gzip after the recoding: the recoded bytes, compressed
    r = p.get('/gz/k.html', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert gzip.decompress(r.body) == want
    # proxied: the upstream's length stays; chunks stay chunks
    whole('/p/k', want)
    r = p.get('/p/kc')
    assert (r.header('Content-Length'), r.body) == (None, want), r.headers
    r = p.get('/pr/k', headers={'Range': 'bytes=120-130'})
    assert (r.status, r.header('Content-Length'), r.body) == (206, '11', want[120:131])
    # a cache miss, then hits: whole, one range, several
    r = whole('/c/c1', want)
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    whole('/c/c1', want)
    ranges('/c/c1', want)
    whole('/c/c2', wbig)
    ranges('/c/c2', wbig)
    r = p.get('/c/c3', headers={'Range': 'bytes=120-130'})  # a miss, cut
    assert (r.status, r.body) == (206, want[120:131]), (r.status, r.headers)
    # a `return` text and an error page keep their length too
    whole('/ret', ref_single('x\u00c1y'.encode(), koi_win))
    r = p.get('/nf/x')
    assert (r.status, r.header('Content-Length')) == (404, str(len(r.body))), r.headers
    assert r.header('Transfer-Encoding') is None, r.headers


def test_charset_cached_multipart_parts(t):
    """The parts of a multipart range answer from the cache name the
    charset, as the whole answer's type does (nginx's charset header
    filter runs before its range filter); one range keeps its type."""
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/c'] = dict(body=KOI, ct='text/html', hdrs=['Accept-Ranges: bytes'])
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location / { charset utf-8; proxy_cache c; proxy_cache_valid 200 1m;
                 proxy_pass http://127.0.0.1:%d; }
}""" % up.port)
    assert p.get('/c').status == 200  # stored
    r = p.get('/c', headers={'Range': 'bytes=0-3,10-12'})
    assert r.status == 206, r.headers
    assert [hd['Content-Type'] for hd, _ in _parts(r)] == ['text/html; charset=utf-8'] * 2
    assert [b for _, b in _parts(r)] == [KOI[0:4], KOI[10:13]]
    r = p.get('/c', headers={'Range': 'bytes=0-3'})
    assert (r.status, r.header('Content-Type'), r.body) == (206, 'text/html; charset=utf-8',
                                                             KOI[0:4])


def test_charset_multipart_part_heads_recoded(t):
    """A multipart range answer's boundaries and part headers go through
    the charset table too, as nginx's (its charset filter comes after its
    range filter): seen with a charset_map that remaps an ASCII byte ("e"
    to "E"); small parts sent from memory, a big one with the file, a
    cache hit. (lbd before: the parts' bytes only.)"""
    root = t.tmpdir('csmp-')
    big = b'e' * 40000
    with open(os.path.join(root, 'a.html'), 'wb') as f:
        f.write(b'hello eee world')
    with open(os.path.join(root, 'b.html'), 'wb') as f:
        f.write(big)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/c'] = dict(body=b'hello eee world', ct='text/html', hdrs=['Accept-Ranges: bytes'])
    p = t.proxy("""
types { text/html html; }
charset_map x-src x-dst { 65 45; }
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    charset x-dst; source_charset x-src;
    location / { root %s; }
    location /c { proxy_cache c; proxy_cache_valid 200 1m;
                  proxy_pass http://127.0.0.1:%d; }
}""" % (root, up.port))
    assert p.get('/c').status == 200  # stored

    def parts(path, spec, n, bodies):
        r = p.get(path, headers={'Range': 'bytes=' + ','.join('%d-%d' % x for x in spec)})
        assert r.status == 206, (path, r.status)
        b = r.header('Content-Type').split('boundary=')[1].encode()
        want = b''.join(b'\r\n--%s\r\nContEnt-TypE: tExt/html; charsEt=x-dst\r\n'
                        b'ContEnt-RangE: bytEs %d-%d/%d\r\n\r\n%s' % (b, a, z, n, body)
                        for (a, z), body in zip(spec, bodies)) + b'\r\n--%s--\r\n' % b
        assert r.body == want, (path, r.body[:400])
        assert r.header('Content-Length') == str(len(want)), r.headers

    parts('/a.html', [(0, 1), (4, 6)], 15, [b'hE', b'o E'])
    parts('/b.html', [(0, 2), (10, 30009)], 40000, [b'EEE', b'E' * 30000])
    parts('/c', [(0, 1), (4, 6)], 15, [b'hE', b'o E'])


def test_charset_recode_empty_file(t):
    """An empty file recoded to UTF-8 goes chunked (nginx drops the length
    before it sees the body), single-byte keeps Content-Length: 0; an
    empty proxied answer alike."""
    root = _files(t)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/e'] = dict(body=b'', ct='text/html')
    p = t.proxy(INCLUDES + """
types { text/html html; }
server {
    listen 127.0.0.1:{port};
    location /k2u/ { charset utf-8; source_charset koi8-r; alias %s/; }
    location /k2w/ { charset windows-1251; source_charset koi8-r; alias %s/; }
    location /p/ { charset utf-8; source_charset koi8-r; proxy_pass http://127.0.0.1:%d/; }
}""" % (root, root, up.port))
    for path in ('/k2u/e.html', '/p/e'):
        r = p.get(path)
        assert (r.status, r.body) == (200, b''), (path, r.status)
        assert r.header('Content-Type') == 'text/html; charset=utf-8', r.headers
        assert r.header('Transfer-Encoding') == 'chunked', (path, r.headers)
        assert r.header('Content-Length') is None, (path, r.headers)
    r = p.req('HEAD', '/k2u/e.html')
    assert r.header('Content-Length') is None, r.headers
    # the connection goes on after the empty chunked answer
    with p.conn() as cn:
        for path in ('/k2u/e.html', '/k2w/k.html', '/k2u/e.html'):
            r = cn.request('GET', path)
            assert r.status == 200 and r.header('Connection') != 'close', (path, r.headers)
    r = p.get('/k2w/e.html')
    assert (r.header('Content-Length'), r.body) == ('0', b''), r.headers


def test_charset_recode_gzip_static(t):
    """A gzip_static file keeps its type when it would be recoded (nginx
    recodes no encoded body), but gets the charset when nothing is
    recoded."""
    root = t.tmpdir('csr-')
    for name, data in (('g.html', KOI), ('g.html.gz', gzip.compress(KOI))):
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
    p = t.proxy(INCLUDES + """
types { text/html html; }
server {
    listen 127.0.0.1:{port};
    location /gs/ { charset utf-8; source_charset koi8-r; alias %s/; gzip_static on; }
    location /gsn/ { charset utf-8; alias %s/; gzip_static on; }
}""" % (root, root))
    r = p.get('/gs/g.html', headers=AE)
    assert (r.header('Content-Type'), r.header('Content-Encoding')) == ('text/html', 'gzip')
    assert gzip.decompress(r.body) == KOI
    r = p.get('/gsn/g.html', headers=AE)
    assert r.header('Content-Type') == 'text/html; charset=utf-8', r.headers
    assert r.header('Content-Encoding') == 'gzip', r.headers


def test_charset_variable_not_found(t):
    """`charset $x` or `source_charset $x` where $x is not found ($http_X
    without the header; a map's empty value is found) fails the request
    as nginx's header filter does: nothing is sent, the connection is
    closed, the access log has the status and 0 bytes. Static files,
    `return`, an error page, proxied answers; a type not in charset_types
    never looks at the variable, nor does a 304."""
    root = _files(t)
    with open(os.path.join(root, 'k.css'), 'wb') as f:
        f.write(KOI)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/k'] = dict(body=KOI, ct='text/html')
    p = t.proxy(INCLUDES + """
types { text/html html; text/css css; }
server {
    listen 127.0.0.1:{port};
    location /s/ { charset $http_x_cs; alias %s/; }
    location /src/ { charset utf-8; source_charset $http_x_cs; alias %s/; }
    location /r { charset $http_x_cs; default_type text/html; return 200 "hi"; }
    location /e/ { charset $http_x_cs; alias %s/nonexistent/; }
    location /p/ { charset $http_x_cs; proxy_pass http://127.0.0.1:%d/; }
}""" % (root, root, root, up.port))
    for path, status in (('/s/k.html', 200), ('/src/k.html', 200), ('/r', 200),
                         ('/e/x.html', 404), ('/p/k', 200)):
        with p.conn() as cn:
            cn.send(build_request('GET', path))
            assert cn.is_closed(), path
            assert cn.buf == b'', (path, cn.buf[:200])
        line = '"GET %s HTTP/1.1" %d 0 ' % (path, status)
        wait_for(lambda: line in p.access_log(), what=line)
    # found: named, or empty (no charset)
    r = p.get('/s/k.html', headers={'X-Cs': 'utf-8'})
    assert (r.status, r.header('Content-Type')) == (200, 'text/html; charset=utf-8')
    r = p.get('/s/k.html', headers={'X-Cs': ''})
    assert (r.status, r.header('Content-Type')) == (200, 'text/html'), r.headers
    r = p.get('/s/k.css')
    assert (r.status, r.body) == (200, KOI), r.headers
    # a 304 has no type to look at: answered
    tag = p.get('/s/k.html', headers={'X-Cs': 'utf-8'}).header('ETag')
    r = p.get('/s/k.html', headers={'If-None-Match': tag})
    assert r.status == 304, r.headers
