# SPDX-License-Identifier: MIT
"""A gRPC server for test_grpc.py, run with Debian's /usr/bin/python3
(python3-grpcio): `grpc_echo_server.py PORT DIR [CERT KEY]` (with CERT
and KEY: over TLS). Service test.Echo, raw
bytes in and out (generic handlers, no protoc):

  Unary         the request back, prefixed "echo:"
  Size          request "N:..." (any length): the request's sha256 in hex,
                ":", then N bytes (N a multiple of 256)
  Peer          the client's address and port as the server sees it
  Meta          the request's metadata as JSON (what grpc_set_header and
                the client's headers became)
  Fail          aborts at once: INVALID_ARGUMENT "bad thing" (Trailers-Only)
  FailLate      one message, then NOT_FOUND "gone late" in the trailers
  Slow          answers only once DIR/REQUEST (the request as a file name)
                exists, at most 20 s
  ServerStream  "one", then waits for DIR/REQUEST to exist (at most 20 s),
                then "two": a client that sees "one" before it creates the
                file proves the first message was not held back
  Die           "one", then the process exits once DIR/REQUEST exists
  ClientStream  the messages joined with "+"; DIR/got1 is created when the
                first one arrives, so a client may hold the second until
                then (the body was streamed, not read whole first)
  ClientStreamFail  creates DIR/got1 on the first message, then aborts:
                FAILED_PRECONDITION "stop early", the request unfinished
  Bidi          each message answered as it arrives: "echo:" and the
                message, so a client may wait for each answer before it
                sends the next one
  BidiEarly     answers the first message ("first:" and it), then ends
                the call OK with trailing metadata x-early: yes, the
                client's stream still open
  BidiDie       answers the first message as Bidi, then the process exits
                once DIR/MESSAGE exists, the client's stream still open
  BidiCancel    answers each message as Bidi; when the call ends before
                the client's stream did (the client's RST_STREAM reached
                the server as a cancel), DIR/cancelled is created

Prints "ready" once listening."""

import hashlib
import json
import os
import sys
import time
from concurrent import futures

import grpc

PORT, DIR = int(sys.argv[1]), sys.argv[2]


def wait_file(name, limit=20.0):
    path = os.path.join(DIR, name)
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False


def unary(req, ctx):
    return b'echo:' + req


def size(req, ctx):
    n = int(req[:16].split(b':')[0])
    return hashlib.sha256(req).hexdigest().encode() + b':' + bytes(
        (i * 7 + 3) & 255 for i in range(256)) * (n // 256)


def peer(req, ctx):
    return ctx.peer().encode()


def meta(req, ctx):
    return json.dumps(sorted([k, v] for k, v in ctx.invocation_metadata()
                             if isinstance(v, str))).encode()


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, 'bad thing')


def fail_late(req, ctx):
    yield b'partial'
    ctx.abort(grpc.StatusCode.NOT_FOUND, 'gone late')


def slow(req, ctx):
    wait_file(req.decode())
    return b'slow done'


def server_stream(req, ctx):
    yield b'one'
    wait_file(req.decode())
    yield b'two'


def die(req, ctx):
    yield b'one'
    wait_file(req.decode())
    os._exit(3)


def client_stream(it, ctx):
    got = []
    for m in it:
        got.append(m)
        if len(got) == 1:
            open(os.path.join(DIR, 'got1'), 'w').close()
    return b'+'.join(got)


def client_stream_fail(it, ctx):
    next(it)
    open(os.path.join(DIR, 'got1'), 'w').close()
    ctx.abort(grpc.StatusCode.FAILED_PRECONDITION, 'stop early')


def bidi(it, ctx):
    for m in it:
        yield b'echo:' + m


def bidi_early(it, ctx):
    m = next(it)
    yield b'first:' + m
    ctx.set_trailing_metadata((('x-early', 'yes'),))


def bidi_die(it, ctx):
    m = next(it)
    yield b'echo:' + m
    wait_file(m.decode())
    os._exit(3)


def bidi_cancel(it, ctx):
    done = []

    def mark():
        open(os.path.join(DIR, 'cancelled'), 'w').close()
    ctx.add_callback(lambda: None if done else mark())  # over before its end: a cancel
    for m in it:
        yield b'echo:' + m
    # grpcio may end the requests of a cancelled call as END_STREAM would:
    # the call then goes inactive, where a half-closed one stays active
    end = time.monotonic() + 5
    while ctx.is_active() and time.monotonic() < end:
        time.sleep(0.01)
    if not ctx.is_active():
        mark()
    done.append(True)


def raw(x):
    return x


H = {
    'Unary': grpc.unary_unary_rpc_method_handler(unary, raw, raw),
    'Size': grpc.unary_unary_rpc_method_handler(size, raw, raw),
    'Peer': grpc.unary_unary_rpc_method_handler(peer, raw, raw),
    'Meta': grpc.unary_unary_rpc_method_handler(meta, raw, raw),
    'Fail': grpc.unary_unary_rpc_method_handler(fail, raw, raw),
    'FailLate': grpc.unary_stream_rpc_method_handler(fail_late, raw, raw),
    'Slow': grpc.unary_unary_rpc_method_handler(slow, raw, raw),
    'ServerStream': grpc.unary_stream_rpc_method_handler(server_stream, raw, raw),
    'Die': grpc.unary_stream_rpc_method_handler(die, raw, raw),
    'ClientStream': grpc.stream_unary_rpc_method_handler(client_stream, raw, raw),
    'ClientStreamFail': grpc.stream_unary_rpc_method_handler(client_stream_fail, raw, raw),
    'Bidi': grpc.stream_stream_rpc_method_handler(bidi, raw, raw),
    'BidiEarly': grpc.stream_stream_rpc_method_handler(bidi_early, raw, raw),
    'BidiCancel': grpc.stream_stream_rpc_method_handler(bidi_cancel, raw, raw),
    'BidiDie': grpc.stream_stream_rpc_method_handler(bidi_die, raw, raw),
}

server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler('test.Echo', H),))
if len(sys.argv) > 4:  # CERT KEY: over TLS (grpcs://)
    with open(sys.argv[3], 'rb') as f:
        crt = f.read()
    with open(sys.argv[4], 'rb') as f:
        key = f.read()
    server.add_secure_port('127.0.0.1:%d' % PORT, grpc.ssl_server_credentials([(key, crt)]))
else:
    server.add_insecure_port('127.0.0.1:%d' % PORT)
server.start()
print('ready', flush=True)
server.wait_for_termination()
