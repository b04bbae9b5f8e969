# SPDX-License-Identifier: MIT
"""A TLS 1.3 client that sends 0-RTT (early) data, for test_tls_early.py.

Python's ssl module has no early data, so this drives the system's
libssl (OpenSSL 3) through ctypes on a blocking socket: a first
connection gets a session ticket, later ones send their request with
SSL_write_early_data before the handshake, may hold back the rest of the
handshake (the client's Finished) until the test says so, and report
whether the server accepted the early data. Standard library only."""

import ctypes
import ctypes.util
import socket
import struct

_ssl = ctypes.CDLL(ctypes.util.find_library('ssl') or 'libssl.so.3')

_P = ctypes.c_void_p
for _name, _res, _args in (
        ('TLS_client_method', _P, []),
        ('SSL_CTX_new', _P, [_P]),
        ('SSL_CTX_free', None, [_P]),
        ('SSL_CTX_ctrl', ctypes.c_long, [_P, ctypes.c_int, ctypes.c_long, _P]),
        ('SSL_new', _P, [_P]),
        ('SSL_free', None, [_P]),
        ('SSL_set_fd', ctypes.c_int, [_P, ctypes.c_int]),
        ('SSL_ctrl', ctypes.c_long, [_P, ctypes.c_int, ctypes.c_long, _P]),
        ('SSL_set_alpn_protos', ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_uint]),
        ('SSL_get0_alpn_selected', None,
         [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_uint)]),
        ('SSL_connect', ctypes.c_int, [_P]),
        ('SSL_do_handshake', ctypes.c_int, [_P]),
        ('SSL_read', ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
        ('SSL_write', ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
        ('SSL_get_error', ctypes.c_int, [_P, ctypes.c_int]),
        ('SSL_get1_session', _P, [_P]),
        ('SSL_set_session', ctypes.c_int, [_P, _P]),
        ('SSL_SESSION_free', None, [_P]),
        ('SSL_SESSION_get_max_early_data', ctypes.c_uint32, [_P]),
        ('SSL_SESSION_set_max_early_data', ctypes.c_int, [_P, ctypes.c_uint32]),
        ('SSL_session_reused', ctypes.c_int, [_P]),
        ('SSL_write_early_data', ctypes.c_int,
         [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
        ('SSL_get_early_data_status', ctypes.c_int, [_P]),
        ('SSL_shutdown', ctypes.c_int, [_P])):
    _f = getattr(_ssl, _name)
    _f.restype = _res
    _f.argtypes = _args

_SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
_SSL_CTRL_SET_MIN_PROTO_VERSION = 123
_TLS1_3_VERSION = 0x0304
_SSL_ERROR_ZERO_RETURN = 6

NOT_SENT, REJECTED, ACCEPTED = 0, 1, 2
STATUS = {NOT_SENT: 'not sent', REJECTED: 'rejected', ACCEPTED: 'accepted'}


class TLSError(Exception):
    pass


class Session:
    """A resumable session (SSL_SESSION *) and the early data it allows."""

    def __init__(self, ptr):
        self.ptr = ptr
        self.max_early = _ssl.SSL_SESSION_get_max_early_data(ptr)

    def pretend_max_early(self, n):
        """Let this client send N bytes of early data whatever the
        server's ticket allowed (a client that breaks the limit)."""
        _ssl.SSL_SESSION_set_max_early_data(self.ptr, n)
        self.max_early = n

    def __del__(self):
        if self.ptr:
            _ssl.SSL_SESSION_free(self.ptr)
            self.ptr = None


class Result:
    """What one connection did: early (STATUS key), reused, alpn, data
    (everything the server sent until it closed)."""

    def __init__(self, early, reused, alpn, data, session):
        self.early = early
        self.reused = reused
        self.alpn = alpn
        self.data = data
        self.session = session

    def __repr__(self):
        return 'Result(early=%s reused=%s alpn=%r data=%r)' % (
            STATUS.get(self.early), self.reused, self.alpn, self.data[:300])


class Client:
    """One TLS 1.3-only client context; SNI and ALPN (e.g. [b'h2']) per
    client."""

    def __init__(self, port, sni='localhost', alpn=None, timeout=5.0):
        self.port = port
        self.sni = sni.encode() if sni else None
        self.alpn = alpn
        self.timeout = timeout
        self.ctx = _ssl.SSL_CTX_new(_ssl.TLS_client_method())
        if not self.ctx:
            raise TLSError('SSL_CTX_new')
        _ssl.SSL_CTX_ctrl(self.ctx, _SSL_CTRL_SET_MIN_PROTO_VERSION, _TLS1_3_VERSION, None)

    def __del__(self):
        if getattr(self, 'ctx', None):
            _ssl.SSL_CTX_free(self.ctx)
            self.ctx = None

    def _open(self, session):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=self.timeout)
        s.settimeout(None)  # blocking for OpenSSL, bounded by SO_RCVTIMEO
        tv = struct.pack('ll', int(self.timeout), int((self.timeout % 1) * 1e6))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        ssl = _ssl.SSL_new(self.ctx)
        _ssl.SSL_set_fd(ssl, s.fileno())
        if self.sni:
            _ssl.SSL_ctrl(ssl, _SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, self.sni)
        if self.alpn:
            wire = b''.join(bytes([len(p)]) + p for p in self.alpn)
            _ssl.SSL_set_alpn_protos(ssl, wire, len(wire))
        if session is not None:
            _ssl.SSL_set_session(ssl, session.ptr)
        return s, ssl

    @staticmethod
    def _check(ssl, rc, what):
        if rc <= 0:
            raise TLSError('%s failed: %d' % (what, _ssl.SSL_get_error(ssl, rc)))

    @staticmethod
    def _write(ssl, data):
        while data:
            n = _ssl.SSL_write(ssl, data, len(data))
            Client._check(ssl, n, 'SSL_write')
            data = data[n:]

    @staticmethod
    def _read_all(ssl, until=None):
        """Everything until the server closes (or UNTIL(data) is true)."""
        out = bytearray()
        buf = ctypes.create_string_buffer(65536)
        while not (until and until(bytes(out))):
            n = _ssl.SSL_read(ssl, buf, len(buf))
            if n <= 0:
                break
            out.extend(buf.raw[:n])
        return bytes(out)

    def _finish(self, s, ssl, early, until):
        data = self._read_all(ssl, until)
        alpn_p, alpn_n = ctypes.c_char_p(), ctypes.c_uint()
        _ssl.SSL_get0_alpn_selected(ssl, ctypes.byref(alpn_p), ctypes.byref(alpn_n))
        alpn = ctypes.string_at(alpn_p, alpn_n.value) if alpn_n.value else None
        sess = _ssl.SSL_get1_session(ssl)
        # a session freed without close_notify is marked not resumable
        _ssl.SSL_shutdown(ssl)
        r = Result(early, bool(_ssl.SSL_session_reused(ssl)), alpn, data,
                   Session(sess) if sess else None)
        _ssl.SSL_free(ssl)
        s.close()
        return r

    def full(self, request, session=None, until=None):
        """REQUEST after the handshake (resuming SESSION if given); the
        result's session holds the ticket the server sent."""
        s, ssl = self._open(session)
        self._check(ssl, _ssl.SSL_connect(ssl), 'SSL_connect')
        self._write(ssl, request)
        return self._finish(s, ssl, NOT_SENT, until)

    def early(self, session, request, hold=None, resend=True, after=b'', until=None):
        """REQUEST as 0-RTT data resuming SESSION. HOLD() runs after the
        first flight went out and before the handshake goes on (the
        client's Finished waits for it). When the server rejected the
        early data and RESEND is true, REQUEST goes again after the
        handshake, as a browser does. AFTER: more bytes sent after the
        handshake (a body's tail). Returns a Result."""
        s, ssl = self._open(session)
        n = ctypes.c_size_t()
        rc = _ssl.SSL_write_early_data(ssl, request, len(request), ctypes.byref(n))
        self._check(ssl, rc, 'SSL_write_early_data')
        if n.value != len(request):
            raise TLSError('early data cut to %d bytes' % n.value)
        if hold:
            hold()
        self._check(ssl, _ssl.SSL_do_handshake(ssl), 'SSL_do_handshake')
        status = _ssl.SSL_get_early_data_status(ssl)
        if status != ACCEPTED and resend:
            self._write(ssl, request)
        if after:
            self._write(ssl, after)
        return self._finish(s, ssl, status, until)
