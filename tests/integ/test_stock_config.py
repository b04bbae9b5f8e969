# SPDX-License-Identifier: MIT
"""Debian's stock /etc/nginx/nginx.conf, unchanged but for its absolute
paths, with the guide's Scenario A reverse-proxy site in sites-enabled/:
both nginx and lbd start from it and proxy to the backend."""

import os
import shutil

STOCK = '/etc/nginx'

SITE = """server {
    listen 127.0.0.1:{port};
    server_name yourdomain.com www.yourdomain.com;
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 60s;
        proxy_send_timeout 60s;
        proxy_read_timeout 60s;
    }
}
"""


def test_debian_stock_config_with_proxy_site(t):
    assert os.path.isfile(os.path.join(STOCK, 'nginx.conf')), \
        'Debian nginx package missing (scripts/deps.sh installs nginx-light)'
    b1 = t.backend('b1')
    with open(os.path.join(STOCK, 'nginx.conf')) as f:
        stock = f.read()
    p = t.proxy(conf='', start=False)
    conf = p.path('conf')
    shutil.rmtree(conf)
    shutil.copytree(STOCK, conf, symlinks=False)
    sites = os.path.join(conf, 'sites-enabled')
    shutil.rmtree(sites, ignore_errors=True)
    os.makedirs(sites)
    with open(os.path.join(sites, 'yourdomain.com'), 'w') as f:
        f.write(SITE)
    text = (stock.replace('/etc/nginx/', '{prefix}/conf/')
            .replace('/var/log/nginx/', '{prefix}/logs/')
            .replace('/run/nginx.pid', '{prefix}/logs/nginx.pid'))
    # the daemon must stay in the foreground for the harness
    p.template = 'daemon off;\n' + text
    # the site file is included verbatim: render its placeholders now
    p._alloc_ports(SITE)
    with open(os.path.join(sites, 'yourdomain.com'), 'w') as f:
        f.write(SITE.replace('{port}', str(p.subs['port']))
                .replace('{b1}', str(b1.port)))
    # Debian's module snippets load "modules/*.so" relative to nginx's
    # compiled-in prefix; give our prefix the same directory.
    for mods in ('/usr/share/nginx/modules', '/usr/lib/nginx/modules'):
        if os.path.isdir(mods):
            os.symlink(mods, p.path('modules'))
            break
    p.start()
    r = p.get('/hello', host='yourdomain.com')
    assert r.status == 200 and r.backend == 'b1', r
    seen = b1.requests[-1]
    assert seen.header('Host') == 'yourdomain.com', seen.raw_head
    assert seen.header('X-Forwarded-Proto') == 'http', seen.raw_head
    assert seen.header('X-Real-IP') == '127.0.0.1', seen.raw_head
    assert os.path.getsize(p.path('logs', 'access.log')) > 0 or \
        _wait_log(p), 'nothing in the stock access_log'


def _wait_log(p):
    from harness import wait_for
    wait_for(lambda: os.path.getsize(p.path('logs', 'access.log')) > 0,
             what='an access log line')
    return True
