"""nginx's split_clients: the same keys land in the same buckets as with
nginx (MurmurHash2 of the evaluated string against cumulative bounds),
checked for 400 keys over 40 buckets, against this file's own MurmurHash2
as well; `*`, a total under 100% (the rest empty), and the -t errors."""
import urllib.parse

M32 = 0xffffffff


def murmur2(data):
    """nginx's ngx_murmur_hash2 (MurmurHash2, seed 0)."""
    m, h, i, n = 0x5bd1e995, len(data) & M32, 0, len(data)
    while n >= 4:
        k = int.from_bytes(data[i:i + 4], 'little')
        k = (k * m) & M32
        k ^= k >> 24
        k = (k * m) & M32
        h = ((h * m) & M32) ^ k
        i, n = i + 4, n - 4
    if n == 3:
        h ^= data[i + 2] << 16
    if n >= 2:
        h ^= data[i + 1] << 8
    if n >= 1:
        h ^= data[i]
        h = (h * m) & M32
    h ^= h >> 13
    h = (h * m) & M32
    h ^= h >> 15
    return h


def bucket(parts, key):
    h, last = murmur2(key), 0
    for pct, val in parts:
        if pct is None:
            return val
        last += pct * 0xffffffff // 10000
        if h < last:
            return val
    return ''


def test_split_clients_same_buckets_as_nginx(t):
    # 40 buckets: 39 of 2.37% (92.43%) and the rest
    parts = [(237, 'b%d' % i) for i in range(39)] + [(None, 'rest')]
    lines = '\n'.join('    %s %s;' % ('*' if p is None else '%d.%02d%%' % (p // 100, p % 100), v)
                      for p, v in parts)
    p = t.proxy("""
split_clients "${arg_k}-salt" $bucket {
%s
}
split_clients $arg_k $half {
    50%% one;
}
server {
    listen 127.0.0.1:{port};
    location / { return 200 "$bucket|$half"; }
}""" % lines)
    seen = set()
    for i in range(400):
        key = 'user%d@example.com' % (i * 7919) if i % 3 else str(i)
        q = urllib.parse.quote(key)  # $arg_k is the argument as sent
        r = p.get('/?k=' + q)
        want = '%s|%s' % (bucket(parts, (q + '-salt').encode()),
                          bucket([(5000, 'one')], q.encode()))
        assert (r.status, r.body.decode()) == (200, want), (key, r.body)
        seen.add(want)
    assert len(seen) > 40  # the keys spread over the buckets


def test_split_clients_config_errors(t):
    cases = [
        ('split_clients $remote_addr $a {\n    10.555% x;\n}', 'invalid percent value "10.555%"',
         '10.555%'),
        ('split_clients $remote_addr $a {\n    10 x;\n}', 'invalid percent value "10"', '10 x'),
        ('split_clients $remote_addr $a {\n    0% x;\n}', 'invalid percent value "0%"', '0% x'),
        ('split_clients $remote_addr $a {\n    -1% x;\n}', 'invalid percent value "-1%"', '-1%'),
        ('split_clients $remote_addr $a {\n    1.2.3% x;\n}', 'invalid percent value "1.2.3%"',
         '1.2.3%'),
        ('split_clients $remote_addr $a {\n    60% x;\n    50% y;\n}',
         'percent total is greater than 100%', '}'),
        ('split_clients $remote_addr $a {\n    * x;\n    10% y;\n}',
         'percent total is greater than 100%', '}'),
        ('split_clients $remote_addr a {\n}', 'invalid variable name "a"', 'split_clients'),
    ]
    for text, want, where in cases:
        p = t.proxy("""
%s
server { listen 127.0.0.1:{port}; }""" % text, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        conf = p.read('conf', 'nginx.conf').splitlines()
        start = [i for i, ln in enumerate(conf, 1) if 'split_clients' in ln][0]
        line = [i for i, ln in enumerate(conf, 1) if where in ln and i >= start][0]
        assert res.returncode != 0 and want in out, (text, out)
        assert 'nginx.conf:%d' % line in out, (text, out)
    p = t.proxy("""
split_clients $remote_addr $a {
    100.00% x;
    * y;
}
server { listen 127.0.0.1:{port}; }""", start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stdout + res.stderr
