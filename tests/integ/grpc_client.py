# SPDX-License-Identifier: MIT
"""The gRPC client of test_grpc.py, run with /usr/bin/python3:
`grpc_client.py PORT JSON`, JSON = {"call": KIND, "method": NAME, "req":
TEXT, "prefix": P (before the path), "pad": N, "digest": BOOL, "meta": [[K, V]...], "dir": DIR, "msgs":
[TEXT...], "n": N, "timeout": S}. KIND: unary (REQ then N "x"; with digest:
the answer's "HEAD:REST" as HEAD, len and sha256 of REST), many (N unary
calls at once on one channel, requests "0".."N-1"), sstream (reads "one", then creates DIR/REQ and reads on),
cstream (sends msgs[0], waits for DIR/got1, sends the rest), bidi (sends
msgs[i] only once the answer to msgs[i-1] came; "big": N messages of
that many bytes instead, sent without waiting, the answers read as they
come, each given as its length and sha256; with "dir": DIR/msgs[0] made
once the first answer came; "cancel": the call cancelled after the first answer, then DIR/
cancelled awaited; "hold": after the messages, the stream is kept open
that many seconds more, unless the call ended). Prints one
JSON line: code, details, the answer(s), trailing metadata."""

import hashlib
import json
import os
import sys
import time

import grpc

port, a = int(sys.argv[1]), json.loads(sys.argv[2])
ch = grpc.insecure_channel('127.0.0.1:%d' % port)
grpc.channel_ready_future(ch).result(timeout=10)
path = a.get('prefix', '') + '/test.Echo/' + a['method']
meta = [tuple(m) for m in a.get('meta', [])]
tmo = a.get('timeout', 15)
out = {'code': 'OK', 'details': '', 'resp': [], 'trailing': [], 'order': []}


def wait_file(p, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(p):
            return True
        time.sleep(0.01)
    return False


try:
    if a['call'] == 'unary':
        f = ch.unary_unary(path)
        req = a['req'].encode() + b'x' * a.get('pad', 0)
        r, call = f.with_call(req, metadata=meta, timeout=tmo)
        if a.get('digest'):  # a big answer: its sha256 and length only
            head, _, rest = r.partition(b':')
            out['resp'] = [head.decode(), len(rest), hashlib.sha256(rest).hexdigest()]
            out['sent'] = hashlib.sha256(req).hexdigest()
        else:
            out['resp'] = [r.decode()]
        out['trailing'] = [list(x) for x in call.trailing_metadata() or []]
    elif a['call'] == 'sstream':
        call = ch.unary_stream(path)(a['req'].encode(), metadata=meta, timeout=tmo)
        for m in call:
            out['resp'].append(m.decode())
            if len(out['resp']) == 1:
                out['order'].append('first-seen')
                if a.get('dir'):
                    open(os.path.join(a['dir'], a['req']), 'w').close()
        out['trailing'] = [list(x) for x in call.trailing_metadata() or []]
    elif a['call'] == 'many':  # N unary calls at once on one channel
        f = ch.unary_unary(path)
        futs = [f.future(('%d' % i).encode(), metadata=meta, timeout=tmo)
                for i in range(a['n'])]
        out['resp'] = [x.result().decode() for x in futs]
    elif a['call'] == 'cstream':
        def gen():
            msgs = a['msgs']
            yield msgs[0].encode()
            out['order'].append('got1' if wait_file(os.path.join(a['dir'], 'got1'))
                                else 'no-got1')
            for m in msgs[1:]:
                yield m.encode()
        r, call = ch.stream_unary(path).with_call(gen(), metadata=meta, timeout=tmo)
        out['resp'] = [r.decode()]
    elif a['call'] == 'bidi':
        import queue
        got = queue.Queue()
        state = {'ended': False}

        def gen():
            if a.get('big'):  # N messages of BIG bytes, no waiting
                for i in range(a['n']):
                    yield bytes([65 + i % 26]) * a['big']
                return
            for i, m in enumerate(a['msgs']):
                if i:  # the previous answer first: nothing is held back
                    try:
                        got.get(timeout=tmo)
                    except queue.Empty:
                        out['order'].append('no-answer-%d' % i)
                        return
                yield m.encode()
            end = time.monotonic() + a.get('hold', 0)
            while not state['ended'] and time.monotonic() < end:
                time.sleep(0.01)
        call = ch.stream_stream(path)(gen(), metadata=meta, timeout=tmo)
        for m in call:
            out['resp'].append('%d:%s' % (len(m), hashlib.sha256(m).hexdigest())
                               if a.get('big') else m.decode())
            got.put(m)
            if a.get('dir') and len(out['resp']) == 1:
                open(os.path.join(a['dir'], a['msgs'][0]), 'w').close()
            if a.get('cancel'):
                call.cancel()
                out['order'].append('cancelled-file' if wait_file(
                    os.path.join(a['dir'], 'cancelled')) else 'no-cancelled-file')
                break
        state['ended'] = True
        if not a.get('cancel'):
            out['trailing'] = [list(x) for x in call.trailing_metadata() or []]
except grpc.RpcError as e:
    out['code'] = e.code().name
    out['details'] = e.details() or ''
    try:
        out['trailing'] = [list(x) for x in e.trailing_metadata() or []]
    except Exception:  # noqa: BLE001
        pass
print(json.dumps(out), flush=True)
