# SPDX-License-Identifier: MIT
"""OCSP stapling (issue 6), same config for nginx and lbd: a test CA, a
server certificate whose Authority Information Access names an OCSP
responder on 127.0.0.1, (answers made with `openssl ocsp`,
served by a small HTTP server here), `ssl_stapling on` with
`ssl_stapling_verify on` and the CA as `ssl_trusted_certificate`. A client
asking for the status (`openssl s_client -status`) gets a stapled, good
answer (nginx fetches on a first handshake and staples the later ones;
lbd fetches at start: both are polled). A revoked certificate is not
stapled (nginx staples only "good"), and a responder that is down leaves
handshakes working without a staple."""

import os
import subprocess
import time

from harness import free_port, wait_for

CONF = """
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    ssl_stapling on;
    ssl_stapling_verify on;
    ssl_trusted_certificate {ca};
    location / { return 200 "ok\\n"; }
}"""


def _run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def _pki(t, ocsp_port, status='V'):
    """CA, a server certificate (serial 1001) pointing at the responder,
    and the responder's index with the certificate's STATUS (V or R)."""
    d = t.tmpdir('ocsp-')
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    _run(['openssl', 'req', '-x509'] + ec + [
        '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=lbd test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], d)
    _run(['openssl', 'req', '-new'] + ec + [
        '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost'], d)
    with open(os.path.join(d, 'ext.cnf'), 'w') as f:
        f.write('authorityInfoAccess = OCSP;URI:http://127.0.0.1:%d\n'
                'subjectAltName = DNS:localhost\n' % ocsp_port)
    _run(['openssl', 'x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
          '-set_serial', '0x1001', '-days', '30', '-out', 'srv.crt', '-extfile', 'ext.cnf'], d)
    end = subprocess.run(['openssl', 'x509', '-in', 'srv.crt', '-noout', '-enddate'], cwd=d,
                         check=True, capture_output=True, text=True).stdout
    exp = time.strftime('%y%m%d%H%M%SZ', time.strptime(end.strip().split('=', 1)[1],
                                                        '%b %d %H:%M:%S %Y GMT'))
    revoked = time.strftime('%y%m%d%H%M%SZ', time.gmtime(time.time() - 3600)) \
        if status == 'R' else ''
    with open(os.path.join(d, 'index.txt'), 'w') as f:
        f.write('%s\t%s\t%s\t1001\tunknown\t/CN=localhost\n' % (status, exp, revoked))
    with open(os.path.join(d, 'chain.pem'), 'w') as out:
        for n in ('srv.crt', 'ca.crt'):
            with open(os.path.join(d, n)) as f:
                out.write(f.read())
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o644)
    return d


class _Responder:
    """An OCSP responder on 127.0.0.1: the answer is made once with
    `openssl ocsp` (signed by the CA, from the index) and served to every
    request, as a responder without nonces would."""

    def __init__(self, t, d, port):
        import http.server
        import threading
        _run(['openssl', 'ocsp', '-issuer', 'ca.crt', '-cert', 'srv.crt', '-no_nonce',
              '-reqout', 'req.der'], d)
        _run(['openssl', 'ocsp', '-index', 'index.txt', '-rsigner', 'ca.crt', '-rkey',
              'ca.key', '-CA', 'ca.crt', '-reqin', 'req.der', '-respout', 'resp.der',
              '-ndays', '1'], d)
        with open(os.path.join(d, 'resp.der'), 'rb') as f:
            der = f.read()
        self.requests = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # nginx asks with GET /BASE64 (RFC 6960 A.1)
                outer.requests += 1
                self._answer()

            def do_POST(self):  # lbd with POST
                self.rfile.read(int(self.headers.get('Content-Length', '0')))
                outer.requests += 1
                self._answer()

            def _answer(self):
                self.send_response(200)
                self.send_header('Content-Type', 'application/ocsp-response')
                self.send_header('Content-Length', str(len(der)))
                self.end_headers()
                self.wfile.write(der)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        t.defer(self.close)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def _responder(t, d, port):
    return _Responder(t, d, port)


def _status(port, ca):
    r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port,
                        '-servername', 'localhost', '-status', '-CAfile', ca],
                       input=b'', capture_output=True, timeout=20)
    return r.stdout.decode('latin1')


def test_ocsp_stapled_good(t):
    oport = free_port()
    d = _pki(t, oport)
    _responder(t, d, oport)
    p = t.proxy(CONF, chain=os.path.join(d, 'chain.pem'), key=os.path.join(d, 'srv.key'),
                ca=os.path.join(d, 'ca.crt'))
    out = ['']

    def stapled():
        out[0] = _status(p.port, os.path.join(d, 'ca.crt'))
        return 'OCSP Response Status: successful' in out[0]
    wait_for(stapled, 15, interval=0.3, what='a stapled OCSP answer')
    assert 'Cert Status: good' in out[0], out[0]
    assert 'Verify return code: 0 (ok)' in out[0], out[0]


def test_ocsp_revoked_not_stapled(t):
    oport = free_port()
    d = _pki(t, oport, status='R')
    _responder(t, d, oport)
    p = t.proxy(CONF, chain=os.path.join(d, 'chain.pem'), key=os.path.join(d, 'srv.key'),
                ca=os.path.join(d, 'ca.crt'))
    # the server asks (nginx: on the first handshake), gets "revoked", logs it
    _status(p.port, os.path.join(d, 'ca.crt'))
    wait_for(lambda: 'certificate status "revoked" in the OCSP response' in p.logs_text(),
             15, interval=0.3, what='the revoked status in the error log')
    out = _status(p.port, os.path.join(d, 'ca.crt'))
    assert 'OCSP response: no response sent' in out, out


def test_ocsp_responder_down_serves_without_staple(t):
    oport = free_port()  # nothing listens there
    d = _pki(t, oport)
    p = t.proxy(CONF, chain=os.path.join(d, 'chain.pem'), key=os.path.join(d, 'srv.key'),
                ca=os.path.join(d, 'ca.crt'))
    for _ in range(3):
        out = _status(p.port, os.path.join(d, 'ca.crt'))
        assert 'OCSP response: no response sent' in out, out
        assert 'Verify return code: 0 (ok)' in out, out
        time.sleep(0.3)
