# SPDX-License-Identifier: MIT
"""testssl.sh (Debian's `testssl`) against lbd's default TLS settings
(issue 6): no finding above LOW except those about the test's self-signed
certificate, SSLv2/SSLv3/TLS 1.0/TLS 1.1 not offered, TLS 1.2 and 1.3
offered, no NULL/anonymous/export/LOW/3DES/RC4 suites, forward secrecy,
no renegotiation, no compression. lbd only: the claim is about lbd's
defaults (nginx 1.22's default ssl_protocols still include TLS 1.0 and
1.1)."""

import json
import os
import shutil
import subprocess

from test_tls import make_cert

CONF = """
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    location / { return 200 "ok\\n"; }
}"""

# findings testssl reports about the certificate itself: a test certificate
# is self-signed, short-lived and has no revocation information
CERT_IDS = ('cert_', 'intermediate_cert', 'chain_of_trust')


def test_default_tls_settings(t):
    if t.is_nginx:
        t.skip("lbd's defaults (nginx 1.22's include TLS 1.0/1.1)")
    exe = shutil.which('testssl') or shutil.which('testssl.sh')
    assert exe, 'testssl not installed (scripts/deps.sh installs testssl.sh)'
    d = t.tmpdir('testssl-')
    crt, key = make_cert(t, d, 'srv', 'localhost')
    p = t.proxy(CONF, crt=crt, key=key)
    out = os.path.join(d, 'out.json')
    # protocols, cipher categories, forward secrecy, server defaults and the
    # vulnerability checks; --warnings off: no interactive questions
    r = subprocess.run([exe, '--quiet', '--color', '0', '--warnings', 'off',
                        '--openssl-timeout', '10', '-p', '-s', '-f', '-S',
                        '-U', '--jsonfile', out, '127.0.0.1:%d' % p.port],
                       capture_output=True, timeout=280)
    assert os.path.exists(out), r.stdout[-2000:] + r.stderr[-2000:]
    with open(out) as f:
        found = {x['id']: x for x in json.load(f)}
    bad = ['%s %s: %s' % (i, x['severity'], x['finding'])
           for i, x in found.items()
           if x['severity'] in ('MEDIUM', 'HIGH', 'CRITICAL')
           and not i.startswith(CERT_IDS)]
    assert not bad, 'findings above LOW:\n' + '\n'.join(bad)
    for proto in ('SSLv2', 'SSLv3', 'TLS1', 'TLS1_1'):
        assert 'not offered' in found[proto]['finding'], found[proto]
    for proto in ('TLS1_2', 'TLS1_3'):
        assert found[proto]['finding'].startswith('offered'), found[proto]
    assert 'not vulnerable' in found['BREACH']['finding'], found['BREACH']
    for cat in ('cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT',
                'cipherlist_LOW', 'cipherlist_3DES_IDEA'):
        assert 'not offered' in found[cat]['finding'], found[cat]
    assert found['PFS']['finding'].startswith('offered'), found['PFS']
    assert found['cipherlist_AVERAGE']['finding'].startswith('not offered')
    assert 'not vulnerable' in found['CRIME_TLS']['finding'], \
        found['CRIME_TLS']
    assert 'not vulnerable' in found['secure_client_renego']['finding'], \
        found['secure_client_renego']


test_default_tls_settings.timeout = 300
