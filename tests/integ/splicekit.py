# SPDX-License-Identifier: MIT
"""Helpers for the sizes-and-bounds tests of spliced streams
(test_websocket.py, test_stream.py): a seeded non-periodic byte stream that
a receiver checks position by position (a repeated, lost or reordered
segment shows as the offset of the first wrong byte), a one-thread
selector server for thousands of streams, and the memory the kernel and the
proxy hold for one stream.

Fast on purpose: 256 MiB each way goes in 1 MiB sends/recv_into, compared
with memcmp-speed bytes comparisons, nothing kept."""

import os
import random
import resource
import selectors
import socket
import subprocess
import threading

CYCLE = (4 << 20) + 4093   # not a multiple of any segment or buffer size
CHUNK = 1 << 20


class Stream:
    """Bytes [0, n) of the stream SEED: cycle CYCLE of seeded random bytes."""

    _cache = {}

    def __init__(self, seed):
        if seed not in Stream._cache:
            c = random.Random(seed).randbytes(CYCLE)
            Stream._cache[seed] = c + c[:CHUNK]
        self.dbl = Stream._cache[seed]
        self.mv = memoryview(self.dbl)

    def at(self, off, n):
        """memoryview of bytes [off, off + n), n <= CHUNK."""
        a = off % CYCLE
        return self.mv[a:a + n]


def send_stream(s, seed, n):
    """Send bytes [0, n) of stream SEED on S (blocking)."""
    st = Stream(seed)
    off = 0
    while off < n:
        k = min(CHUNK, n - off)
        s.sendall(st.at(off, k))
        off += k


def recv_stream(s, seed, n, have=b'', start=0, most=CHUNK):
    """Receive bytes [START, N) of stream SEED from S (after HAVE, bytes
    already read), at most MOST per recv: (offset reached, offset of the
    first wrong byte or None). Stops at EOF, at a wrong byte or at N."""
    st = Stream(seed)
    off = start
    if have:
        assert start == 0
        k = min(len(have), n)
        if bytes(st.at(0, k)) != have[:k]:
            return k, _first_diff(have[:k], st.at(0, k))
        off = k
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    while off < n:
        k = s.recv_into(mv, min(most, n - off))
        if not k:
            break
        if buf[:k] != st.at(off, k):
            i = _first_diff(buf[:k], st.at(off, k))
            explain(st, off + i, bytes(buf[i:k]))
            return off + k, off + i
        off += k
    return off, None


def explain(st, at, got):
    """Print where the bytes found at offset AT of the stream came from
    (a repeat: from before AT; a gap: from after)."""
    probe = got[:64]
    if len(probe) < 16:
        print('wrong bytes at %d (too few to place)' % at)
        return
    src = st.dbl.find(probe)
    if src < 0:
        print('wrong bytes at %d: not from this stream' % at)
        return
    d = (src - at) % CYCLE
    if d > CYCLE // 2:
        d -= CYCLE
    print('wrong bytes at %d: stream bytes from %+d (%s of %d bytes)' %
          (at, d, 'repeat' if d < 0 else 'gap', abs(d)))


def _first_diff(a, b):
    a, b = bytes(a), bytes(b)
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def duplex(s, n, seed_out, seed_in, have=b''):
    """Send N bytes of SEED_OUT while receiving and checking N bytes of
    SEED_IN on S, at once: (received, first wrong offset or None, send
    error or None)."""
    err = []

    def sender():
        try:
            send_stream(s, seed_out, n)
        except OSError as e:
            err.append(e)
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got, bad = recv_stream(s, seed_in, n, have)
    th.join(120)
    return got, bad, (err[0] if err else None)


def rst_echo(c, ends):
    """A backend's side of the reset tests: echo on C until EOF or a reset
    from the proxy, or reset the stream itself when the bytes end with
    '!reset'; what ended it goes to ENDS ('eof', 'reset', 'sent reset')."""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                ends.append('eof')
                return
            if d.endswith(b'!reset'):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b'\x01\x00\x00\x00\x00\x00\x00\x00')
                ends.append('sent reset')
                return
            c.sendall(d)
    except ConnectionResetError:
        ends.append('reset')


def raise_nofile(n):
    """Raise this process's open-file limit to N (at most the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class SelectorEcho:
    """One thread, many connections: echoes every byte back. With
    HTTP101 it first reads a request head and answers 101 (a WebSocket
    backend); stray bytes behind the head are echoed too."""

    def __init__(self, http101=False):
        self.http101 = http101
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(4096)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.r, self.w = socket.socketpair()
        self.sel.register(self.r, selectors.EVENT_READ, 'stop')
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def close(self):
        try:
            self.w.send(b'x')
        except OSError:
            pass
        self.th.join(10)

    def _loop(self):
        conns = {}
        try:
            while True:
                for key, _ in self.sel.select(1.0):
                    if key.data == 'stop':
                        return
                    if key.data is None:
                        self._accept(conns)
                        continue
                    self._serve(key.fileobj, conns)
        finally:
            for c in list(conns):
                c.close()
            for s in (self.lsock, self.r, self.w):
                s.close()
            self.sel.close()

    def _accept(self, conns):
        while True:
            try:
                c, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            c.setblocking(False)
            conns[c] = [not self.http101, b'', b'']  # [upgraded, head, outq]
            self.accepted += 1
            self.open += 1
            self.sel.register(c, selectors.EVENT_READ, 'c')

    def _drop(self, c, conns):
        self.sel.unregister(c)
        del conns[c]
        c.close()
        self.open -= 1

    def _serve(self, c, conns):
        st = conns[c]
        try:
            d = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            d = b''
        if not d:
            self._drop(c, conns)
            return
        if not st[0]:
            st[1] += d
            if b'\r\n\r\n' not in st[1]:
                return
            _, d = st[1].split(b'\r\n\r\n', 1)
            st[0] = True
            d = (b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                 b'Connection: Upgrade\r\n\r\n') + d
        try:
            c.sendall(d)   # small messages: the socket buffer takes them
        except OSError:
            self._drop(c, conns)


def rss_kib(pid):
    """VmRSS of PID in KiB (0 when gone)."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for ln in f:
                if ln.startswith('VmRSS:'):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def nfds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def skmem(ports):
    """Kernel memory of the TCP sockets with a local or remote port in
    PORTS, from `ss -tmn`: {(local, peer): (rmem_alloc, wmem_queued)} in
    bytes. rmem_alloc holds what a socket received and nobody read (the
    sockmap's queues included, they stay charged to the socket);
    wmem_queued what it was given to send and the peer did not
    acknowledge."""
    filt = ' or '.join('sport = :%d or dport = :%d' % (p, p) for p in ports)
    out = subprocess.run(['ss', '-tmnH', 'state', 'established', '(', filt, ')'],
                         capture_output=True, text=True, timeout=10).stdout
    res, cur = {}, None
    for ln in out.splitlines():
        f = ln.split()
        if len(f) >= 4 and ':' in f[2]:
            cur = (f[2], f[3])
            continue
        if 'skmem:(' in ln and cur:
            body = ln.split('skmem:(', 1)[1].split(')', 1)[0]
            kv = {}
            for part in body.split(','):
                k = part.rstrip('0123456789')
                kv[k] = int(part[len(k):] or 0)
            res[cur] = (kv.get('r', 0), kv.get('w', 0))
            cur = None
    return res
