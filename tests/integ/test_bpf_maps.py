# SPDX-License-Identifier: MIT
"""The upstream table mirrored into a pinned BPF map: `bpftool map dump
pinned DIR/lb_upstreams` shows each server with BTF-readable fields, a
weight changed with lbctl shows up, and a restarted lbd reuses the map."""

import json
import os
import shutil
import subprocess
import uuid

from harness import wait_for

UPSTREAM = """
upstream app {
    server 127.0.0.1:{b1} weight=3;
    server 127.0.0.1:{b2} backup;
}
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}"""


def _dump(pin):
    r = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned',
                        os.path.join(pin, 'lb_upstreams')],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    # -j prints raw bytes in key/value and the BTF view in 'formatted'
    return {e['formatted']['key']['server']: e['formatted']['value']
            for e in json.loads(r.stdout)}


def _map_id(pin):
    r = subprocess.run(['bpftool', '-j', 'map', 'show', 'pinned',
                        os.path.join(pin, 'lb_upstreams')],
                       capture_output=True, text=True, timeout=10)
    return json.loads(r.stdout)['id'] if r.returncode == 0 else None


def test_upstream_table_in_pinned_map(t):
    if t.target != 'lbd':
        t.skip('lbd\'s own BPF maps')
    pin = '/sys/fs/bpf/lbd-test-%s' % uuid.uuid4().hex[:12]
    t.defer(lambda: shutil.rmtree(pin, ignore_errors=True))
    b1, b2 = t.backends('b1', 'b2')
    main = 'bpf_pin_path %s;' % pin
    p = t.proxy(UPSTREAM, main=main, b1=b1, b2=b2)
    s1, s2 = '127.0.0.1:%d' % b1.port, '127.0.0.1:%d' % b2.port
    m = wait_for(lambda: (_dump(pin) or {}).get(s2) and _dump(pin), timeout=5,
                 what='lb_upstreams filled')
    assert m[s1]['port'] == b1.port and m[s1]['family'] == 2, m
    assert m[s1]['addr'][:4] == [127, 0, 0, 1], m
    assert m[s1]['weight'] == 3 and m[s1]['state'] == 0, m   # up
    assert m[s2]['state'] == 5, m                             # backup
    for _ in range(4):
        assert p.get('/').status == 200
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'upstream',
                        'set-weight', 'app', s1, '7'],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    m = wait_for(lambda: (_dump(pin) or {}).get(s1, {}).get('weight') == 7
                 and _dump(pin), timeout=5, what='weight 7 mirrored')
    assert m[s1]['requests'] == 4, m
    first = _map_id(pin)
    p.stop()
    # the map outlives lbd; a new lbd reuses it (same id)
    assert _map_id(pin) == first
    p2 = t.proxy(UPSTREAM, main=main, b1=b1, b2=b2)
    wait_for(lambda: (_dump(pin) or {}).get(s1, {}).get('weight') == 3,
             timeout=5, what='the restarted lbd mirrors its own weights')
    assert _map_id(pin) == first
    p2.stop()
