# SPDX-License-Identifier: MIT
"""Bad and borderline requests: what the proxy answers, and that nothing
smuggled ever reaches the backend.

Data-driven: CASES holds (name, raw request bytes, expected outcome,
smuggle?). The expected outcome is what nginx 1.22.1 really does, recorded
by running it (`python3 tests/integ/test_bad_input.py` probes nginx and
prints the table again): a status code, 'close' (connection closed with no
response) or 'timeout' (neither). One test function per case is generated,
so each case passes or fails on its own line.

For every case the backend must have seen exactly the requests the outcome
implies (one for a 2xx answered by the backend, none otherwise), and for the
smuggling cases no request whose path contains "smuggled" may ever reach it.
The upstream uses HTTP/1.1 keep-alive connections, the setup in which a
framing mistake on the proxy would let a second request slip through.

STATIC_CASES probe path traversal against a static root (../, %2e%2e,
encoded slashes, %00): the answer must be nginx's and the file just above
the root must never be served. LBD_DIFFERS lists the few cases where lbd
deliberately answers otherwise, each with its reason.
"""

import os
import socket
import sys
import time

from harness import Conn, ConnClosed, raw_exchange, recv_until_close, wait_for

SMUGGLED = b'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
H = b'Host: x\r\n'


def _post(headers, body):
    return b'POST /in HTTP/1.1\r\n' + H + headers + b'\r\n' + body


def _get(*headers, line=b'GET /in HTTP/1.1'):
    return line + b'\r\n' + b''.join(h + b'\r\n' for h in headers) + b'\r\n'


CHUNKED_OK = b'5\r\nhello\r\n0\r\n\r\n'
_in_chunk = b'0\r\n\r\n' + SMUGGLED

# (name, request bytes, nginx 1.22.1's answer, is a smuggling attempt)
CASES = [
    # -- message framing (RFC 9112 section 6)
    ('cl_and_te', _post(b'Content-Length: 4\r\n'
                        b'Transfer-Encoding: chunked\r\n', _in_chunk),
     400, True),
    ('te_and_cl', _post(b'Transfer-Encoding: chunked\r\n'
                        b'Content-Length: 4\r\n', _in_chunk), 400, True),
    ('cl_cl_different', _post(b'Content-Length: 5\r\nContent-Length: 42\r\n',
                              b'hello' + SMUGGLED), 400, True),
    ('cl_cl_equal', _post(b'Content-Length: 5\r\nContent-Length: 5\r\n',
                          b'hello'), 400, False),
    ('cl_list', _post(b'Content-Length: 5, 5\r\n', b'hello'), 400, False),
    ('cl_negative', _post(b'Content-Length: -1\r\n', b''), 400, False),
    ('cl_plus_sign', _post(b'Content-Length: +5\r\n', b'hello'), 400, False),
    ('cl_not_a_number', _post(b'Content-Length: abc\r\n', b''), 400, False),
    ('cl_overflow', _post(b'Content-Length: 99999999999999999999999\r\n',
                          b'hello'), 400, False),
    ('cl_ok', _post(b'Content-Length: 5\r\n', b'hello'), 200, False),
    ('te_chunked_ok', _post(b'Transfer-Encoding: chunked\r\n', CHUNKED_OK),
     200, False),
    ('te_chunked_mixed_case', _post(b'Transfer-Encoding: ChUnKeD\r\n',
                                    CHUNKED_OK), 200, False),
    ('te_twice', _post(b'Transfer-Encoding: chunked\r\n'
                       b'Transfer-Encoding: chunked\r\n', CHUNKED_OK),
     400, True),
    ('te_gzip_chunked', _post(b'Transfer-Encoding: gzip, chunked\r\n',
                              CHUNKED_OK), 501, False),
    ('te_identity', _post(b'Transfer-Encoding: identity\r\n'
                          b'Content-Length: 5\r\n', b'hello'), 501, False),
    ('te_unknown_with_cl', _post(b'Transfer-Encoding: xchunked\r\n'
                                 b'Content-Length: 5\r\n',
                                 b'hello' + SMUGGLED), 501, True),
    ('te_in_http10', b'POST /in HTTP/1.0\r\n' + H +
     b'Transfer-Encoding: chunked\r\n\r\n' + CHUNKED_OK, 400, False),
    ('te_space_before_colon', _post(b'Transfer-Encoding : chunked\r\n'
                                    b'Content-Length: 4\r\n', _in_chunk),
     400, True),
    # -- chunked body syntax
    ('chunk_size_not_hex', _post(b'Transfer-Encoding: chunked\r\n',
                                 b'zz\r\nhello\r\n0\r\n\r\n'), 400, False),
    ('chunk_size_0x_prefix', _post(b'Transfer-Encoding: chunked\r\n',
                                   b'0x5\r\nhello\r\n0\r\n\r\n'), 400, False),
    ('chunk_size_negative', _post(b'Transfer-Encoding: chunked\r\n',
                                  b'-5\r\nhello\r\n0\r\n\r\n'), 400, False),
    ('chunk_size_huge', _post(b'Transfer-Encoding: chunked\r\n',
                              b'ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
     400, True),
    ('chunk_size_wraps_64bit', _post(b'Transfer-Encoding: chunked\r\n',
                                     b'10000000000000005\r\nhello\r\n'
                                     b'0\r\n\r\n' + SMUGGLED), 400, True),
    ('chunk_over_max_body', _post(b'Transfer-Encoding: chunked\r\n',
                                  b'200000\r\nhello\r\n'), 413, False),
    ('chunk_data_no_crlf', _post(b'Transfer-Encoding: chunked\r\n',
                                 b'5\r\nhelloXX0\r\n\r\n'), 400, False),
    ('chunk_extension', _post(b'Transfer-Encoding: chunked\r\n',
                              b'5;name=val\r\nhello\r\n0\r\n\r\n'), 200,
     False),
    ('chunk_lf_only', _post(b'Transfer-Encoding: chunked\r\n',
                            b'5\nhello\n0\n\n'), 200, False),
    ('request_inside_chunk_data', _post(
        b'Transfer-Encoding: chunked\r\n',
        b'%x\r\n%s\r\n0\r\n\r\n' % (len(SMUGGLED), SMUGGLED)), 200, True),
    ('request_in_trailer', _post(b'Transfer-Encoding: chunked\r\n',
                                 b'5\r\nhello\r\n0\r\n' + SMUGGLED),
     200, True),
    # -- header syntax
    ('nul_in_header_value', _get(H.strip(), b'X-A: a\x00b'), 400, False),
    ('bare_cr_in_header', _get(H.strip(), b'X-A: a\rb'), 400, False),
    ('obs_fold', _get(H.strip(), b'X-A: a', b' folded'), 400, False),
    ('space_before_colon_host', _get(b'Host : x'), 400, False),
    ('header_without_colon', _get(H.strip(), b'NoColonHere'), 200, False),
    ('header_name_with_space', _get(H.strip(), b'X A: b'), 400, False),
    ('empty_header_name', _get(H.strip(), b': x'), 400, False),
    ('lf_only_line_endings', b'GET /in HTTP/1.1\nHost: x\n\n', 200, False),
    ('leading_empty_line', b'\r\n' + _get(H.strip()), 200, False),
    # nginx skips any CR or LF before the request line, a lone CR too
    ('lone_cr_before_request_line', b'\r' + _get(H.strip()), 200, False),
    ('crs_and_lfs_before_request_line', b'\r\r\n\n\r' + _get(H.strip()), 200, False),
    # -- Host
    ('no_host_http11', _get(), 400, False),
    ('no_host_http10', _get(line=b'GET /in HTTP/1.0'), 200, False),
    ('two_hosts', _get(H.strip(), b'Host: y'), 400, False),
    ('host_with_slash', _get(b'Host: a/b'), 400, False),
    ('host_with_space', _get(b'Host: a b'), 400, False),
    ('host_empty', _get(b'Host: '), 400, False),
    # -- sizes (large_client_header_buffers 4 8k)
    ('request_line_over_8k', _get(H.strip(),
                                  line=b'GET /' + b'a' * 9000 + b' HTTP/1.1'),
     414, False),
    ('header_over_8k', _get(H.strip(), b'X-Big: ' + b'b' * 9000), 400, False),
    ('headers_over_32k', _get(H.strip(), *[b'X-H%d: ' % i + b'c' * 7000
                                           for i in range(5)]), 400, False),
    # -- request line
    ('method_invalid_chars', _get(H.strip(), line=b'G@T /in HTTP/1.1'),
     400, False),
    ('method_lowercase', _get(H.strip(), line=b'get /in HTTP/1.1'),
     400, False),
    ('method_unknown', _get(H.strip(), line=b'FROB /in HTTP/1.1'),
     200, False),
    ('absolute_form', _get(H.strip(), line=b'GET http://other/in HTTP/1.1'),
     200, False),
    ('http_2_0_in_line', _get(H.strip(), line=b'GET /in HTTP/2.0'),
     505, False),
    ('http_1_2', _get(H.strip(), line=b'GET /in HTTP/1.2'), 200, False),
    ('http_version_garbage', _get(H.strip(), line=b'GET /in HTTP/1.x'),
     400, False),
    ('target_without_slash', _get(H.strip(), line=b'GET in HTTP/1.1'),
     400, False),
    ('target_above_root', _get(H.strip(), line=b'GET /../etc HTTP/1.1'),
     400, False),
    ('space_in_target', _get(H.strip(), line=b'GET /a b HTTP/1.1'),
     400, False),
    ('trace_method', _get(H.strip(), line=b'TRACE /in HTTP/1.1'), 405, False),
    # -- issue 8 item 3: more smuggling variants. CL.TE / TE.CL with the
    # second message placed where the other reading would find it.
    ('cl_te_short_cl', _post(b'Content-Length: 6\r\n'
                             b'Transfer-Encoding: chunked\r\n',
                             b'0\r\n\r\nX' + SMUGGLED), 400, True),
    ('te_cl_long_cl', _post(b'Transfer-Encoding: chunked\r\n'
                            b'Content-Length: 100\r\n',
                            b'5\r\nhello\r\n0\r\n\r\n' + SMUGGLED),
     400, True),
    ('cl_te_http10', b'POST /in HTTP/1.0\r\n' + H +
     b'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n' + _in_chunk,
     400, True),
    # obfuscated Transfer-Encoding
    ('te_tab_before_value', _post(b'Transfer-Encoding:\tchunked\r\n',
                                  CHUNKED_OK), 501, False),
    ('te_trailing_space', _post(b'Transfer-Encoding: chunked \r\n',
                                CHUNKED_OK), 200, False),
    ('te_vtab_before_value', _post(b'Transfer-Encoding:\x0bchunked\r\n'
                                   b'Content-Length: 5\r\n',
                                   b'hello' + SMUGGLED), 501, True),
    ('te_quoted', _post(b'Transfer-Encoding: "chunked"\r\n'
                        b'Content-Length: 5\r\n', b'hello' + SMUGGLED),
     501, True),
    ('te_chunked_twice_in_list', _post(b'Transfer-Encoding: chunked, '
                                       b'chunked\r\n', CHUNKED_OK),
     501, False),
    ('te_chunked_empty_element', _post(b'Transfer-Encoding: chunked,\r\n',
                                       CHUNKED_OK), 501, False),
    ('te_obs_fold', _post(b'Transfer-Encoding:\r\n chunked\r\n'
                          b'Content-Length: 4\r\n', _in_chunk), 400, True),
    # ignored (underscore): the body is the Content-Length, all of it
    ('te_underscore_name', _post(b'Transfer_Encoding: chunked\r\n'
                                 b'Content-Length: %d\r\n' % len(_in_chunk),
                                 _in_chunk), 200, True),
    ('te_nul_in_value', _post(b'Transfer-Encoding: chunked\x00\r\n'
                              b'Content-Length: 4\r\n', _in_chunk),
     400, True),
    ('te_bare_cr_in_value', _post(b'Transfer-Encoding: chun\rked\r\n'
                                  b'Content-Length: 4\r\n', _in_chunk),
     400, True),
    ('te_name_trailing_tab', _post(b'Transfer-Encoding\t: chunked\r\n'
                                   b'Content-Length: 4\r\n', _in_chunk),
     400, True),
    # duplicate and signed Content-Length
    ('cl_leading_zeros', _post(b'Content-Length: 005\r\n', b'hello'),
     200, False),
    ('cl_tab_before_value', _post(b'Content-Length:\t5\r\n', b'hello'),
     400, False),
    ('cl_two_numbers', _post(b'Content-Length: 5 5\r\n', b'hello'),
     400, False),
    ('cl_empty', _post(b'Content-Length: \r\n', b''), 400, False),
    ('cl_hex', _post(b'Content-Length: 0x5\r\n', b'hello'), 400, False),
    ('cl_cl_zero_then_five', _post(b'Content-Length: 0\r\n'
                                   b'Content-Length: 5\r\n',
                                   b'hello' + SMUGGLED), 400, True),
    # ignored (underscore): no body; "hello" is a bad next request
    ('cl_underscore_name', _post(b'Content_Length: 5\r\n', b'hello'),
     200, False),
    # chunk extensions and sizes
    ('chunk_ext_quoted', _post(b'Transfer-Encoding: chunked\r\n',
                               b'5;a="b;c"\r\nhello\r\n0\r\n\r\n'),
     200, False),
    ('chunk_ext_bare_cr', _post(b'Transfer-Encoding: chunked\r\n',
                                b'5;a\rb\r\nhello\r\n0\r\n\r\n'),
     400, False),
    ('chunk_ext_on_last', _post(b'Transfer-Encoding: chunked\r\n',
                                b'5\r\nhello\r\n0;last=1\r\n\r\n'),
     200, False),
    ('chunk_size_leading_zeros', _post(b'Transfer-Encoding: chunked\r\n',
                                       b'0005\r\nhello\r\n0\r\n\r\n'),
     200, False),
    ('chunk_size_space', _post(b'Transfer-Encoding: chunked\r\n',
                               b'5 \r\nhello\r\n0\r\n\r\n'), 200, False),
    ('chunk_size_uppercase', _post(b'Transfer-Encoding: chunked\r\n',
                                   b'A\r\n0123456789\r\n0\r\n\r\n'),
     200, False),
    ('chunk_size_2_63', _post(b'Transfer-Encoding: chunked\r\n',
                              b'8000000000000000\r\nhello\r\n'), 400, True),
    ('chunk_data_takes_cr', _post(b'Transfer-Encoding: chunked\r\n',
                                  b'6\r\nhello\r\n0\r\n\r\n'), 200, False),
    ('chunk_missing_last', _post(b'Transfer-Encoding: chunked\r\n',
                                 b'5\r\nhello\r\n' + SMUGGLED), 400, True),
    # obs-fold, bare CR, NUL
    ('obs_fold_tab', _get(H.strip(), b'X-A: a', b'\tfolded'), 400, False),
    ('obs_fold_first_line', _get(b' X-A: a', H.strip()), 400, False),
    ('bare_cr_line_end', b'GET /in HTTP/1.1\r' + H + b'\r\n', 400, False),
    ('bare_cr_in_request_line', _get(H.strip(), line=b'GET /in\r HTTP/1.1'),
     400, False),
    ('nul_in_request_line', _get(H.strip(), line=b'GET /in\x00 HTTP/1.1'),
     400, False),
    ('nul_in_header_name', _get(H.strip(), b'X-\x00A: b'), 400, False),
    ('nul_in_method', _get(H.strip(), line=b'GE\x00T /in HTTP/1.1'),
     400, False),
    # absolute-form and other request-target forms
    ('absolute_form_host_mismatch', _get(b'Host: y',
                                         line=b'GET http://x/in HTTP/1.1'),
     200, False),
    ('absolute_form_no_path', _get(H.strip(), line=b'GET http://x HTTP/1.1'),
     200, False),
    ('absolute_form_https', _get(H.strip(),
                                 line=b'GET https://x/in HTTP/1.1'), 200, False),
    ('absolute_form_bad_scheme', _get(H.strip(),
                                      line=b'GET ftp://x/in HTTP/1.1'),
     200, False),
    ('absolute_form_userinfo', _get(H.strip(),
                                    line=b'GET http://u@x/in HTTP/1.1'),
     400, False),
    ('asterisk_form', _get(H.strip(), line=b'OPTIONS * HTTP/1.1'), 400, False),
    ('authority_form', _get(H.strip(), line=b'CONNECT x:443 HTTP/1.1'),
     400, False),
]

# Where lbd deliberately answers otherwise than nginx: name -> (lbd's
# answer, why). Each is as safe as nginx's answer (nothing ambiguous is
# forwarded: lbd re-frames every body it forwards) and is listed for review.
LBD_DIFFERS = {
    # RFC 9110 5.6.3: OWS is SP or HTAB; nginx skips only SP before a value
    'te_tab_before_value': (200, 'HTAB is OWS: the value is "chunked"'),
    'cl_tab_before_value': (200, 'HTAB is OWS: the value is "5"'),
    # a CTL in a field value is refused before Transfer-Encoding is looked at
    'te_vtab_before_value': (400, 'VT (a CTL) in a field value'),
}

CONF = """
upstream app {
    server 127.0.0.1:{b1};
    keepalive 4;
}
server {
    listen 127.0.0.1:{port};
    client_header_timeout 2s;
    client_body_timeout 2s;
    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}"""


# -- path traversal against a static root (issue 8 item 3). The root is
# html/pub; html/secret.txt sits just above it and must never be served.
SECRET = b'lbd-secret-7d1c'

STATIC_CONF = """
server {
    listen 127.0.0.1:{port};
    location / {
        root {prefix}/html/pub;
    }
}"""

# (name, request-target, nginx 1.22.1's answer)
STATIC_CASES = [
    ('static_ok', b'/ok.txt', 200),
    ('static_dot_segment', b'/./ok.txt', 200),
    ('static_dotdot_inside_root', b'/a/../ok.txt', 200),
    ('static_double_slash', b'//ok.txt', 200),
    ('static_dotdot', b'/../secret.txt', 400),
    ('static_dotdot_deep', b'/a/../../secret.txt', 400),
    ('static_pct_dotdot', b'/%2e%2e/secret.txt', 400),
    ('static_pct_dotdot_upper', b'/%2E%2E/secret.txt', 400),
    ('static_half_pct_dotdot', b'/.%2e/secret.txt', 400),
    ('static_pct_slash', b'/..%2fsecret.txt', 400),
    ('static_pct_slash_deep', b'/a%2f..%2f..%2fsecret.txt', 400),
    ('static_double_encoded', b'/%252e%252e/secret.txt', 404),
    ('static_backslash', b'/..\\secret.txt', 404),
    ('static_pct_nul', b'/ok.txt%00.html', 400),
    ('static_pct_nul_dir', b'/a%00/../../secret.txt', 400),
]


def _run_static(t, name, target, want):
    p = t.proxy(STATIC_CONF, start=False)
    t.write(os.path.join(p.prefix, 'html', 'pub', 'ok.txt'), 'ok\n')
    t.write(os.path.join(p.prefix, 'html', 'pub', 'a', 'x.txt'), 'x\n')
    t.write(os.path.join(p.prefix, 'html', 'secret.txt'), SECRET)
    p.start()
    outcome, rs, c = raw_exchange(
        p.port, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n'
        b'Connection: close\r\n\r\n', timeout=4.0)
    c.close()
    assert not rs or SECRET not in rs[0].body, \
        '%s: the file above the root was served' % name
    assert outcome == want, '%s: nginx answers %r, got %r' % (
        name, want, outcome)
    if want == 200:
        assert rs[0].body == b'ok\n', rs[0].body


def _make_static(name, target, want):
    def test(t):
        _run_static(t, name, target, want)
    test.__name__ = 'test_' + name
    return test


for _c in STATIC_CASES:
    globals()['test_' + _c[0]] = _make_static(*_c)


def exchange(port, data, follow=True):
    """Send one case; return (outcome, responses read, follow-ups).

    After the first answer (with FOLLOW), further answers are read until
    the connection closes or stays quiet for a second: a second answer
    means a second request was found in the bytes."""
    outcome, rs, c = raw_exchange(port, data, timeout=4.0)
    more = []
    try:
        if rs and follow:
            while True:
                try:
                    more.append(c.read_response(timeout=1.0).status)
                except ConnClosed:
                    more.append('close')
                    break
                except (socket.timeout, OSError):
                    more.append('open')
                    break
    finally:
        c.close()
    return outcome, rs, more


def _run_case(t, name, data, want, smuggle):
    b1 = t.backend('b1')
    p = t.proxy(CONF, b1=b1)
    # the follow-ups only matter for a smuggling attempt (a second answer);
    # the marker below shows what reached the backend in every case
    outcome, rs, more = exchange(p.port, data, follow=smuggle)
    if not t.is_nginx and name in LBD_DIFFERS:
        want = LBD_DIFFERS[name][0]
    assert outcome == want, '%s: %s answers %r, got %r' % (
        name, 'nginx' if name not in LBD_DIFFERS else 'lbd', want, outcome)
    forwarded = 1 if isinstance(want, int) and want < 300 else 0
    if forwarded:
        assert rs[0].backend == 'b1', 'answer not from the backend: %r' % (
            rs[0].headers)
    # A marker request on a fresh connection: once it has been answered,
    # anything the case made the proxy send upstream has arrived.
    r = p.get('/marker')
    assert r.status == 200, r
    paths = b1.paths()
    assert not [x for x in paths if 'smuggled' in x], \
        'smuggled request reached the backend: %r' % paths
    assert paths.count('/marker') == 1 and len(paths) == forwarded + 1, \
        'backend saw %r, want %d request(s) before the marker' % (
            paths, forwarded)
    if smuggle:
        assert len(rs) + len([m for m in more if isinstance(m, int)]) <= 1, \
            'more than one answer on the connection: %r' % more


def _make(name, data, want, smuggle):
    def test(t):
        _run_case(t, name, data, want, smuggle)
    test.__name__ = 'test_' + name
    return test


for _c in CASES:
    globals()['test_' + _c[0]] = _make(*_c)


# -- X-Forwarded-For against realip (issue 8 item 3): the proxy trusts
# 127.0.0.1 only (recursive on). (name, header lines, client source
# address, nginx 1.22.1's answer, the X-Real-IP ($remote_addr) the backend
# saw). A client-supplied address is taken only from a trusted peer, only
# when it parses, and never from the left of an untrusted hop.
XFF_CONF = """
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
real_ip_recursive on;
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_set_header X-Real-IP $remote_addr;
    }
}"""

XFF_CASES = [
    ('xff_plain', [b'X-Forwarded-For: 203.0.113.9'], '127.0.0.1', 200,
     '203.0.113.9'),
    ('xff_untrusted_peer', [b'X-Forwarded-For: 203.0.113.9'], '127.0.0.2',
     200, '127.0.0.2'),
    ('xff_untrusted_hop_stops_walk',
     [b'X-Forwarded-For: 10.0.0.1, 198.51.100.4, 127.0.0.1'], '127.0.0.1',
     200, '198.51.100.4'),
    ('xff_all_trusted', [b'X-Forwarded-For: 127.0.0.1, 127.0.0.1'],
     '127.0.0.1', 200, '127.0.0.1'),
    ('xff_garbage', [b'X-Forwarded-For: <script>'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_unknown', [b'X-Forwarded-For: unknown'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_empty', [b'X-Forwarded-For:'], '127.0.0.1', 200, '127.0.0.1'),
    ('xff_only_commas', [b'X-Forwarded-For: , ,,'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_trailing_comma', [b'X-Forwarded-For: 203.0.113.9,'], '127.0.0.1',
     200, '203.0.113.9'),
    ('xff_octet_overflow', [b'X-Forwarded-For: 1.2.3.256'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_broadcast', [b'X-Forwarded-For: 255.255.255.255'], '127.0.0.1',
     200, '127.0.0.1'),
    ('xff_leading_zeros', [b'X-Forwarded-For: 010.001.002.003'], '127.0.0.1',
     200, '10.1.2.3'),
    ('xff_with_port', [b'X-Forwarded-For: 203.0.113.9:8080'], '127.0.0.1',
     200, '203.0.113.9'),
    ('xff_bad_port', [b'X-Forwarded-For: 203.0.113.9:99999'], '127.0.0.1',
     200, '127.0.0.1'),
    ('xff_ipv6', [b'X-Forwarded-For: 2001:db8::1'], '127.0.0.1', 200,
     '2001:db8::1'),
    ('xff_ipv6_bracket_port', [b'X-Forwarded-For: [2001:db8::1]:443'],
     '127.0.0.1', 200, '2001:db8::1'),
    ('xff_ipv6_zone', [b'X-Forwarded-For: fe80::1%eth0'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_v4_mapped', [b'X-Forwarded-For: ::ffff:203.0.113.9'], '127.0.0.1',
     200, '::ffff:203.0.113.9'),
    ('xff_semicolon_list', [b'X-Forwarded-For: 1.1.1.1;2.2.2.2'],
     '127.0.0.1', 200, '127.0.0.1'),
    ('xff_two_headers', [b'X-Forwarded-For: 203.0.113.9',
                         b'X-Forwarded-For: 127.0.0.1'], '127.0.0.1', 200,
     '203.0.113.9'),
    ('xff_lowercase_name', [b'x-forwarded-for: 203.0.113.9'], '127.0.0.1',
     200, '203.0.113.9'),
    ('xff_x_real_ip_ignored', [b'X-Real-IP: 203.0.113.9'], '127.0.0.1', 200,
     '127.0.0.1'),
    ('xff_long_chain', [b'X-Forwarded-For: ' + b', '.join(
        [b'198.51.100.1'] + [b'127.0.0.1'] * 500)], '127.0.0.1', 200,
     '198.51.100.1'),
    ('xff_nul', [b'X-Forwarded-For: 203.0.113.9\x00'], '127.0.0.1', 400, None),
    ('xff_space_before_colon', [b'X-Forwarded-For : 203.0.113.9'],
     '127.0.0.1', 400, None),
    ('xff_obs_fold', [b'X-Forwarded-For: 1.1.1.1,', b' 203.0.113.9'],
     '127.0.0.1', 400, None),
]


def _xff_exchange(port, lines, src):
    """One request with LINES from SRC: (status or 'close', response)."""
    with Conn(port, source=src, timeout=4.0) as c:
        c.send(b'GET /xff HTTP/1.1\r\nHost: x\r\n' +
               b''.join(h + b'\r\n' for h in lines) +
               b'Connection: close\r\n\r\n')
        try:
            r = c.read_response(timeout=4.0)
        except (ConnClosed, OSError):
            return 'close', None
    return r.status, r


def _run_xff(t, name, lines, src, want, want_addr):
    b1 = t.backend('b1')
    p = t.proxy(XFF_CONF, b1=b1)
    status, r = _xff_exchange(p.port, lines, src)
    assert status == want, '%s: nginx answers %r, got %r' % (
        name, want, status)
    if want_addr is None:
        assert b1.count() == 0, 'forwarded: %r' % b1.paths()
        return
    assert r.backend == 'b1', r
    got = b1.last().header('X-Real-IP')
    assert got == want_addr, '%s: $remote_addr %r, nginx has %r' % (
        name, got, want_addr)


def _make_xff(name, lines, src, want, want_addr):
    def test(t):
        _run_xff(t, name, lines, src, want, want_addr)
    test.__name__ = 'test_' + name
    return test


for _c in XFF_CASES:
    globals()['test_' + _c[0]] = _make_xff(*_c)



# -- nginx's header buffers (client_header_buffer_size, then
# large_client_header_buffers' NUM buffers of SIZE): a line never spans two
# of them, so what a head may hold depends on where its lines fall. When
# they run out nginx answers at once (the head need not be finished) and
# closes; each case sends a head without its end and must be answered.
HEADBUF_CONF = """
server {
    listen 127.0.0.1:{port};
    server_name x;
    location / { return 200 "ok\\n"; }
}
server {
    listen 127.0.0.1:{port2};
    server_name y;
    client_header_buffer_size 1k;
    large_client_header_buffers 1 2k;
    location / { return 200 "ok\\n"; }
}
server {
    listen 127.0.0.1:{port3} ssl;
    server_name x;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "ok\\n"; }
}"""


def _fields(n, size):
    """N field lines of SIZE bytes each, CRLF included."""
    return b''.join(b'X-H%d: ' % i + b'c' * (size - 8 - len(str(i))) + b'\r\n'
                    for i in range(n))


# (name, port key, bytes sent (no end of head), status, page text, log line)
HEADBUF_CASES = [
    # five 5000-byte lines: 25 kB, but one per 8k buffer, and the fifth
    # has none left (nginx logs at most 1748 of its bytes)
    ('fields_spread', 'port', b'GET / HTTP/1.1\r\nHost: x\r\n' + _fields(5, 5000),
     400, b'Request Header Or Cookie Too Large',
     'client sent too long header line: "X-H4: %s..." while reading client request '
     'headers, client: 127.0.0.1, server: x, request: "GET / HTTP/1.1", host: "x"'
     % ('c' * (1748 - 6))),
    # one line of 8k without its end
    ('field_8k', 'port', b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'b' * 8186,
     400, b'Request Header Or Cookie Too Large',
     'client sent too long header line: "X-Big: %s..." while reading client request '
     'headers, client: 127.0.0.1, server: x, request: "GET / HTTP/1.1", host: "x"'
     % ('b' * (1748 - 7))),
    # a request line as long as a large buffer, without its end
    ('uri_8k', 'port', b'GET /' + b'a' * 8187, 414, b'414 Request-URI Too Large',
     'client sent too long URI while reading client request line, client: '
     '127.0.0.1, server: x, request: "GET /%s' % ('a' * 800)),
    # the request line fills the only large buffer to its last byte: no
    # field line begun when it runs out
    ('request_fills_buffers', 'port2',
     b'GET /' + b'a' * (2048 - 16) + b' HTTP/1.1\r\n', 400,
     b'Request Header Or Cookie Too Large',
     'client sent too large request while reading client request headers'),
    # the buffers fill right at a line end: nginx names the last line
    ('buffers_full_at_line_end', 'port2',
     b'GET / HTTP/1.1\r\nHost: y\r\nX-A: ' + b'a' * 993 + b'\r\nX-B: ' +
     b'b' * 1041 + b'\r\n', 400, b'Request Header Or Cookie Too Large',
     # (nginx's text has NULs where it ended the previous line's name and
     # value in place; lbd's has the line as it came)
     'client sent too long header line: "X-B'),
    # over TLS the same
    ('fields_spread_tls', 'port3', b'GET / HTTP/1.1\r\nHost: x\r\n' + _fields(5, 5000),
     400, b'Request Header Or Cookie Too Large',
     'client sent too long header line: "X-H4: '),
]


def _headbuf_proxy(t):
    from test_tls import _certs
    d, c = _certs(t, ('a', 'x', 'ec'))
    return t.proxy(HEADBUF_CONF % (c['a'][0], c['a'][1]))


def _headbuf_answer(port, data, tls):
    """The bytes the proxy answers DATA with, up to its close."""
    import ssl
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname='x')
    out = b''
    try:
        s.sendall(data)
        out = recv_until_close(s, reset_ok=True, end_on=(ssl.SSLError,))
    except (ConnectionResetError, ssl.SSLError):
        pass  # sending
    except socket.timeout as e:
        raise AssertionError('no answer before the end of the head: %r' % e.got[:200])
    finally:
        s.close()
    return out


def _run_headbuf(t, name, key, data, status, page, log):
    p = _headbuf_proxy(t)
    out = _headbuf_answer(int(p.subs[key]) if key != 'port' else p.port, data,
                          key == 'port3')
    assert out.startswith(b'HTTP/1.1 %d ' % status), out[:200]
    assert page in out and b'Connection: close' in out, out[:400]

    def logged():
        for ln in p.error_log().split('\n'):
            if '[info]' in ln and log in ln:
                return True
        return False
    wait_for(logged, what='%r in error.log' % log[:80])


def _make_headbuf(name, key, data, status, page, log):
    def test(t):
        _run_headbuf(t, name, key, data, status, page, log)
    test.__name__ = 'test_headbuf_' + name
    return test


for _c in HEADBUF_CASES:
    globals()['test_headbuf_' + _c[0]] = _make_headbuf(*_c)


def test_headbuf_whole_heads(t):
    # complete heads: four 5000-byte lines fit (one per buffer), five do
    # not although 25 kB is under 4 x 8k; seven 4000-byte lines fit (two
    # per buffer)
    p = _headbuf_proxy(t)
    for n, size, want in ((4, 5000, 200), (5, 5000, 400), (7, 4000, 200), (9, 4000, 400)):
        st, rs, c = raw_exchange(p.port, b'GET / HTTP/1.1\r\nHost: x\r\n' +
                                 _fields(n, size) + b'Connection: close\r\n\r\n')
        c.close()
        assert st == want, (n, size, st)


def probe():
    """Run every case against nginx and print a markdown table of what it
    answered (and what follows on the connection)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness
    rows = []
    for name, data, want, smuggle in CASES:
        case = harness.Case('nginx', name)
        try:
            b1 = case.backend('b1')
            p = case.proxy(CONF, b1=b1)
            t0 = time.monotonic()
            outcome, rs, more = exchange(p.port, data)
            dt = time.monotonic() - t0
            p.get('/marker')
            seen = [x for x in b1.paths() if x != '/marker']
            why = ''
            for line in p.error_log().split('\n'):
                if '[info]' not in line and '[error]' not in line:
                    continue
                msg = line.split('] ', 1)[1].split(' ', 2)[2]
                if 'closed' not in msg and not msg.startswith('epoll'):
                    why = msg.split(', client:')[0].split(' while ')[0]
                    if len(why) > 70:
                        why = why[:60] + '...'
                    break
        finally:
            case.cleanup()
        flag = '' if outcome == want else '  <-- table says %r' % (want,)
        rows.append((name, outcome, ' '.join(map(str, more)) or '-',
                     ','.join(seen) or '-', why.replace('|', '\\|') or '-',
                     flag))
    for name, target, want in STATIC_CASES:
        case = harness.Case('nginx', name)
        try:
            try:
                _run_static(case, name, target, want)
                outcome = want
            except AssertionError as e:
                outcome = str(e).rsplit(' ', 1)[-1]
        finally:
            case.cleanup()
        flag = '' if outcome == want else '  <-- table says %r' % (want,)
        rows.append((name, outcome, '-', '-', 'static root', flag))
    print('| case | nginx 1.22.1 | then | backend saw | nginx error log |')
    print('|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %s | %s | %s |%s' % r)


if __name__ == '__main__':
    probe()
