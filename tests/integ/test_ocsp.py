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
handshakes working without a staple.

ssl_stapling_file and ssl_stapling_responder (nginx 1.22, probed): the
file's DER answer is stapled as it is, with no check at all (an answer
for another certificate, an expired or a revoked one is stapled too) and
no responder is asked; a file that does not parse fails `-t`
(`d2i_OCSP_RESPONSE_bio("FILE") failed`); without `ssl_stapling on` the
file is not even read. ssl_stapling_responder replaces the certificate's
responder URL; anything but http:// is warned about ("invalid URL prefix
in OCSP responder") and that certificate is not stapled.

ssl_ocsp (client certificates, nginx 1.22 probed): with ssl_verify_client
on|optional the status of the client's chain (`leaf`: its own
certificate) is asked after the handshake; revoked, unknown or a failed
request fail the request with the 400 page "The SSL certificate error"
(495 for error_page) and `$ssl_client_verify` "FAILED:certificate
revoked" / "FAILED:certificate status unknown" / "FAILED:certificate
status request failed"; ssl_ocsp_cache keeps answers so that a
certificate is asked about once. The responder here signs each answer
with the certificate's issuer (python's cryptography); nginx asks with
GET, lbd with POST."""

import datetime
import os
import signal
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


def _ocsp_server(t, port, answer):
    """An HTTP server on 127.0.0.1:PORT answering OCSP requests with
    ANSWER(request DER) -> response DER: nginx asks with GET /BASE64
    (RFC 6960 A.1), lbd with POST. Stopped when the test ends."""
    import base64
    import http.server
    import threading
    import urllib.parse

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self._send(answer(base64.b64decode(
                urllib.parse.unquote(self.path.rsplit('/', 1)[1]))))

        def do_POST(self):
            self._send(answer(self.rfile.read(int(self.headers.get('Content-Length', '0')))))

        def _send(self, body):
            self.send_response(200)
            self.send_header('Content-Type', 'application/ocsp-response')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:
                pass  # the asker gave up (a stop while a question was out)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def close():
        srv.shutdown()
        srv.server_close()
    t.defer(close)
    return srv


class _Responder:
    """An OCSP responder on 127.0.0.1: the answer is made once with
    `openssl ocsp` (signed by the CA, from the index) and served to every
    request, as a responder without nonces would."""

    def __init__(self, t, d, port):
        _run(['openssl', 'ocsp', '-issuer', 'ca.crt', '-cert', 'srv.crt', '-no_nonce',
              '-reqout', 'req.der'], d)
        _run(['openssl', 'ocsp', '-index', 'index.txt', '-rsigner', 'ca.crt', '-rkey',
              'ca.key', '-CA', 'ca.crt', '-reqin', 'req.der', '-respout', 'resp.der',
              '-ndays', '1'], d)
        with open(os.path.join(d, 'resp.der'), 'rb') as f:
            der = f.read()
        self.requests = 0
        outer = self

        def answer(_req):
            outer.requests += 1
            return der
        _ocsp_server(t, port, answer)


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
    if not t.is_nginx:  # lbd's control socket says how many have an answer
        r = subprocess.run([os.path.join(os.path.dirname(t.bin), 'lbctl'), '-s',
                            p.path('logs', 'lbd.sock'), 'status'], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=20)
        assert 'ocsp stapling: 1 of 1 certificates have an answer' in r.stdout, r


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


# ---- ssl_stapling_file, ssl_stapling_responder ---------------------------------

FILE_CONF = """
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    ssl_stapling %s;
    ssl_stapling_file {file};
    location / { return 200 "ok\\n"; }
}"""


def _other_cert(d, ocsp_port):
    """A second certificate of the CA (serial 1002), same responder."""
    _run(['openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
          '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=other'], d)
    _run(['openssl', 'x509', '-req', '-in', 'other.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
          '-set_serial', '0x1002', '-days', '30', '-out', 'other.crt', '-extfile', 'ext.cnf'],
         d)


def _answer_file(d, cert, name, expired=False):
    """D/NAME: a good OCSP answer for CERT signed by the CA; EXPIRED: its
    nextUpdate a day ago (python's cryptography: `openssl ocsp` only
    dates answers from now)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    def load(n):
        with open(os.path.join(d, n), 'rb') as f:
            return f.read()
    ca = x509.load_pem_x509_certificate(load('ca.crt'))
    key = serialization.load_pem_private_key(load('ca.key'), None)
    now = datetime.datetime.utcnow().replace(microsecond=0)
    this, nxt = ((now - datetime.timedelta(days=2), now - datetime.timedelta(days=1))
                 if expired else (now - datetime.timedelta(minutes=1),
                                  now + datetime.timedelta(days=1)))
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=x509.load_pem_x509_certificate(load(cert)), issuer=ca, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD, this_update=this, next_update=nxt,
        revocation_time=None, revocation_reason=None).responder_id(
        ocsp.OCSPResponderEncoding.HASH, ca)
    path = os.path.join(d, name)
    with open(path, 'wb') as f:
        f.write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    os.chmod(path, 0o644)
    return path


def _file_proxy(t, d, path, stapling='on'):
    return t.proxy(FILE_CONF % stapling, chain=os.path.join(d, 'chain.pem'),
                   key=os.path.join(d, 'srv.key'), file=path)


def _serial(out):
    """The serial number the stapled answer is about ('' when none)."""
    for line in out.split('\n'):
        if line.strip().startswith('Serial Number:') and line.strip() != 'Serial Number:':
            return line.split(':', 1)[1].strip()
    return ''


def test_ocsp_file_stapled_no_responder_asked(t):
    oport = free_port()
    d = _pki(t, oport)
    resp = _responder(t, d, oport)  # the certificate's responder: never asked
    p = _file_proxy(t, d, _answer_file(d, 'srv.crt', 'good.der'))
    for _ in range(2):  # from the first handshake on
        out = _status(p.port, os.path.join(d, 'ca.crt'))
        assert 'OCSP Response Status: successful' in out, out
        assert 'Cert Status: good' in out and _serial(out) == '1001', out
    assert resp.requests == 0


def test_ocsp_file_other_certificate_stapled_as_is(t):
    oport = free_port()
    d = _pki(t, oport)
    _other_cert(d, oport)
    p = _file_proxy(t, d, _answer_file(d, 'other.crt', 'other.der'))
    out = _status(p.port, os.path.join(d, 'ca.crt'))
    # nginx staples the file without looking at it: the client sees an
    # answer about serial 1002 for certificate 1001
    assert 'OCSP Response Status: successful' in out, out
    assert _serial(out) == '1002', out


def test_ocsp_file_expired_stapled_as_is(t):
    oport = free_port()
    d = _pki(t, oport)
    p = _file_proxy(t, d, _answer_file(d, 'srv.crt', 'old.der', expired=True))
    out = _status(p.port, os.path.join(d, 'ca.crt'))
    assert 'OCSP Response Status: successful' in out, out
    nxt = [ln.split(':', 1)[1].strip() for ln in out.split('\n')
           if ln.strip().startswith('Next Update:')]
    assert nxt and time.mktime(time.strptime(nxt[0], '%b %d %H:%M:%S %Y GMT')) < \
        time.mktime(time.gmtime()), out


def test_ocsp_file_reread_on_reload(t):
    oport = free_port()
    d = _pki(t, oport)
    _other_cert(d, oport)
    path = _answer_file(d, 'srv.crt', 'file.der')
    p = _file_proxy(t, d, path)
    assert _serial(_status(p.port, os.path.join(d, 'ca.crt'))) == '1001'
    _answer_file(d, 'other.crt', 'new.der')
    os.rename(os.path.join(d, 'new.der'), path)
    p.signal(signal.SIGHUP)
    wait_for(lambda: _serial(_status(p.port, os.path.join(d, 'ca.crt'))) == '1002', 10,
             interval=0.2, what='the new file stapled after a reload')


def test_ocsp_file_bad(t):
    oport = free_port()
    d = _pki(t, oport)
    junk = os.path.join(d, 'junk.der')
    with open(junk, 'w') as f:
        f.write('not an OCSP response\n')
    os.chmod(junk, 0o644)
    p = t.proxy(FILE_CONF % 'on', start=False, chain=os.path.join(d, 'chain.pem'),
                key=os.path.join(d, 'srv.key'), file=junk)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0
    assert 'd2i_OCSP_RESPONSE_bio("%s") failed' % junk in r.stderr, r.stderr
    missing = os.path.join(d, 'missing.der')
    p.write_conf(http=FILE_CONF.replace('{file}', missing) % 'on')
    r = p.run('-t')
    assert r.returncode != 0
    assert 'BIO_new_file("%s") failed' % missing in r.stderr, r.stderr
    # without ssl_stapling on the file is not read at all
    p.write_conf(http=FILE_CONF.replace('{file}', junk) % 'off')
    r = p.run('-t')
    assert r.returncode == 0, r.stderr


def test_ocsp_responder_override(t):
    aia = free_port()  # the certificate's responder: nothing listens there
    d = _pki(t, aia)
    oport = free_port()
    resp = _responder(t, d, oport)
    conf = CONF.replace('ssl_stapling on;', 'ssl_stapling on;\n    '
                        'ssl_stapling_responder http://127.0.0.1:%d/ocsp;' % oport)
    p = t.proxy(conf, chain=os.path.join(d, 'chain.pem'), key=os.path.join(d, 'srv.key'),
                ca=os.path.join(d, 'ca.crt'))
    out = ['']

    def stapled():
        out[0] = _status(p.port, os.path.join(d, 'ca.crt'))
        return 'OCSP Response Status: successful' in out[0]
    wait_for(stapled, 15, interval=0.3, what='a stapled answer from the override')
    assert 'Cert Status: good' in out[0], out[0]
    assert resp.requests >= 1


def test_ocsp_responder_https_ignored(t):
    oport = free_port()
    d = _pki(t, oport)
    resp = _responder(t, d, oport)
    url = 'https://127.0.0.1:%d/' % oport
    conf = CONF.replace('ssl_stapling on;', 'ssl_stapling on;\n    '
                        'ssl_stapling_responder %s;' % url)
    p = t.proxy(conf, chain=os.path.join(d, 'chain.pem'), key=os.path.join(d, 'srv.key'),
                ca=os.path.join(d, 'ca.crt'))
    wait_for(lambda: ('"ssl_stapling" ignored, invalid URL prefix in OCSP responder "%s"'
                      % url) in p.logs_text(), 5, what='the warning')
    for _ in range(2):
        out = _status(p.port, os.path.join(d, 'ca.crt'))
        assert 'OCSP response: no response sent' in out, out
    assert resp.requests == 0


# ---- ssl_ocsp: client certificates ---------------------------------------------

CLIENT_CONF = """
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    ssl_client_certificate {ca};
    ssl_verify_client %s;
    ssl_verify_depth 2;
    %s
    location / { return 200 "verify=$ssl_client_verify\\n"; }
    error_page 495 =200 /e;
    location = /e { return 200 "error verify=$ssl_client_verify\\n"; }
}"""


class _ClientPKI:
    """A root CA, an intermediate CA and client certificates whose
    Authority Information Access names a responder on 127.0.0.1:AIA:
    'good', 'revoked' and 'unknown' (by the root), 'sub' (by the
    intermediate, which the responder calls revoked)."""

    def __init__(self, t, aia):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID, AuthorityInformationAccessOID
        self.d = d = t.tmpdir('ocspc-')
        now = datetime.datetime.utcnow()

        def make(cn, serial, issuer, ca=False):
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
            b = x509.CertificateBuilder().subject_name(name).issuer_name(
                issuer[0].subject if issuer else name).public_key(key.public_key()) \
                .serial_number(serial).not_valid_before(now - datetime.timedelta(days=1)) \
                .not_valid_after(now + datetime.timedelta(days=30)) \
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
            if issuer:
                b = b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier('http://127.0.0.1:%d/' % aia))]), False)
            if ca:
                b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                  False, False), True)
            cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
            return cert, key

        self.root = make('lbd test root', 1, None, ca=True)
        self.sub = make('lbd test intermediate', 2, self.root, ca=True)
        self.certs = {
            'good': (make('good client', 0x1011, self.root), self.root, 'good'),
            'revoked': (make('revoked client', 0x1012, self.root), self.root, 'revoked'),
            'unknown': (make('unknown client', 0x1013, self.root), self.root, 'unknown'),
            'leafsub': (make('client of the intermediate', 0x1014, self.sub), self.sub, 'good'),
            'sub': (self.sub, self.root, 'revoked'),
        }
        srv = make('localhost', 0x1020, self.root)

        def pem(c):
            return c.public_bytes(serialization.Encoding.PEM)

        def keypem(k):
            return k.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
        self._write('ca.crt', pem(self.root[0]))
        self._write('chain.pem', pem(srv[0]) + pem(self.root[0]))
        self._write('srv.key', keypem(srv[1]))
        for n, ((c, k), iss, _) in self.certs.items():
            extra = pem(self.sub[0]) if iss is self.sub else b''
            self._write(n + '.crt', pem(c) + extra)
            self._write(n + '.key', keypem(k))

    def _write(self, name, data):
        path = os.path.join(self.d, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, 0o644)

    def path(self, name):
        return os.path.join(self.d, name)


class _ClientResponder:
    """An OCSP responder that answers each request from PKI's table (the
    issuer signs), counting the requests per certificate name."""

    def __init__(self, t, pki, port):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509 import ocsp
        self.asked = {}
        self.gate = None  # a threading.Event: answers wait for it when set
        outer = self
        by_serial = {c[0][0].serial_number: (n, c) for n, c in pki.certs.items()}
        statuses = {'good': ocsp.OCSPCertStatus.GOOD,
                    'revoked': ocsp.OCSPCertStatus.REVOKED,
                    'unknown': ocsp.OCSPCertStatus.UNKNOWN}

        def answer(der):
            req = ocsp.load_der_ocsp_request(der)
            name, ((cert, _), (icert, ikey), st) = by_serial[req.serial_number]
            outer.asked[name] = outer.asked.get(name, 0) + 1
            if outer.gate:
                outer.gate.wait(20)
            now = datetime.datetime.utcnow()
            b = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=icert, algorithm=req.hash_algorithm,
                cert_status=statuses[st], this_update=now - datetime.timedelta(minutes=1),
                next_update=now + datetime.timedelta(hours=1),
                revocation_time=now - datetime.timedelta(hours=1) if st == 'revoked' else None,
                revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, icert)
            return b.sign(ikey, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

        _ocsp_server(t, port, answer)


def _client_proxy(t, pki, verify='on', extra='ssl_ocsp on;'):
    return t.proxy(CLIENT_CONF % (verify, extra), chain=pki.path('chain.pem'),
                   key=pki.path('srv.key'), ca=pki.path('ca.crt'))


def _curl(p, pki, name=None, path='/', h2=False):
    """(status, body) of GET PATH with client certificate NAME."""
    args = ['curl', '-sk', '--max-time', '15', '-w', '\n%{http_code}']
    if h2:
        args.append('--http2')
    if name:
        args += ['--cert', pki.path(name + '.crt'), '--key', pki.path(name + '.key')]
    r = subprocess.run(args + ['https://127.0.0.1:%d%s' % (p.port, path)],
                       capture_output=True, text=True, timeout=30)
    body, _, code = r.stdout.rpartition('\n')
    return int(code or 0), body


def test_ocsp_client_good_revoked_unknown(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    resp = _ClientResponder(t, pki, aia)
    # nginx's own 400 page: no error_page
    p = t.proxy((CLIENT_CONF % ('on', 'ssl_ocsp on;')).replace('error_page 495 =200 /e;', ''),
                chain=pki.path('chain.pem'), key=pki.path('srv.key'), ca=pki.path('ca.crt'))
    for _ in range(2):
        assert _curl(p, pki, 'good') == (200, 'verify=SUCCESS\n')
    for name, why in (('revoked', 'certificate revoked'),
                      ('unknown', 'certificate status unknown')):
        st, body = _curl(p, pki, name)
        assert st == 400 and 'The SSL certificate error' in body, (name, st, body)
        wait_for(lambda: ('client SSL certificate verify error: %s while reading client '
                          'request headers' % why) in p.error_log(), 5, what=why)
    # no certificate: the 496 page as before
    st, body = _curl(p, pki)
    assert st == 400 and 'No required SSL certificate was sent' in body, body
    # ssl_ocsp_cache off: every handshake asks
    assert resp.asked.get('good', 0) >= 2, resp.asked


def test_ocsp_client_optional_variable(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    _ClientResponder(t, pki, aia)
    p = _client_proxy(t, pki, verify='optional')
    assert _curl(p, pki, 'good') == (200, 'verify=SUCCESS\n')
    assert _curl(p, pki, 'revoked') == (200, 'error verify=FAILED:certificate revoked\n')
    assert _curl(p, pki, 'unknown') == (200,
                                        'error verify=FAILED:certificate status unknown\n')
    assert _curl(p, pki) == (200, 'verify=NONE\n')


def test_ocsp_client_http2(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    _ClientResponder(t, pki, aia)
    conf = (CLIENT_CONF % ('optional', 'ssl_ocsp on;')).replace('{port} ssl;', '{port} ssl http2;')
    p = t.proxy(conf, chain=pki.path('chain.pem'), key=pki.path('srv.key'),
                ca=pki.path('ca.crt'))
    assert _curl(p, pki, 'good', h2=True) == (200, 'verify=SUCCESS\n')
    assert _curl(p, pki, 'revoked', h2=True) == (
        200, 'error verify=FAILED:certificate revoked\n')


def _s_client(p, pki, name, sess, reuse):
    """A TLS 1.2 request with certificate NAME through `openssl s_client`,
    its session saved to SESS (or resumed from it with REUSE): (reused,
    the answer's body)."""
    args = ['openssl', 's_client', '-connect', '127.0.0.1:%d' % p.port, '-tls1_2',
            '-servername', 'localhost', '-cert', pki.path(name + '.crt'), '-key',
            pki.path(name + '.key'), '-ign_eof', '-sess_in' if reuse else '-sess_out', sess]
    r = subprocess.run(args, input=b'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n',
                       capture_output=True, timeout=20)
    out = r.stdout.decode('latin1')
    body = out.rpartition('\r\n\r\n')[2]
    for tail in ('closed\n', 'DONE\n'):  # s_client's own last line
        if body.endswith(tail):
            body = body[:-len(tail)]
    return '\nReused, ' in out, body


def test_ocsp_client_resumed_session_checked(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    resp = _ClientResponder(t, pki, aia)
    p = _client_proxy(t, pki, verify='optional')
    sess = os.path.join(pki.d, 'revoked.sess')
    first = _s_client(p, pki, 'revoked', sess, False)
    assert first == (False, 'error verify=FAILED:certificate revoked\n'), first
    # the session ticket resumes the session: its certificate is asked
    # about again, not let through
    reused, body = _s_client(p, pki, 'revoked', sess, True)
    assert reused, 'the session was not resumed'
    assert body == 'error verify=FAILED:certificate revoked\n', body
    assert resp.asked.get('revoked') == 2, resp.asked


def test_ocsp_client_responder(t):
    aia = free_port()  # nothing listens at the certificates' URL
    pki = _ClientPKI(t, aia)
    oport = free_port()
    resp = _ClientResponder(t, pki, oport)
    p = _client_proxy(t, pki, verify='optional', extra='ssl_ocsp on;\n    '
                      'ssl_ocsp_responder http://127.0.0.1:%d/;' % oport)
    assert _curl(p, pki, 'good') == (200, 'verify=SUCCESS\n')
    assert resp.asked.get('good') == 1, resp.asked
    # the responder down: the request fails as nginx's does
    down = free_port()
    p2 = _client_proxy(t, pki, verify='optional', extra='ssl_ocsp on;\n    '
                       'ssl_ocsp_responder http://127.0.0.1:%d/;' % down)
    assert _curl(p2, pki, 'good') == (
        200, 'error verify=FAILED:certificate status request failed\n')


def test_ocsp_client_leaf(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    resp = _ClientResponder(t, pki, aia)
    # the intermediate is revoked: `on` checks it, `leaf` does not
    p = _client_proxy(t, pki, verify='optional', extra='ssl_ocsp on;')
    assert _curl(p, pki, 'leafsub') == (200, 'error verify=FAILED:certificate revoked\n')
    assert resp.asked.get('sub', 0) >= 1, resp.asked
    p2 = _client_proxy(t, pki, verify='optional', extra='ssl_ocsp leaf;')
    before = resp.asked.get('sub', 0)
    assert _curl(p2, pki, 'leafsub') == (200, 'verify=SUCCESS\n')
    assert resp.asked.get('sub', 0) == before, resp.asked


def test_ocsp_client_cache(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    resp = _ClientResponder(t, pki, aia)
    p = _client_proxy(t, pki, extra='ssl_ocsp on;\n    ssl_ocsp_cache shared:one:1m;')
    for _ in range(3):
        assert _curl(p, pki, 'good') == (200, 'verify=SUCCESS\n')
        assert _curl(p, pki, 'revoked') == (200, 'error verify=FAILED:certificate revoked\n')
    # one question per certificate: the answers (revoked too) are kept
    assert resp.asked == {'good': 1, 'revoked': 1}, resp.asked


def test_ocsp_client_wait_does_not_block(t):
    import threading
    aia = free_port()
    pki = _ClientPKI(t, aia)
    resp = _ClientResponder(t, pki, aia)
    resp.gate = threading.Event()
    t.defer(resp.gate.set)
    p = _client_proxy(t, pki, verify='optional')  # one worker
    # a client that gives up while its status is being asked
    gone = subprocess.Popen(['curl', '-sk', '--cert', pki.path('revoked.crt'), '--key',
                             pki.path('revoked.key'), 'https://127.0.0.1:%d/' % p.port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.defer(gone.kill)
    wait_for(lambda: resp.asked.get('revoked') == 1, 10, what='the revoked question')
    gone.kill()
    gone.wait()
    out = []
    th = threading.Thread(target=lambda: out.append(_curl(p, pki, 'good')), daemon=True)
    th.start()
    wait_for(lambda: resp.asked.get('good') == 1, 10, what='the good question')
    # both questions unanswered: the worker still serves other clients
    assert _curl(p, pki) == (200, 'verify=NONE\n')
    resp.gate.set()
    th.join(20)
    assert out == [(200, 'verify=SUCCESS\n')], out
    assert _curl(p, pki, 'revoked') == (200, 'error verify=FAILED:certificate revoked\n')
    # a fast stop while a question is out: the connection goes, the
    # process exits cleanly (the answer comes to nobody)
    resp.gate.clear()
    pending = subprocess.Popen(['curl', '-sk', '--cert', pki.path('unknown.crt'), '--key',
                                pki.path('unknown.key'), 'https://127.0.0.1:%d/' % p.port],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.defer(pending.kill)
    wait_for(lambda: resp.asked.get('unknown') == 1, 10, what='the unknown question')
    p.signal(signal.SIGTERM)
    assert p.wait_exit(10) == 0
    resp.gate.set()


def test_ocsp_client_config_errors(t):
    aia = free_port()
    pki = _ClientPKI(t, aia)
    p = _client_proxy(t, pki)
    cases = [
        (CLIENT_CONF % ('optional_no_ca', 'ssl_ocsp on;'),
         '"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"'),
        (CLIENT_CONF % ('on', 'ssl_ocsp on; ssl_ocsp_responder https://127.0.0.1:1/;'),
         'invalid URL prefix in OCSP responder "https://127.0.0.1:1/" in '
         '"ssl_ocsp_responder"'),
        (CLIENT_CONF % ('on', 'ssl_ocsp maybe;'), 'invalid value "maybe"'),
        (CLIENT_CONF % ('on', 'ssl_ocsp on; ssl_ocsp_cache shared:x:1k;'),
         'OCSP cache "shared:x:1k" is too small'),
        (CLIENT_CONF % ('on', 'ssl_ocsp on; ssl_ocsp_cache x;'), 'invalid OCSP cache "x"'),
    ]
    for conf, msg in cases:
        p.write_conf(http=conf)
        r = p.run('-t')
        assert r.returncode != 0 and msg in r.stderr, (msg, r.stderr)
    # ssl_ocsp_responder is only looked at with ssl_ocsp on
    p.write_conf(http=CLIENT_CONF % ('on', 'ssl_ocsp_responder ftp://x/;'))
    assert p.run('-t').returncode == 0


def test_ocsp_cache_zone_names(t):
    # shared zones are one name space: ssl_session_cache shared:NAME and
    # ssl_ocsp_cache shared:NAME are refused at the later of the two
    cases = [
        ('ssl_session_cache shared:Z:1m;\nssl_ocsp_cache shared:Z:1m; # here\n'
         'server { listen 127.0.0.1:{port}; }'),
        ('ssl_ocsp_cache shared:Z:2m;\n'
         'server { listen 127.0.0.1:{port};\n    ssl_session_cache shared:Z:1m; # here\n}'),
        ('server { listen 127.0.0.1:{port};\n    ssl_ocsp_cache shared:Z:1m;\n}\n'
         'ssl_session_cache builtin shared:Z:1m; # here'),
    ]
    for conf in cases:
        p = t.proxy(conf, start=False)
        p.write_conf()
        with open(p.conf_path) as f:
            line = [i + 1 for i, ln in enumerate(f) if '# here' in ln][0]
        r = p.run('-t')
        msg = 'the shared memory zone "Z" is already declared for a different use in %s:%d' % (
            p.conf_path, line)
        assert r.returncode != 0 and msg in r.stderr, (msg, r.stderr)
    # the same name for the same use, and different names, are fine
    p = t.proxy('ssl_session_cache shared:S:1m;\nssl_ocsp_cache shared:O:1m;\n'
                'server { listen 127.0.0.1:{port}; ssl_session_cache shared:S:1m; }',
                start=False)
    p.write_conf()
    assert p.run('-t').returncode == 0
