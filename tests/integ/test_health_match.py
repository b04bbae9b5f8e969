# SPDX-License-Identifier: MIT
"""Health-check `match` blocks (nginx Plus syntax; lbd only: nginx open
source has no active checks). Each condition kind both ways on live
backends: status lists, ranges and `!`; header =, !=, ~, presence and
`! NAME`; body ~ and !~ on a Content-Length body and on a chunked one. A
backend whose answer stops matching (a header) is marked unhealthy, its
traffic moves, and it comes back when the answer matches again;
`lbctl upstream list` and the error log show it."""

from harness import conf_line, wait_for
from test_health import _lbctl, _loop

MATCHES = """
match st_ok    { status 200 204 300-399; }
match st_not   { status ! 200; }
match hd_ok    { header Content-Type = application/json; header X-Backend;
                 header ! X-Nope; header Server ~ "^integ-"; header Server != nginx; }
match hd_bad   { header Content-Type ~ html; }
match hd_gone  { header ! X-Backend; }
match body_ok  { status 200; body ~ "lbd-health-check"; body !~ "Mozilla"; }
match body_bad { body !~ "lbd-health-check"; }
match ch_ok    { body ~ "(?s)beta.gamma"; }  # across two chunks
match ch_bad   { body ~ "delta"; }
match state    { status 200; header X-State != maint; }
"""

# (group, match, uri, passes)
GROUPS = [
    ('st_ok', 'st_ok', '/', True),
    ('st_not', 'st_not', '/', False),
    ('hd_ok', 'hd_ok', '/', True),
    ('hd_bad', 'hd_bad', '/', False),
    ('hd_gone', 'hd_gone', '/', False),
    ('body_ok', 'body_ok', '/', True),
    ('body_bad', 'body_bad', '/', False),
    ('ch_ok', 'ch_ok', '/chunked', True),
    ('ch_bad', 'ch_bad', '/chunked', False),
]


def _row(t, p, group, b):
    out = _lbctl(t, p, 'upstream', 'list', group)
    name = '127.0.0.1:%d' % b.port
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return f
    raise AssertionError('no row for %s in:\n%s' % (name, out))


def test_hc_match_conditions(t):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    b = t.backend('b')
    conf = MATCHES
    for g, m, uri, _ in GROUPS:
        conf += ('upstream %s { health_check interval=200ms match=%s uri=%s; '
                 'server 127.0.0.1:{b}; }\n' % (g, m, uri))
    conf += 'server {\n    listen 127.0.0.1:{port};\n'
    for g, _, _, _ in GROUPS:
        conf += '    location /%s/ { proxy_pass http://%s/; }\n' % (g, g)
    conf += '}\n'
    p = t.proxy(conf, b=b)
    for g, m, uri, passes in GROUPS:
        wait_for(lambda: _row(t, p, g, b)[7] != '0', timeout=10,
                 what='a check in %s' % g)
        row = _row(t, p, g, b)
        want = 'up' if passes else 'unhealthy'
        assert row[2] == want, (g, row)
        if not passes:
            assert row[8:] == ['HTTP', '200,', 'no', 'match'], (g, row)
    log = p.error_log()
    assert ('upstream server 127.0.0.1:%d of "hd_bad" is unhealthy: HTTP 200, '
            'no match' % b.port) in log, log
    assert '"hd_ok" is unhealthy' not in log, log


def test_hc_match_moves_traffic(t):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    b1, b2 = t.backends('b1', 'b2')
    p = t.proxy(MATCHES + """
upstream app {
    health_check interval=200ms match=state;
    server 127.0.0.1:{b1};
    server 127.0.0.1:{b2};
}
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""", b1=b1, b2=b2)
    wait_for(lambda: _row(t, p, 'app', b2)[7] != '0', timeout=10,
             what='a check of b2')
    assert _row(t, p, 'app', b2)[2] == 'up'
    # b2 says it is in maintenance: a 200 that fails the header condition
    b2.force_path = '/headers?X-State=maint'
    wait_for(lambda: _row(t, p, 'app', b2)[2] == 'unhealthy', timeout=10,
             what='b2 unhealthy')
    errors, who = [], []
    _loop(p, 20, 0.0, errors=errors, who=who)
    assert errors == [] and set(who) == {'b1'}, (errors, who)
    b2.force_path = None
    wait_for(lambda: _row(t, p, 'app', b2)[2] == 'up', timeout=10,
             what='b2 up again')
    who.clear()
    _loop(p, 20, 0.0, errors=errors, who=who)
    assert errors == [] and 'b2' in who, (errors, who)
    log = p.error_log()
    name = '127.0.0.1:%d' % b2.port
    assert 'upstream server %s of "app" is unhealthy: HTTP 200, no match' % name \
        in log, log
    assert 'upstream server %s of "app" is healthy again' % name in log, log


def test_hc_match_config_errors(t):
    """Unknown match names and bad lines fail -t with FILE:LINE."""
    if t.is_nginx:
        t.skip('match and health_check are nginx Plus directives')
    cases = [
        ('upstream app { health_check match=nope; server 127.0.0.1:9; }',
         'match "nope" not found', 'health_check match=nope'),
        ('match m { status 2xx; }', 'invalid status "2xx"', 'match m {'),
        ('match m { body = x; }', 'invalid parameter "="', 'match m {'),
    ]
    for text, want, line_of in cases:
        p = t.proxy(text + """
server {
    listen 127.0.0.1:{port};
    location / { return 200; }
}""", start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (text, out)
        assert conf_line(p, line_of) in out, (text, out)
