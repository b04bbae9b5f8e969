# SPDX-License-Identifier: MIT
"""worker_priority and worker_cpu_affinity: the workers' nice value and
CPUs, read from /proc. nginx's workers are processes (the master's
children), lbd's are threads of one process: the test reads whichever
the target has."""

import os

from harness import wait_for

CONF = """
server {
    listen 127.0.0.1:{port};
    location / { return 200 "sched\\n"; }
}"""


def _workers(t, pid):
    """The tasks that serve: nginx's child processes, lbd's threads other
    than the main one."""
    if t.target == 'nginx':
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    return [int(x) for x in os.listdir('/proc/%d/task' % pid) if int(x) != pid]


def _stat_path(t, pid, task):
    if t.target == 'nginx':
        return '/proc/%d' % task
    return '/proc/%d/task/%d' % (pid, task)


def _nice(path):
    with open(path + '/stat') as f:
        # the fields after "(comm)": state is field 3, nice field 19
        return int(f.read().rsplit(')', 1)[1].split()[16])


def _cpus(path):
    with open(path + '/status') as f:
        for line in f:
            if line.startswith('Cpus_allowed_list:'):
                return line.split(':', 1)[1].strip()
    return None


def test_worker_priority_and_cpu_affinity(t):
    two = (os.cpu_count() or 1) >= 2
    masks, want = ('10 01', ['0', '1']) if two else ('1 1', ['0', '0'])
    main = 'worker_priority -3;\nworker_cpu_affinity %s;\n' % masks
    p = t.proxy(CONF, main=main, workers=2)
    assert p.get('/').status == 200
    pid = p.pid
    allowed = _cpus('/proc/%d' % os.getpid())

    def state():
        paths = [_stat_path(t, pid, w) for w in _workers(t, pid)]
        return ([_nice(x) for x in paths],
                sorted(c for c in (_cpus(x) for x in paths) if c != allowed))

    # (nginx's workers set both just after they are forked)
    wait_for(lambda: len(_workers(t, pid)) >= 2 and state()[1] == want,
             what='workers bound: %r' % (want,))
    nice, bound = state()
    assert all(n == -3 for n in nice), nice
    assert bound == want, (bound, allowed)
    # each worker names its CPU at notice, as nginx's
    log = p.error_log()
    for c in sorted(set(want)):
        assert 'sched_setaffinity(): using cpu #%s' % c in log, log


def test_worker_priority_default_unchanged(t):
    p = t.proxy(CONF, workers=1)
    assert p.get('/').status == 200
    pid = p.pid
    wait_for(lambda: len(_workers(t, pid)) >= 1, what='a worker')
    mine = _nice('/proc/%d' % os.getpid())
    for w in _workers(t, pid):
        assert _nice(_stat_path(t, pid, w)) == mine
