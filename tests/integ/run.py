#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test runner: every test_* function once per target.

Usage: python3 tests/integ/run.py [-k SUBSTRING]... [-x SUBSTRING]... [-j N]
       [-v] [--list]
Environment: TARGETS=nginx,lbd (default both), LBD=path (default
build/lbd), NGINX=path (default /usr/sbin/nginx), KEEP_TMP=1 keeps the temp
prefixes for debugging.

Prints one line per (test, target) and ends with `N passed, N failed`
(plus `, N skipped` when a test skipped itself with a reason). A target in
TARGETS whose binary is missing fails every one of its tests. Exits 1 when
anything failed.
"""

import argparse
import concurrent.futures
import importlib
import os
import signal
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

# A test running longer than this is reported as failed and its processes
# are killed; its thread is abandoned.
TEST_TIMEOUT = float(os.environ.get('INTEG_TEST_TIMEOUT', '90'))


def discover():
    jobs = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith('test_') and fn.endswith('.py')):
            continue
        mod = importlib.import_module(fn[:-3])
        for name in sorted(dir(mod), key=lambda n: _lineno(mod, n)):
            f = getattr(mod, name)
            if name.startswith('test_') and callable(f):
                jobs.append((mod.__name__, name, f))
    return jobs


def _lineno(mod, name):
    f = getattr(mod, name)
    code = getattr(f, '__code__', None)
    return code.co_firstlineno if code else 0


def where(tb):
    """file:line of the innermost frame inside a test module."""
    frames = traceback.extract_tb(tb)
    for fr in reversed(frames):
        if fr.name.startswith('test_'):
            return '%s:%d' % (os.path.basename(fr.filename), fr.lineno)
    for fr in reversed(frames):
        if os.path.basename(fr.filename).startswith('test_'):
            return '%s:%d' % (os.path.basename(fr.filename), fr.lineno)
    if frames:
        fr = frames[-1]
        return '%s:%d' % (os.path.basename(fr.filename), fr.lineno)
    return '?'


class Result:
    def __init__(self, label):
        self.label = label
        self.status = None  # 'ok' | 'FAIL' | 'skip'
        self.reason = ''
        self.details = ''
        self.secs = 0.0


def run_one(label, fn, target, case_box):
    r = Result(label)
    t0 = time.monotonic()
    case = None
    try:
        case = harness.Case(target, label)
    except AssertionError as e:
        r.status, r.reason = 'FAIL', str(e)
        return r
    case_box.append(case)
    try:
        fn(case)
        r.status = 'ok'
    except harness.Skip as e:
        r.status, r.reason = 'skip', str(e)
    except Exception as e:  # noqa: BLE001 - every error is a failure
        r.status = 'FAIL'
        msg = str(e).strip() or e.__class__.__name__
        if not isinstance(e, AssertionError):
            msg = '%s: %s' % (e.__class__.__name__, msg)
        first = msg.split('\n')[0]
        r.reason = '%s: %s' % (where(e.__traceback__), first)
        rest = msg.split('\n')[1:]
        r.details = '\n'.join(rest)
        if case is not None:
            tails = case.log_tails()
            if tails:
                r.details += '\n--- proxy log tail ---\n' + tails
        r.details += '\n' + ''.join(traceback.format_tb(e.__traceback__))
    finally:
        if case is not None:
            case.cleanup()
        r.secs = time.monotonic() - t0
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-k', action='append', default=[],
                    help='run tests whose label contains SUBSTRING '
                    '(repeatable: any may match)')
    ap.add_argument('-x', action='append', default=[],
                    help='leave out tests whose label contains SUBSTRING '
                    '(repeatable)')
    ap.add_argument('-j', type=int, default=3, help='parallel tests (3)')
    ap.add_argument('-v', action='store_true',
                    help='print details and proxy logs for failures')
    ap.add_argument('--list', action='store_true', help='list and exit')
    a = ap.parse_args()

    targets = [t.strip() for t in
               os.environ.get('TARGETS', 'nginx,lbd').split(',') if t.strip()]
    for t in targets:
        if t not in harness.TARGET_BINS:
            print('unknown target %r in TARGETS (known: %s)' %
                  (t, ', '.join(harness.TARGET_BINS)))
            return 2

    work = []
    for modname, name, fn in discover():
        for t in targets:
            label = '%s.%s[%s]' % (modname, name, t)
            if a.k and not any(k in label for k in a.k):
                continue
            if any(x in label for x in a.x):
                continue
            work.append((label, fn, t))
    if a.list:
        for label, _, _ in work:
            print(label)
        return 0
    if not work:
        print('no tests selected')
        return 1

    for t in targets:
        b = harness.TARGET_BINS[t]
        if not os.access(b, os.X_OK):
            print('note: %s binary %s is missing: its tests will FAIL' %
                  (t, b))

    out_lock = threading.Lock()
    results = []

    def report(r):
        with out_lock:
            results.append(r)
            line = '%-4s %s (%.1fs)' % (r.status, r.label, r.secs)
            if r.reason:
                line += ' - ' + r.reason
            print(line, flush=True)
            if a.v and r.status == 'FAIL' and r.details.strip():
                print('    ' + r.details.strip().replace('\n', '\n    '),
                      flush=True)

    parallel = [w for w in work if not getattr(w[1], 'serial', False)]
    serial = [w for w in work if getattr(w[1], 'serial', False)]
    t0 = time.monotonic()
    run_batch(parallel, max(1, a.j), report)
    run_batch(serial, 1, report)

    passed = sum(r.status == 'ok' for r in results)
    failed = sum(r.status == 'FAIL' for r in results)
    skipped = sum(r.status == 'skip' for r in results)
    summary = '%d passed, %d failed' % (passed, failed)
    if skipped:
        summary += ', %d skipped' % skipped
    print('(%.1fs)' % (time.monotonic() - t0))
    print(summary)
    return 1 if failed else 0


def run_batch(work, nthreads, report):
    if not work:
        return
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=nthreads)
    pending = {}
    queue = list(work)

    def submit():
        while queue and len(pending) < nthreads:
            label, fn, target = queue.pop(0)
            box = []
            fut = ex.submit(run_one, label, fn, target, box)
            pending[fut] = (label, time.monotonic(), box,
                            getattr(fn, 'timeout', TEST_TIMEOUT))

    submit()
    while pending:
        done, _ = concurrent.futures.wait(
            list(pending), timeout=0.5,
            return_when=concurrent.futures.FIRST_COMPLETED)
        for fut in done:
            pending.pop(fut)
            report(fut.result())
        now = time.monotonic()
        for fut, (label, start, box, limit) in list(pending.items()):
            if now - start > limit:
                # Kill what the test started; its thread unblocks later and
                # its result is ignored.
                pending.pop(fut)
                for case in box:
                    case.cleanup()
                r = Result(label)
                r.status = 'FAIL'
                r.reason = 'test exceeded %.0fs' % limit
                r.secs = now - start
                report(r)
        submit()
    ex.shutdown(wait=False, cancel_futures=True)


def _on_term(signum, frame):
    raise KeyboardInterrupt


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _on_term)
    try:
        rc = main()
    except KeyboardInterrupt:
        # Proxies run in their own sessions: they would outlive us.
        harness.cleanup_all()
        print('interrupted')
        rc = 130
    sys.stdout.flush()
    # A test thread abandoned after its timeout must not keep us alive.
    os._exit(rc)
