"""A small MP4 writer for the mp4 module's tests (no ffmpeg here): ftyp,
moov (mvhd, a udta left out by the cut, two traks) and mdat. The video
track has key frames (stss) every 10 samples, composition offsets (ctts),
two stts runs and stsc chunk runs of 4 and 5 samples; the audio track has
no stss and three stsc runs. Every sample's bytes say whose sample it is
(b'V' or b'A', its index), so a cut's mdat can be read back. co64=True
writes 64-bit chunk offsets; moov_first=False puts moov after mdat.
Deterministic: the tests compare digests of answers nginx gave."""
import struct


def box(name, payload):
    return struct.pack('>I', 8 + len(payload)) + name + payload


def full(name, version, payload, flags=0):
    return box(name, struct.pack('>I', (version << 24) | flags) + payload)


V_STTS = [(40, 100), (20, 50)]            # 60 samples, 5000 (timescale 1000)
V_STSC = [(1, 4, 1), (6, 5, 1)]           # chunks 1-5: 4 samples, 6-13: 5
V_CHUNKS = 13
V_STSS = list(range(1, 61, 10))           # 1, 11, ... 51
V_CTTS = [(1, 100), (3, 0)] * 15
A_STTS = [(100, 400)]                     # 100 samples, 40000 (timescale 8000)
A_STSC = [(1, 7, 1), (4, 10, 1), (9, 29, 1)]  # 3x7 + 5x10 + 1x29
A_CHUNKS = 9


def v_size(i):
    return 100 + (i % 7) * 10


def a_size(i):
    return 20 + (i % 5)


def sample_bytes(kind, i, size):
    tag = kind + struct.pack('>H', i)
    return (tag * (size // 3 + 1))[:size]


def chunk_samples(stsc, nchunks):
    """[samples in chunk 1, chunk 2, ...]"""
    out = []
    for c in range(1, nchunks + 1):
        n = 0
        for first, spc, _ in stsc:
            if first <= c:
                n = spc
        out.append(n)
    return out


def trak(track_id, handler, timescale, duration_ms, stts, stsc, nchunks, sizes, offsets,
         stss=None, ctts=None, co64=False):
    tkhd = full(b'tkhd', 0, struct.pack('>IIII', 0, 0, track_id, 0) + struct.pack('>I', duration_ms)
                + b'\0' * 8 + struct.pack('>hhhh', 0, 0, 0x100 if handler == b'soun' else 0, 0)
                + struct.pack('>9I', 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
                + struct.pack('>II', (320 << 16) if handler == b'vide' else 0,
                              (240 << 16) if handler == b'vide' else 0))
    edts = box(b'edts', full(b'elst', 0, struct.pack('>IIIhh', 1, duration_ms, 0, 1, 0)))
    total = sum(c * d for c, d in stts)
    mdhd = full(b'mdhd', 0, struct.pack('>IIII', 0, 0, timescale, total) + struct.pack('>HH', 0x55c4, 0))
    hdlr = full(b'hdlr', 0, struct.pack('>I', 0) + handler + b'\0' * 12 + b'lbd\0')
    mhd = (full(b'vmhd', 0, b'\0' * 8, flags=1) if handler == b'vide'
           else full(b'smhd', 0, b'\0' * 4))
    dinf = box(b'dinf', full(b'dref', 0, struct.pack('>I', 1) + full(b'url ', 0, b'', flags=1)))
    entry = box(b'avc1' if handler == b'vide' else b'mp4a', b'\0' * 6 + struct.pack('>H', 1) + b'\0' * 8)
    stsd = full(b'stsd', 0, struct.pack('>I', 1) + entry)
    tables = [stsd,
              full(b'stts', 0, struct.pack('>I', len(stts)) + b''.join(struct.pack('>II', *e) for e in stts))]
    if stss is not None:
        tables.append(full(b'stss', 0, struct.pack('>I', len(stss)) + b''.join(struct.pack('>I', s) for s in stss)))
    if ctts is not None:
        tables.append(full(b'ctts', 0, struct.pack('>I', len(ctts)) + b''.join(struct.pack('>II', *e) for e in ctts)))
    tables.append(full(b'stsc', 0, struct.pack('>I', len(stsc)) + b''.join(struct.pack('>III', *e) for e in stsc)))
    tables.append(full(b'stsz', 0, struct.pack('>II', 0, len(sizes)) + b''.join(struct.pack('>I', s) for s in sizes)))
    if co64:
        tables.append(full(b'co64', 0, struct.pack('>I', nchunks) + b''.join(struct.pack('>Q', o) for o in offsets)))
    else:
        tables.append(full(b'stco', 0, struct.pack('>I', nchunks) + b''.join(struct.pack('>I', o) for o in offsets)))
    stbl = box(b'stbl', b''.join(tables))
    minf = box(b'minf', mhd + dinf + stbl)
    mdia = box(b'mdia', mdhd + hdlr + minf)
    return box(b'trak', tkhd + edts + mdia)


def make_mp4(co64=False, moov_first=True):
    vs = [v_size(i) for i in range(60)]
    as_ = [a_size(i) for i in range(100)]
    vcs = chunk_samples(V_STSC, V_CHUNKS)
    acs = chunk_samples(A_STSC, A_CHUNKS)
    # mdat: video and audio chunks in turn
    chunks = []
    vi = ai = 0
    for k in range(max(V_CHUNKS, A_CHUNKS)):
        if k < V_CHUNKS:
            data = b''.join(sample_bytes(b'V', vi + j, vs[vi + j]) for j in range(vcs[k]))
            chunks.append(('v', data))
            vi += vcs[k]
        if k < A_CHUNKS:
            data = b''.join(sample_bytes(b'A', ai + j, as_[ai + j]) for j in range(acs[k]))
            chunks.append(('a', data))
            ai += acs[k]
    assert vi == 60 and ai == 100
    ftyp = box(b'ftyp', b'isom' + struct.pack('>I', 512) + b'isomiso2mp41')

    def moov(voffs, aoffs):
        mvhd = full(b'mvhd', 0, struct.pack('>IIII', 0, 0, 1000, 5000) + struct.pack('>IH', 0x10000, 0x100)
                    + b'\0' * 10 + struct.pack('>9I', 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
                    + b'\0' * 24 + struct.pack('>I', 3))
        udta = box(b'udta', box(b'\xa9too', b'lbd test'))
        return box(b'moov', mvhd + udta
                   + trak(1, b'vide', 1000, 5000, V_STTS, V_STSC, V_CHUNKS, vs, voffs, V_STSS, V_CTTS, co64)
                   + trak(2, b'soun', 8000, 5000, A_STTS, A_STSC, A_CHUNKS, as_, aoffs, None, None, co64))

    body = b''.join(d for _, d in chunks)
    mdat_hdr = struct.pack('>I', 8 + len(body)) + b'mdat'
    moov_len = len(moov([0] * V_CHUNKS, [0] * A_CHUNKS))
    base = len(ftyp) + (moov_len if moov_first else 0) + len(mdat_hdr)
    voffs, aoffs = [], []
    pos = base
    for kind, d in chunks:
        (voffs if kind == 'v' else aoffs).append(pos)
        pos += len(d)
    m = moov(voffs, aoffs)
    assert len(m) == moov_len
    if moov_first:
        return ftyp + m + mdat_hdr + body
    return ftyp + mdat_hdr + body + m
