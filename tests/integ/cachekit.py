# SPDX-License-Identifier: MIT
"""What the cache tests of the FastCGI, uwsgi and SCGI modules share
(test_fastcgi_cache.py, test_uwsgi_cache.py): the X-Cache header every
site adds, the run counter and the seen-params record an app keeps in its
document root (a HIT is a request the app never saw), waiting for an
entry to expire, and the -t checks (errors, the missing key's warning)."""

import hashlib
import json
import os

from harness import wait_for

HDR = 'add_header X-Cache $upstream_cache_status always;'


def xc(r):
    """$upstream_cache_status as the site's add_header sent it (None
    when the request did not use the cache)."""
    return r.header('X-Cache')


def runs(root, k):
    """How many times the app ran for key K (its hits-K file)."""
    try:
        with open(os.path.join(root, 'hits-' + k)) as f:
            return int(f.read())
    except OSError:
        return 0


def seen(root, k):
    """The params the app saw on its last run for key K (seen-K, JSON)."""
    with open(os.path.join(root, 'seen-' + k)) as f:
        return json.loads(f.read())


def entry_path(p, zone_dir, key):
    """Where nginx (and lbd) keep KEY's entry in {prefix}/ZONE_DIR with
    levels=1:2: the md5's last hex digit, then the two before it."""
    h = hashlib.md5(key).hexdigest()
    return os.path.join(p.prefix, zone_dir, h[-1], h[-3:-1], h)


def until_not_hit(p, path, what='entry expired', timeout=10):
    """GET PATH until the answer is not a HIT (the entry expired); that
    answer."""
    return wait_for(lambda: (lambda r: r if xc(r) != 'HIT' else None)(p.get(path)),
                    timeout=timeout, what=what)


def until_hit(p, path, what='HIT', timeout=15):
    return wait_for(lambda: (lambda r: r if xc(r) == 'HIT' else None)(p.get(path)),
                    timeout=timeout, what=what)


def config_errors(t, cases):
    """Each (config, message) of CASES fails -t with MESSAGE % the config
    file's path in its stderr."""
    for conf, msg in cases:
        p = t.proxy(conf, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg % p.conf_path in r.stderr, (msg, r.stderr)


def missing_key_warns(p, mod):
    """P's config (written, not started) has MOD_cache without
    MOD_cache_key: nginx 1.22's -t passes with its warning."""
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    assert 'no "%s_cache_key" for "%s_cache" in %s:' % (mod, mod, p.conf_path) in r.stderr, \
        r.stderr
