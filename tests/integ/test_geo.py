"""nginx's geo module: `geo [$address] $variable { ... }` with IPv4 and
IPv6 networks, the longest one holding the address winning, `default`,
`delete`, single addresses, IPv4-mapped IPv6 looked up as IPv4, text that
is no address looked up as 255.255.255.255, $remote_addr after realip by
default; and the -t errors and warnings."""
from harness import Conn


def _get(p, path, src='127.0.0.1', headers=()):
    with Conn(p.port, source=src) as c:
        return c.request('GET', path, [('Host', 'x')] + list(headers), host=None)


def test_geo_lookup(t):
    inc = t.tmpdir('geo-') + '/nets.conf'
    with open(inc, 'w') as f:
        f.write('172.16.0.0/12 private;\n10.2.0.0/16 ten2;\n')
    p = t.proxy(r"""
geo $g {
    default def;
    127.0.0.0/8 loop;
    127.0.0.2 two;
    10.0.0.0/8 ten;
    10.1.0.0/16 ten1;
    10.1.2.0/24 ten12;
    delete 10.1.0.0/16;
    ::1 six;
    include %s;
}
geo $http_x_ip $h {
    default none;
    192.168.0.0/16 lan;
    192.168.1.0/24 lan1;
    192.168.1.128/25 lan1hi;
    2001:db8::/32 doc;
    2001:db8:1::/48 doc1;
    ::/0 any6;
    255.255.255.255 bcast;
}
server {
    listen 127.0.0.1:{port};
    set_real_ip_from 127.0.0.3;
    real_ip_header X-Real-IP;
    location / { return 200 "$g|$h"; }
}""" % inc)
    cases = [
        ('127.0.0.1', {}, 'loop|bcast'),
        ('127.0.0.2', {}, 'two|bcast'),
        # realip first: $remote_addr is the real client's
        ('127.0.0.3', {'X-Real-IP': '10.9.9.9'}, 'ten|bcast'),
        ('127.0.0.3', {'X-Real-IP': '10.1.9.9'}, 'ten|bcast'),
        ('127.0.0.3', {'X-Real-IP': '10.1.2.3'}, 'ten12|bcast'),
        ('127.0.0.3', {'X-Real-IP': '8.8.8.8'}, 'def|bcast'),
        ('127.0.0.3', {'X-Real-IP': '172.20.1.1'}, 'private|bcast'),
        ('127.0.0.3', {'X-Real-IP': '10.2.0.1'}, 'ten2|bcast'),
        ('127.0.0.3', {'X-Real-IP': '::1'}, 'six|bcast'),
        ('127.0.0.3', {'X-Real-IP': '2001:db8::5'}, 'def|bcast'),
        ('127.0.0.1', {'X-IP': '192.168.1.5'}, 'loop|lan1'),
        ('127.0.0.1', {'X-IP': '192.168.1.200'}, 'loop|lan1hi'),
        ('127.0.0.1', {'X-IP': '192.168.2.1'}, 'loop|lan'),
        ('127.0.0.1', {'X-IP': '8.8.8.8'}, 'loop|none'),
        ('127.0.0.1', {'X-IP': '2001:db8::1'}, 'loop|doc'),
        ('127.0.0.1', {'X-IP': '2001:db8:1:2::1'}, 'loop|doc1'),
        ('127.0.0.1', {'X-IP': '2001:dead::1'}, 'loop|any6'),
        ('127.0.0.1', {'X-IP': '::ffff:192.168.1.9'}, 'loop|lan1'),
        ('127.0.0.1', {'X-IP': 'garbage'}, 'loop|bcast'),
        ('127.0.0.1', {'X-IP': '192.168.1.5 '}, 'loop|lan1'),
    ]
    for src, hdrs, want in cases:
        r = _get(p, '/', src, hdrs.items())
        assert (r.status, r.body.decode()) == (200, want), (src, hdrs, r.body)


def test_geo_config_errors_and_warnings(t):
    cases = [
        ('geo $a { 10.0.0.0/33 x; }', 'invalid network "10.0.0.0/33"', '10.0.0.0/33'),
        ('geo $a { 10.0.0.300 x; }', 'invalid network "10.0.0.300"', '10.0.0.300'),
        ('geo $a { 10.0.0.0/8 x y; }', 'invalid number of the geo parameters', 'x y;'),
        ('geo $a { delete 1.2.3; }', 'invalid network "1.2.3"', 'delete'),
        ('geo a { }', 'invalid variable name "a"', 'geo a'),
        ('geo $a $b $c { }', 'invalid number of arguments in "geo" directive', 'geo $a'),
    ]
    for text, want, where in cases:
        p = t.proxy("""
%s
server { listen 127.0.0.1:{port}; }""" % text, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        line = [i for i, ln in enumerate(p.read('conf', 'nginx.conf').splitlines(), 1)
                if where in ln][0]
        assert res.returncode != 0 and want in out, (text, out)
        assert 'nginx.conf:%d' % line in out, (text, out)
    p = t.proxy("""
geo $a {
    10.0.0.1/8 x;
    10.0.0.0/8 y;
    delete 11.0.0.0/8;
}
server { listen 127.0.0.1:{port}; }""", start=False)
    p.write_conf()
    res = p.run('-t')
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for want in ('low address bits of 10.0.0.1/8 are meaningless',
                 'duplicate network "10.0.0.0/8", value: "y", old value: "x"',
                 'no network "11.0.0.0/8" to delete'):
        assert want in out, (want, out)


def test_geo_proxy(t):
    """`proxy CIDR`: from a trusted peer the address is X-Forwarded-For's
    last one; with `proxy_recursive` trusted addresses are skipped
    leftwards; with a source variable given, proxies do not apply."""
    p = t.proxy(r"""
geo $g {
    default none;
    proxy 127.0.0.1;
    10.0.0.0/8 ten;
    127.0.0.0/8 loop;
    192.168.0.0/16 lan;
}
geo $r {
    default none;
    proxy 127.0.0.1;
    proxy 192.168.0.0/16;
    proxy_recursive;
    10.0.0.0/8 ten;
    192.168.0.0/16 lan;
}
geo $arg_ip $s {
    default none;
    proxy 127.0.0.1;
    10.0.0.0/8 ten;
}
server {
    listen 127.0.0.1:{port};
    location / { return 200 "$g $r $s\n"; }
}""")
    cases = (
        ((), '/', 'loop none none'),
        ((('X-Forwarded-For', '10.1.1.1'),), '/', 'ten ten none'),
        ((('X-Forwarded-For', '10.1.1.1, 192.168.1.1'),), '/', 'lan ten none'),
        ((('X-Forwarded-For', '10.1.1.1'), ('X-Forwarded-For', '192.168.1.1')), '/',
         'lan ten none'),
        ((('X-Forwarded-For', '172.16.0.1, 192.168.1.1, 192.168.2.2'),), '/',
         'lan none none'),
        ((('X-Forwarded-For', 'garbage'),), '/', 'loop none none'),
        ((('X-Forwarded-For', '192.168.1.1'),), '/?ip=10.0.0.5', 'lan lan ten'),
    )
    for hdrs, path, want in cases:
        body = _get(p, path, headers=hdrs).body.decode().strip()
        assert body == want, (hdrs, path, body, want)
    if t.is_nginx:
        return
    for text, want in (('proxy 10.0.0.0/33;', 'invalid network "10.0.0.0/33"'),):
        q = t.proxy("""
geo $a {
    %s
}
server { listen 127.0.0.1:{port}; }""" % text, start=False)
        q.write_conf()
        res = q.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, out


def test_geo_ranges(t):
    """`ranges`: START-END lines (IPv4); a range inside another wins
    there (nginx splits the outer one), boundaries exact, `delete` of a
    range, `default`; an IPv6 address or no address gets the default;
    the -t errors and warnings."""
    p = t.proxy(r"""
geo $arg_ip $g {
    ranges;
    default none;
    10.0.0.0-10.255.255.255 ten;
    10.1.0.0-10.1.255.255 ten1;
    10.1.2.3-10.1.2.3 one;
    192.168.1.5-192.168.1.200 lan;
    172.16.0.0-172.16.0.255 gone;
    delete 172.16.0.0-172.16.0.255;
    0.0.0.0-0.0.0.255 zero;
    255.255.255.0-255.255.255.254 top;
}
server {
    listen 127.0.0.1:{port};
    location / { return 200 "$g\n"; }
}""")
    cases = {
        '10.0.0.0': 'ten', '10.255.255.255': 'ten', '11.0.0.0': 'none',
        '9.255.255.255': 'none', '10.1.0.0': 'ten1', '10.1.255.255': 'ten1',
        '10.2.0.0': 'ten', '10.1.2.3': 'one', '10.1.2.2': 'ten1', '10.1.2.4': 'ten1',
        '192.168.1.4': 'none', '192.168.1.5': 'lan', '192.168.1.128': 'lan',
        '192.168.1.200': 'lan', '192.168.1.201': 'none', '172.16.0.7': 'none',
        '0.0.0.0': 'zero', '0.0.0.255': 'zero', '255.255.255.254': 'top',
        '255.255.255.255': 'none',
        '::1': 'none', 'garbage': 'none', '': 'none',
    }
    got = {ip: p.get('/?ip=' + ip).body.decode().strip() for ip in cases}
    assert got == cases, {k: (v, cases[k]) for k, v in got.items() if v != cases[k]}
    for text, want in (
            ('ranges;\n    10.0.0.0/8 x;', None),
            ('10.0.0.0/8 x;\n    ranges;',
             'the "ranges" directive must be the first directive inside "geo" block'),
            ('ranges;\n    10.0.0.9-10.0.0.1 x;', 'invalid range "10.0.0.9-10.0.0.1"'),
            ('ranges;\n    1.0.0.0-255.255.255.255 x;', 'invalid range "1.0.0.0-255.255.255.255"'),
            ('ranges;\n    10.0.0.0-10.0.0.9 x;\n    10.0.0.0-10.0.0.9 y;',
             'duplicate range "10.0.0.0-10.0.0.9", value: "y", old value: "x"'),
            ('ranges;\n    delete 10.0.0.0-10.0.0.9;', 'no address range "10.0.0.0-10.0.0.9" to delete')):
        q = t.proxy("""
geo $a {
    %s
}
server { listen 127.0.0.1:{port}; }""" % text, start=False)
        q.write_conf()
        res = q.run('-t')
        out = res.stdout + res.stderr
        if want is None:
            assert res.returncode != 0 and 'invalid range "10.0.0.0/8"' in out, out
        else:
            assert want in out, (text, out)
