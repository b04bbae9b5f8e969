# SPDX-License-Identifier: MIT
"""HTTP/2 streams reuse memory (issue 6, the h2 benchmark work): a
stream's response HEADERS are handed to nghttp2 without a copy (they
point into the stream's own head buffer), DATA frames are written from
the stream's buffer by nghttp2's send_data callback (NO_COPY), freed
streams, their request connections and nghttp2's per-stream objects are
recycled, and lbd announces SETTINGS_NO_RFC7540_PRIORITIES. These tests
run many streams through one connection, with resets (also in the middle
of bodies) and heads of very different sizes in between, and check that
every answer carries its own headers and body, byte for byte, so that a
buffer reused too early or a frame packed from another stream's memory
would show."""

import re
import struct
import subprocess
import time

from test_h2 import (ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS,
                     RST_STREAM, SETTINGS, WINDOW_UPDATE, H2Raw,
                     _tls_h2_proxy, frame, req_block)

PRIORITY = 2
FLAG_PRIORITY = 0x20
SETTINGS_NO_RFC7540_PRIORITIES = 9

# big heads both ways: a request line and answer heads of 20 KB and more
BIG_LIMITS = """
    large_client_header_buffers 4 64k;
    http2_max_field_size 64k;
    http2_max_header_size 128k;
    proxy_buffer_size 64k;
    proxy_buffers 4 64k;
    proxy_busy_buffers_size 64k;"""


def _nghttp(urls, timeout=60):
    """Run nghttp -v on URLS (one connection per authority, all streams
    concurrent within the server's limit): {path: {header: value}} of the
    answers, by the :path each stream was sent with."""
    r = subprocess.run(['nghttp', '-nv', '-t', '30'] + urls,
                       capture_output=True, timeout=timeout)
    out = r.stdout.decode('latin-1')
    assert r.returncode == 0, out[-2000:] + r.stderr.decode('latin-1')
    sent, got = {}, {}
    cur = None
    for line in out.splitlines():
        m = re.search(r'send HEADERS frame <.*stream_id=(\d+)>', line)
        if m:
            cur = int(m.group(1))
            continue
        m = re.match(r'\s+:path: (.*)$', line)
        if m and cur is not None:
            sent[cur] = m.group(1)
            cur = None
            continue
        m = re.search(r'recv \(stream_id=(\d+)\) ([^:]\S*|:status): (.*)$',
                      line)
        if m:
            got.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    return {sent[sid]: h for sid, h in got.items() if sid in sent}


def test_h2_many_streams_own_headers(t):
    """600 streams on one TLS connection (more than the 128 the server lets
    run at once, so streams, request connections and head buffers are
    reused many times): each answer has the status and the X-Id header of
    its own request."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)

    def case(i):
        """(path, status, padding) of request I: statuses and head sizes
        vary from one stream to the next"""
        if i % 2:
            pad = 'p' * (i % 97)
            return '/headers?X-Id=%d&X-Fill=%s' % (i, pad), 200, pad
        status = (201, 404, 503)[i % 3]
        return '/status/%d?X-Id=%d' % (status, i), status, None

    urls = ['https://localhost:%d%s' % (p.port, case(i)[0]) for i in range(600)]
    got = _nghttp(urls)
    assert len(got) == 600, len(got)
    for i in range(600):
        path, status, pad = case(i)
        h = got[path]
        assert h.get(':status') == str(status), (path, h)
        assert h.get('x-id') == str(i), (path, h)
        assert h.get('x-fill') == pad, (path, h)


def test_h2_big_and_small_heads_alternate(t):
    """On one connection, answers with a 40 KB head (bigger than what a
    freed stream keeps) alternate with small ones: every answer's headers
    are its own, whole."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1, extra=BIG_LIMITS)
    urls, want = [], {}
    for i in range(40):
        if i % 2:
            big = ''.join('&X-Big%d=%s' % (k, chr(97 + (i + k) % 26) * 4000)
                          for k in range(10))
            path = '/headers?X-Id=%d%s' % (i, big)
        else:
            path = '/headers?X-Id=%d' % i
        urls.append('https://localhost:%d%s' % (p.port, path))
        want[path] = i
    got = _nghttp(urls)
    assert len(got) == 40, len(got)
    for path, i in want.items():
        h = got[path]
        assert h.get(':status') == '200', (i, h.get(':status'))
        assert h.get('x-id') == str(i), (i, h.get('x-id'))
        for k in range(10):
            v = h.get('x-big%d' % k)
            if i % 2:
                assert v == chr(97 + (i + k) % 26) * 4000, (i, k, len(v or ''))
            else:
                assert v is None, (i, k)


def _answers(c, sids, deadline):
    """Read until every stream in SIDS ended; {sid: (header block bytes,
    body bytes)}; also answers SETTINGS."""
    done, res = set(), {}
    while done != set(sids):
        f = c.read_frame(deadline)
        assert f is not None, 'closed with %s open' % (set(sids) - done)
        ftype, flags, sid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        assert ftype != GOAWAY, payload
        assert not (ftype == RST_STREAM and sid in sids), sid
        if sid in sids and ftype in (HEADERS, DATA):
            hb, body = res.get(sid, (b'', b''))
            if ftype == HEADERS:
                hb += payload
            else:
                body += payload
            res[sid] = (hb, body)
            if flags & END_STREAM:
                done.add(sid)
    return res


def test_h2_resets_between_streams(t):
    """Streams reset by the client right after their HEADERS, interleaved
    with streams left to finish, in several rounds on one connection: the
    connection stays up and each finished stream's answer names its own
    request (the backend's JSON echo of the path)."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)
    c = H2Raw(p.port, tls=True, window=1 << 20)
    t.defer(c.close)
    sid = 1
    for rnd in range(5):
        keep = []
        out = b''
        for i in range(40):
            out += frame(HEADERS, END_HEADERS | END_STREAM, sid,
                         req_block('/r%d/s%d' % (rnd, sid)))
            if i % 2:
                out += frame(RST_STREAM, 0, sid, struct.pack('>I', 8))
            else:
                keep.append(sid)
            sid += 2
        c.send(out)
        res = _answers(c, keep, time.monotonic() + 20)
        for s in keep:
            hb, body = res[s]
            # the JSON echo names the path; a body of another stream
            # would name another
            assert ('"/r%d/s%d"' % (rnd, s)).encode() in body, (s, body[:200])


def test_h2_priority_signals_accepted(t):
    """HEADERS with the PRIORITY flag and PRIORITY frames (RFC 7540
    priorities, which lbd does not use: it announces
    SETTINGS_NO_RFC7540_PRIORITIES = 1) are accepted and the streams
    answered."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)
    c = H2Raw(p.port, tls=True, window=1 << 20)
    t.defer(c.close)
    prio = struct.pack('>IB', 0, 200)  # depends on 0, weight 201
    c.send(frame(PRIORITY, 0, 3, struct.pack('>IB', 1, 15)) +
           frame(HEADERS, END_HEADERS | END_STREAM | FLAG_PRIORITY, 1,
                 prio + req_block('/p1')) +
           frame(HEADERS, END_HEADERS | END_STREAM | FLAG_PRIORITY, 3,
                 struct.pack('>IB', 1 | 0x80000000, 3) + req_block('/p3')))
    deadline = time.monotonic() + 10
    settings = None
    done, bodies = set(), {}
    while done != {1, 3}:
        f = c.read_frame(deadline)
        assert f is not None, 'closed'
        ftype, flags, sid, payload = f
        assert ftype not in (GOAWAY, RST_STREAM), (ftype, payload)
        if ftype == SETTINGS and not flags & ACK:
            settings = dict(struct.unpack('>HI', payload[i:i + 6])
                            for i in range(0, len(payload), 6))
            c.send(frame(SETTINGS, ACK, 0))
        if ftype == DATA:
            bodies[sid] = bodies.get(sid, b'') + payload
        if ftype in (HEADERS, DATA) and flags & END_STREAM:
            done.add(sid)
    assert b'"/p1"' in bodies[1] and b'"/p3"' in bodies[3], bodies
    assert settings is not None
    if not t.is_nginx:
        assert settings.get(SETTINGS_NO_RFC7540_PRIORITIES) == 1, settings


def test_h2_reset_during_bodies(t):
    """Several 1 MiB answers on one connection; the client resets every
    other stream once its first DATA arrived (frames of it may be on the
    way) and keeps reading the rest, opening windows as it goes: the
    streams not reset get their bodies byte for byte, and the connection
    then still answers a new request."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)
    size = 1 << 20
    pat = b'0123456789abcdef' * 64
    want = (pat * (size // len(pat) + 1))[:size]
    c = H2Raw(p.port, tls=True, window=65535)
    t.defer(c.close)
    sids = [1, 3, 5, 7, 9, 11]
    c.send(b''.join(frame(HEADERS, END_HEADERS | END_STREAM, s,
                          req_block('/size/%d' % size)) for s in sids))
    reset = {s for s in sids if s % 4 == 3}
    bodies = {s: b'' for s in sids}
    done, sent_rst = set(), set()
    deadline = time.monotonic() + 60
    while done != set(sids) - reset:
        f = c.read_frame(deadline)
        assert f is not None, 'closed after %s' % {
            s: len(b) for s, b in bodies.items()}
        ftype, flags, sid, payload = f
        assert ftype != GOAWAY, payload
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        if ftype == RST_STREAM:
            assert sid in reset, sid
        if ftype != DATA:
            continue
        bodies[sid] += payload
        out = b''
        if payload:
            inc = struct.pack('>I', len(payload))
            out += frame(WINDOW_UPDATE, 0, 0, inc)
            if sid not in reset:
                out += frame(WINDOW_UPDATE, 0, sid, inc)
        if sid in reset and sid not in sent_rst:
            sent_rst.add(sid)
            out += frame(RST_STREAM, 0, sid, struct.pack('>I', 8))
        if flags & END_STREAM:
            done.add(sid)
        if out:
            c.send(out)
    for s in set(sids) - reset:
        assert bodies[s] == want, (s, len(bodies[s]))
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 13, req_block('/after')))
    res = _answers(c, [13], time.monotonic() + 10)
    assert b'"/after"' in res[13][1], res[13][1][:200]
