/* SPDX-License-Identifier: MIT */
/*
 * The MP4 cutting of nginx's mp4 module (see mp4.h). The file's moov atom
 * is read into one buffer; each track's atoms are noted as spans of it,
 * cut in place (as nginx's buffers are) and written out in nginx's order:
 * trak, tkhd, [edts, elst], mdia, mdhd, hdlr, minf, vmhd, smhd, dinf,
 * stbl, stsd, stts, stss, ctts, stsc, stsz, stco|co64. Other atoms of
 * moov and trak (udta, the file's own edts, ...) are left out as nginx
 * does. The file's bytes are untrusted: every table is checked against
 * its atom, and a rebuilt moov whose length differs from the one the
 * sizes add up to is an error rather than a broken answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mp4.h"

enum {
	A_TRAK,
	A_TKHD,
	A_EDTS,
	A_ELST,
	A_MDIA,
	A_MDHD,
	A_HDLR,
	A_MINF,
	A_VMHD,
	A_SMHD,
	A_DINF,
	A_STBL,
	A_STSD,
	A_STTS,
	A_STTS_D,
	A_STSS,
	A_STSS_D,
	A_CTTS,
	A_CTTS_D,
	A_STSC,
	A_STSC_START,
	A_STSC_D,
	A_STSC_END,
	A_STSZ,
	A_STSZ_D,
	A_STCO,
	A_STCO_D,
	A_CO64,
	A_CO64_D,
	A_N,
};

/* struct span - bytes [pos, last) of the output (pos NULL: none). */
struct span {
	unsigned char *pos, *last;
};

struct trak {
	uint32_t timescale, stts_n, stsc_n, stss_n, ctts_n, stsz_n, chunks;
	uint64_t start_sample, end_sample, start_chunk, end_chunk;
	uint64_t start_chunk_samples, end_chunk_samples;
	uint64_t start_chunk_samples_size, end_chunk_samples_size;
	uint64_t duration, prefix, movie_duration;
	int64_t start_offset, end_offset;
	size_t tkhd_size, mdhd_size, hdlr_size, vmhd_size, smhd_size, dinf_size, size;
	struct span a[A_N];
	unsigned char *table[A_N]; /* the table spans' first bytes as read */
	unsigned char edts[8], elst[36], stsc_first[12], stsc_last[12];
};

struct mp4 {
	const struct mp4_io *io;
	const struct mp4_conf *cf;
	const char *name;
	struct mp4_result *res;
	int64_t offset, end;
	uint64_t start, length;
	uint32_t timescale;
	unsigned char *m; /* moov's data */
	int64_t m_off;	  /* its file offset */
	size_t m_len;
	unsigned char ftyp[8 + 1024];
	size_t ftyp_size;
	unsigned char *mvhd;
	size_t mvhd_size;
	bool have_moov, have_mdat;
	int64_t mdat_last;
	struct trak *t;
	size_t nt, ct;
	size_t moov_size;
};

struct handler {
	const char *name;
	int (*fn)(struct mp4 *mp, uint64_t dsz);
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static void put_name(unsigned char *hdr, const char *n)
{
	memcpy(hdr + 4, n, 4);
}

__attribute__((format(printf, 2, 3))) static int fail(struct mp4 *mp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mp->res->err, sizeof(mp->res->err), fmt, ap);
	va_end(ap);
	return MP4_ERROR;
}

/* file_read - N bytes at OFF of the file, all of them or "truncated". */
static int file_read(struct mp4 *mp, void *buf, size_t n, int64_t off)
{
	size_t got = 0;

	if (off < 0 || off > mp->end || (uint64_t)(mp->end - off) < n)
		return fail(mp, "\"%s\" mp4 file truncated", mp->name);
	while (got < n) {
		ssize_t k =
			mp->io->pread(mp->io->ctx, (char *)buf + got, n - got, off + (int64_t)got);

		if (k <= 0)
			return fail(mp, "read only %zu of %zu from \"%s\"", got, n, mp->name);
		got += (size_t)k;
	}
	return MP4_OK;
}

/* data - the current atom's DSZ data bytes in the moov buffer (the
 * 8 header bytes before them too), or NULL when they are not all there. */
static unsigned char *data(struct mp4 *mp, uint64_t dsz)
{
	int64_t i = mp->offset - mp->m_off;

	if (!mp->m || i < 8 || (uint64_t)i > mp->m_len || dsz > mp->m_len - (uint64_t)i)
		return NULL;
	return mp->m + i;
}

static struct trak *last_trak(struct mp4 *mp)
{
	return mp->nt ? &mp->t[mp->nt - 1] : NULL;
}

static int read_atoms(struct mp4 *mp, const struct handler *h, uint64_t dsz)
{
	int64_t end = mp->offset + (int64_t)dsz;

	while (mp->offset < end) {
		unsigned char hb[16];
		uint64_t size;
		size_t hsz = 8;

		if (file_read(mp, hb, 4, mp->offset))
			return MP4_ERROR;
		size = be32(hb);
		if (size == 0)
			return MP4_OK; /* nginx: "mp4 atom end" */
		if (size < 8) {
			if (size != 1)
				return fail(mp, "\"%s\" mp4 atom is too small:%llu", mp->name,
					    (unsigned long long)size);
			if (file_read(mp, hb, 16, mp->offset))
				return MP4_ERROR;
			size = be64(hb + 8);
			hsz = 16;
			if (size < 16)
				return fail(mp, "\"%s\" mp4 atom is too small:%llu", mp->name,
					    (unsigned long long)size);
		}
		if (file_read(mp, hb, 8, mp->offset))
			return MP4_ERROR;
		if (size > (uint64_t)(INT64_MAX - mp->offset) || mp->offset + (int64_t)size > end)
			return fail(mp, "\"%s\" mp4 atom too large:%llu", mp->name,
				    (unsigned long long)size);
		for (const struct handler *x = h; x->name; x++)
			if (memcmp(hb + 4, x->name, 4) == 0) {
				int rc;

				mp->offset += (int64_t)hsz;
				rc = x->fn(mp, size - hsz);
				if (rc != MP4_OK)
					return rc;
				goto next;
			}
		mp->offset += (int64_t)size;
next:;
	}
	return MP4_OK;
}

/* ---- top level ---- */

static int rd_ftyp(struct mp4 *mp, uint64_t dsz)
{
	if (dsz > 1024 || (uint64_t)(mp->end - mp->offset) < dsz)
		return fail(mp, "\"%s\" mp4 ftyp atom is too large:%llu", mp->name,
			    (unsigned long long)dsz);
	if (mp->ftyp_size)
		return fail(mp, "duplicate mp4 ftyp atom in \"%s\"", mp->name);
	if (file_read(mp, mp->ftyp + 8, (size_t)dsz, mp->offset))
		return MP4_ERROR;
	mp->ftyp_size = 8 + (size_t)dsz;
	put32(mp->ftyp, (uint32_t)mp->ftyp_size);
	put_name(mp->ftyp, "ftyp");
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static const struct handler moov_h[];

static int rd_moov(struct mp4 *mp, uint64_t dsz)
{
	bool no_mdat = !mp->have_mdat;
	int rc;

	if (no_mdat && mp->start == 0 && mp->length == 0)
		return MP4_DECLINED; /* moov first and the whole file asked */
	if (mp->have_moov)
		return fail(mp, "duplicate mp4 moov atom in \"%s\"", mp->name);
	if (dsz > (uint64_t)mp->cf->buffer_size && dsz > (uint64_t)mp->cf->max_buffer_size)
		return fail(mp,
			    "\"%s\" mp4 moov atom is too large:%llu, you may want to "
			    "increase mp4_max_buffer_size",
			    mp->name, (unsigned long long)dsz);
	if ((uint64_t)(mp->end - mp->offset) < dsz)
		return fail(mp, "\"%s\" mp4 file truncated", mp->name);
	mp->m = malloc(dsz ? (size_t)dsz : 1);
	if (!mp->m)
		return fail(mp, "\"%s\" mp4 moov atom: out of memory", mp->name);
	mp->m_off = mp->offset;
	mp->m_len = (size_t)dsz;
	mp->have_moov = true;
	if (file_read(mp, mp->m, (size_t)dsz, mp->offset))
		return MP4_ERROR;
	rc = read_atoms(mp, moov_h, dsz);
	if (!no_mdat)
		mp->offset = mp->end; /* the atoms after moov do not matter */
	return rc;
}

static int rd_mdat(struct mp4 *mp, uint64_t dsz)
{
	if (mp->have_mdat)
		return fail(mp, "duplicate mp4 mdat atom in \"%s\"", mp->name);
	mp->have_mdat = true;
	mp->mdat_last = mp->offset + (int64_t)dsz;
	if (mp->nt)
		mp->offset = mp->end;
	else
		mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static const struct handler top_h[] = {
	{"ftyp", rd_ftyp},
	{"moov", rd_moov},
	{"mdat", rd_mdat},
	{NULL, NULL},
};

/* ---- moov ---- */

static int rd_mvhd(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz), *h;
	uint64_t duration, start_time;
	uint32_t timescale;

	if (!d)
		return fail(mp, "\"%s\" mp4 mvhd atom too small", mp->name);
	h = d - 8;
	if (mp->mvhd)
		return fail(mp, "duplicate mp4 mvhd atom in \"%s\"", mp->name);
	put_name(h, "mvhd");
	if (dsz < 100)
		return fail(mp, "\"%s\" mp4 mvhd atom too small", mp->name);
	if (h[8] == 0) {
		timescale = be32(h + 20);
		duration = be32(h + 24);
	} else {
		if (dsz < 112)
			return fail(mp, "\"%s\" mp4 mvhd atom too small", mp->name);
		timescale = be32(h + 28);
		duration = be64(h + 32);
	}
	mp->timescale = timescale;
	start_time = mp->start * timescale / 1000;
	if (duration < start_time)
		return fail(mp, "\"%s\" mp4 start time exceeds file duration", mp->name);
	duration -= start_time;
	if (mp->length && duration > mp->length * timescale / 1000)
		duration = mp->length * timescale / 1000;
	put32(h, (uint32_t)(8 + dsz));
	if (h[8] == 0)
		put32(h + 24, (uint32_t)duration);
	else
		put64(h + 32, duration);
	mp->mvhd = h;
	mp->mvhd_size = 8 + (size_t)dsz;
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static const struct handler trak_h[];

static int rd_trak(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz);
	int64_t file_end = mp->offset + (int64_t)dsz;
	struct trak *t;
	int rc;

	if (!d)
		return fail(mp, "\"%s\" mp4 trak atom too large", mp->name);
	if (mp->nt == mp->ct) {
		size_t n = mp->ct ? mp->ct * 2 : 2;
		struct trak *v = realloc(mp->t, n * sizeof(*v));

		if (!v)
			return fail(mp, "\"%s\" mp4 trak: out of memory", mp->name);
		mp->t = v;
		mp->ct = n;
	}
	t = &mp->t[mp->nt++];
	memset(t, 0, sizeof(*t));
	put_name(d - 8, "trak");
	t->a[A_TRAK] = (struct span){d - 8, d};
	rc = read_atoms(mp, trak_h, dsz);
	if (rc == MP4_DECLINED) { /* the track ends before the start: left out */
		mp->nt--;
		mp->offset = file_end;
		return MP4_OK;
	}
	return rc;
}

static int rd_cmov(struct mp4 *mp, uint64_t dsz)
{
	(void)dsz;
	return fail(mp, "\"%s\" mp4 compressed moov atom (cmov) is not supported", mp->name);
}

static const struct handler moov_h[] = {
	{"mvhd", rd_mvhd},
	{"trak", rd_trak},
	{"cmov", rd_cmov},
	{NULL, NULL},
};

/* ---- trak ---- */

static int rd_tkhd(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);
	uint64_t duration, start_time;

	if (!d || !t || dsz < 84)
		return fail(mp, "\"%s\" mp4 tkhd atom too small", mp->name);
	h = d - 8;
	put_name(h, "tkhd");
	if (h[8] == 0) {
		duration = be32(h + 28);
	} else {
		if (dsz < 96)
			return fail(mp, "\"%s\" mp4 tkhd atom too small", mp->name);
		duration = be64(h + 36);
	}
	start_time = mp->start * mp->timescale / 1000;
	if (duration <= start_time)
		return MP4_DECLINED;
	duration -= start_time;
	if (mp->length && duration > mp->length * mp->timescale / 1000)
		duration = mp->length * mp->timescale / 1000;
	if (t->a[A_TKHD].pos)
		return fail(mp, "duplicate mp4 tkhd atom in \"%s\"", mp->name);
	t->tkhd_size = 8 + (size_t)dsz;
	t->movie_duration = duration;
	put32(h, (uint32_t)t->tkhd_size);
	if (h[8] == 0)
		put32(h + 28, (uint32_t)duration);
	else
		put64(h + 36, duration);
	t->a[A_TKHD] = (struct span){h, h + t->tkhd_size};
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

/* container - mdia, minf and stbl: the header noted, the children read. */
static int container(struct mp4 *mp, uint64_t dsz, int idx, const char *name,
		     const struct handler *h)
{
	unsigned char *d = data(mp, dsz);
	struct trak *t = last_trak(mp);

	if (!d || !t)
		return fail(mp, "\"%s\" mp4 %s atom too large", mp->name, name);
	put_name(d - 8, name);
	if (t->a[idx].pos)
		return fail(mp, "duplicate mp4 %s atom in \"%s\"", name, mp->name);
	t->a[idx] = (struct span){d - 8, d};
	return read_atoms(mp, h, dsz);
}

static const struct handler mdia_h[];
static const struct handler minf_h[];
static const struct handler stbl_h[];

static int rd_mdia(struct mp4 *mp, uint64_t dsz)
{
	return container(mp, dsz, A_MDIA, "mdia", mdia_h);
}

static const struct handler trak_h[] = {
	{"tkhd", rd_tkhd},
	{"mdia", rd_mdia},
	{NULL, NULL},
};

static int rd_mdhd(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);
	uint64_t duration, start_time;
	uint32_t timescale;

	if (!d || !t || dsz < 24)
		return fail(mp, "\"%s\" mp4 mdhd atom too small", mp->name);
	h = d - 8;
	put_name(h, "mdhd");
	if (h[8] == 0) {
		timescale = be32(h + 20);
		duration = be32(h + 24);
	} else {
		if (dsz < 36)
			return fail(mp, "\"%s\" mp4 mdhd atom too small", mp->name);
		timescale = be32(h + 28);
		duration = be64(h + 32);
	}
	start_time = mp->start * timescale / 1000;
	if (duration <= start_time)
		return MP4_DECLINED;
	duration -= start_time;
	if (mp->length && duration > mp->length * timescale / 1000)
		duration = mp->length * timescale / 1000;
	if (t->a[A_MDHD].pos)
		return fail(mp, "duplicate mp4 mdhd atom in \"%s\"", mp->name);
	t->mdhd_size = 8 + (size_t)dsz;
	t->timescale = timescale;
	t->duration = duration;
	put32(h, (uint32_t)t->mdhd_size);
	t->a[A_MDHD] = (struct span){h, h + t->mdhd_size};
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

/* whole - an atom kept as it is (hdlr, vmhd, smhd, dinf): its span. */
static int whole(struct mp4 *mp, uint64_t dsz, const char *name, int idx, int other, size_t *size)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);

	if (!d || !t)
		return fail(mp, "\"%s\" mp4 %s atom too large", mp->name, name);
	h = d - 8;
	put32(h, (uint32_t)(8 + dsz));
	put_name(h, name);
	if (t->a[idx].pos || (other >= 0 && t->a[other].pos)) {
		if (other >= 0)
			return fail(mp, "duplicate mp4 vmhd/smhd atom in \"%s\"", mp->name);
		return fail(mp, "duplicate mp4 %s atom in \"%s\"", name, mp->name);
	}
	t->a[idx] = (struct span){h, d + dsz};
	*size += 8 + (size_t)dsz;
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static int rd_hdlr(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? whole(mp, dsz, "hdlr", A_HDLR, -1, &t->hdlr_size) : MP4_ERROR;
}

static int rd_minf(struct mp4 *mp, uint64_t dsz)
{
	return container(mp, dsz, A_MINF, "minf", minf_h);
}

static const struct handler mdia_h[] = {
	{"mdhd", rd_mdhd},
	{"hdlr", rd_hdlr},
	{"minf", rd_minf},
	{NULL, NULL},
};

static int rd_vmhd(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? whole(mp, dsz, "vmhd", A_VMHD, A_SMHD, &t->vmhd_size) : MP4_ERROR;
}

static int rd_smhd(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? whole(mp, dsz, "smhd", A_SMHD, A_VMHD, &t->smhd_size) : MP4_ERROR;
}

static int rd_dinf(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? whole(mp, dsz, "dinf", A_DINF, -1, &t->dinf_size) : MP4_ERROR;
}

static int rd_stbl(struct mp4 *mp, uint64_t dsz)
{
	return container(mp, dsz, A_STBL, "stbl", stbl_h);
}

static const struct handler minf_h[] = {
	{"vmhd", rd_vmhd}, {"smhd", rd_smhd}, {"dinf", rd_dinf}, {"stbl", rd_stbl}, {NULL, NULL},
};

static int rd_stsd(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);

	if (!d || !t || dsz < 16)
		return fail(mp, "\"%s\" mp4 stsd atom too small", mp->name);
	h = d - 8;
	put32(h, (uint32_t)(8 + dsz));
	put_name(h, "stsd");
	if (t->a[A_STSD].pos)
		return fail(mp, "duplicate mp4 stsd atom in \"%s\"", mp->name);
	t->a[A_STSD] = (struct span){h, d + dsz};
	t->size += 8 + (size_t)dsz;
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

/* table - a full atom with an entry count at +12 and a table of
 * ENTRY-byte entries after its HLEN-byte head: the spans noted. DUP_FIRST:
 * nginx checks for a duplicate before the table's size (stss, ctts). */
static int table(struct mp4 *mp, uint64_t dsz, const char *name, int idx, size_t hlen, size_t entry,
		 bool dup_first, uint32_t *count)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);
	bool dup;
	uint32_t n;

	if (!d || !t || dsz < hlen - 8)
		return fail(mp, "\"%s\" mp4 %s atom too small", mp->name, name);
	h = d - 8;
	put_name(h, name);
	n = be32(h + hlen - 4);
	dup = t->a[idx].pos ||
	      ((idx == A_STCO || idx == A_CO64) && (t->a[A_STCO].pos || t->a[A_CO64].pos));
	if (dup && dup_first)
		return fail(mp, "duplicate mp4 %s atom in \"%s\"", name, mp->name);
	if ((uint64_t)(hlen - 8) + (uint64_t)n * entry > dsz)
		return fail(mp, "\"%s\" mp4 %s atom too small", mp->name, name);
	if (dup)
		return fail(mp, "duplicate mp4 %s atom in \"%s\"",
			    idx == A_STCO || idx == A_CO64 ? "stco/co64" : name, mp->name);
	*count = n;
	t->a[idx] = (struct span){h, h + hlen};
	t->a[idx + 1] = (struct span){h + hlen, h + hlen + (size_t)n * entry};
	t->table[idx + 1] = h + hlen;
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static int rd_stts(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? table(mp, dsz, "stts", A_STTS, 16, 8, false, &t->stts_n) : MP4_ERROR;
}

static int rd_stss(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? table(mp, dsz, "stss", A_STSS, 16, 4, true, &t->stss_n) : MP4_ERROR;
}

static int rd_ctts(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? table(mp, dsz, "ctts", A_CTTS, 16, 8, true, &t->ctts_n) : MP4_ERROR;
}

static int rd_stsc(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);
	int rc;

	if (!t)
		return MP4_ERROR;
	rc = table(mp, dsz, "stsc", A_STSC, 16, 12, false, &t->stsc_n);
	if (rc == MP4_OK) { /* its table is A_STSC_D, after A_STSC_START */
		t->a[A_STSC_D] = t->a[A_STSC_START];
		t->table[A_STSC_D] = t->table[A_STSC_START];
		t->a[A_STSC_START] = (struct span){NULL, NULL};
		t->table[A_STSC_START] = NULL;
	}
	return rc;
}

static int rd_stsz(struct mp4 *mp, uint64_t dsz)
{
	unsigned char *d = data(mp, dsz), *h;
	struct trak *t = last_trak(mp);
	uint32_t uniform, n;

	if (!d || !t || dsz < 12)
		return fail(mp, "\"%s\" mp4 stsz atom too small", mp->name);
	h = d - 8;
	put_name(h, "stsz");
	uniform = be32(h + 12);
	n = be32(h + 16);
	if (t->a[A_STSZ].pos)
		return fail(mp, "duplicate mp4 stsz atom in \"%s\"", mp->name);
	t->stsz_n = n;
	t->a[A_STSZ] = (struct span){h, h + 20};
	if (uniform == 0) {
		if (12 + (uint64_t)n * 4 > dsz)
			return fail(mp, "\"%s\" mp4 stsz atom too small", mp->name);
		t->a[A_STSZ_D] = (struct span){h + 20, h + 20 + (size_t)n * 4};
		t->table[A_STSZ_D] = h + 20;
	} else { /* one size for all: the atom as it is */
		put32(h, (uint32_t)(8 + dsz));
		t->size += 8 + (size_t)dsz;
	}
	mp->offset += (int64_t)dsz;
	return MP4_OK;
}

static int rd_stco(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? table(mp, dsz, "stco", A_STCO, 16, 4, false, &t->chunks) : MP4_ERROR;
}

static int rd_co64(struct mp4 *mp, uint64_t dsz)
{
	struct trak *t = last_trak(mp);

	return t ? table(mp, dsz, "co64", A_CO64, 16, 8, false, &t->chunks) : MP4_ERROR;
}

static const struct handler stbl_h[] = {
	{"stsd", rd_stsd}, {"stts", rd_stts}, {"stss", rd_stss},
	{"ctts", rd_ctts}, {"stsc", rd_stsc}, {"stsz", rd_stsz},
	{"stco", rd_stco}, {"co64", rd_co64}, {NULL, NULL},
};

/* ---- cutting ---- */

static uint32_t seek_key_frame(struct mp4 *mp, struct trak *t, uint32_t start_sample)
{
	uint32_t key_prefix = 0;

	if (!mp->cf->start_key_frame || !t->a[A_STSS_D].pos)
		return 0;
	start_sample++; /* sync samples count from 1 */
	for (unsigned char *e = t->a[A_STSS_D].pos; e + 4 <= t->a[A_STSS_D].last; e += 4) {
		uint32_t s = be32(e);

		if (s > start_sample)
			break;
		key_prefix = start_sample - s;
	}
	return key_prefix;
}

static int crop_stts(struct mp4 *mp, struct trak *t, bool start)
{
	struct span *d = &t->a[A_STTS_D];
	uint32_t count = 0, duration = 0, rest = 0, key_prefix;
	uint64_t start_time, ms = start ? mp->start : mp->length, start_sample = 0, entries;
	unsigned char *e;

	if (!start && !mp->length)
		return MP4_OK;
	start_time = ms * t->timescale / 1000 + t->prefix;
	entries = t->stts_n;
	for (e = d->pos; e + 8 <= d->last; e += 8) {
		count = be32(e);
		duration = be32(e + 4);
		if (start_time < (uint64_t)count * duration) {
			start_sample += start_time / duration;
			rest = (uint32_t)(start_time / duration);
			goto found;
		}
		start_sample += count;
		start_time -= (uint64_t)count * duration;
		entries--;
	}
	if (start)
		return fail(mp, "start time is out mp4 stts samples in \"%s\"", mp->name);
	t->end_sample = t->start_sample + start_sample;
	return MP4_OK;
found:
	if (start) {
		key_prefix = seek_key_frame(mp, t, (uint32_t)start_sample);
		start_sample -= key_prefix;
		while (rest < key_prefix) {
			t->prefix += (uint32_t)(rest * duration);
			key_prefix -= rest;
			if (e == d->pos)
				return fail(mp, "\"%s\" mp4 stss sample before the first",
					    mp->name);
			e -= 8;
			entries++;
			count = be32(e);
			duration = be32(e + 4);
			rest = count;
		}
		t->prefix += (uint32_t)(key_prefix * duration);
		t->duration += t->prefix;
		rest -= key_prefix;
		put32(e, count - rest);
		d->pos = e;
		t->stts_n = (uint32_t)entries;
		t->start_sample = start_sample;
	} else {
		put32(e, rest);
		d->last = e + 8;
		t->stts_n -= (uint32_t)(entries - 1);
		t->end_sample = t->start_sample + start_sample;
	}
	return MP4_OK;
}

static int update_stts(struct mp4 *mp, struct trak *t)
{
	size_t size;

	if (!t->a[A_STTS_D].pos)
		return fail(mp, "no mp4 stts atoms were found in \"%s\"", mp->name);
	if (crop_stts(mp, t, true) || crop_stts(mp, t, false))
		return MP4_ERROR;
	size = 16 + (size_t)(t->a[A_STTS_D].last - t->a[A_STTS_D].pos);
	t->size += size;
	put32(t->a[A_STTS].pos, (uint32_t)size);
	put32(t->a[A_STTS].pos + 12, t->stts_n);
	return MP4_OK;
}

static void crop_stss(struct mp4 *mp, struct trak *t, bool start)
{
	struct span *d = &t->a[A_STSS_D];
	uint32_t first, entries = t->stss_n;
	unsigned char *e;

	if (start)
		first = (uint32_t)(t->start_sample + 1);
	else if (mp->length)
		first = (uint32_t)(t->end_sample + 1);
	else
		return;
	for (e = d->pos; e + 4 <= d->last; e += 4) {
		if (be32(e) >= first)
			break;
		entries--;
	}
	if (start) {
		d->pos = e;
		t->stss_n = entries;
	} else {
		d->last = e;
		t->stss_n -= entries;
	}
}

static void update_stss(struct mp4 *mp, struct trak *t)
{
	struct span d;
	size_t size;

	if (!t->a[A_STSS_D].pos)
		return;
	crop_stss(mp, t, true);
	crop_stss(mp, t, false);
	d = t->a[A_STSS_D];
	if (t->stss_n)
		for (unsigned char *e = d.pos; e + 4 <= d.last; e += 4)
			put32(e, be32(e) - (uint32_t)t->start_sample);
	else
		t->a[A_STSS_D] = (struct span){NULL, NULL};
	size = 16 + (size_t)(d.last - d.pos);
	t->size += size;
	put32(t->a[A_STSS].pos, (uint32_t)size);
	put32(t->a[A_STSS].pos + 12, t->stss_n);
}

static void crop_ctts(struct mp4 *mp, struct trak *t, bool start)
{
	struct span *d = &t->a[A_CTTS_D];
	uint32_t first, entries = t->ctts_n, count, rest;
	unsigned char *e;

	if (start)
		first = (uint32_t)(t->start_sample + 1);
	else if (mp->length)
		first = (uint32_t)(t->end_sample - t->start_sample + 1);
	else
		return;
	for (e = d->pos; e + 8 <= d->last; e += 8) {
		count = be32(e);
		if (first <= count) {
			rest = first - 1;
			goto found;
		}
		first -= count;
		entries--;
	}
	if (start) {
		d->pos = d->last;
		t->ctts_n = 0;
	}
	return;
found:
	if (start) {
		put32(e, count - rest);
		d->pos = e;
		t->ctts_n = entries;
	} else {
		put32(e, rest);
		d->last = e + 8;
		t->ctts_n -= entries - 1;
	}
}

static void update_ctts(struct mp4 *mp, struct trak *t)
{
	size_t size;

	if (!t->a[A_CTTS_D].pos)
		return;
	crop_ctts(mp, t, true);
	crop_ctts(mp, t, false);
	if (!t->ctts_n) {
		t->a[A_CTTS] = t->a[A_CTTS_D] = (struct span){NULL, NULL};
		return;
	}
	size = 16 + (size_t)(t->a[A_CTTS_D].last - t->a[A_CTTS_D].pos);
	t->size += size;
	put32(t->a[A_CTTS].pos, (uint32_t)size);
	put32(t->a[A_CTTS].pos + 12, t->ctts_n);
}

static int crop_stsc(struct mp4 *mp, struct trak *t, bool start)
{
	struct span *d = &t->a[A_STSC_D];
	uint32_t first, chunk, samples = 0, id, next_chunk, n, prev_samples = 0;
	uint64_t entries = (uint64_t)t->stsc_n - 1, target_chunk, chunk_samples;
	unsigned char *e, *x;

	if (start) {
		first = (uint32_t)t->start_sample;
	} else if (mp->length) {
		first = (uint32_t)(t->end_sample - t->start_sample);
		if (t->a[A_STSC_START].pos) {
			x = t->a[A_STSC_START].pos;
			samples = be32(x + 4);
			entries--;
			if (samples > first) {
				samples = first;
				put32(x + 4, samples);
			}
			first -= samples;
		}
	} else {
		return MP4_OK;
	}
	e = d->pos;
	if (e + 12 > d->last)
		return fail(mp, "\"%s\" mp4 stsc atom has no entries left", mp->name);
	chunk = be32(e);
	samples = be32(e + 4);
	id = be32(e + 8);
	for (e += 12; e + 12 <= d->last; e += 12) {
		next_chunk = be32(e);
		n = (next_chunk - chunk) * samples;
		if (first < n)
			goto found;
		first -= n;
		prev_samples = samples;
		chunk = next_chunk;
		samples = be32(e + 4);
		id = be32(e + 8);
		entries--;
	}
	next_chunk = t->chunks + 1;
	n = (next_chunk - chunk) * samples;
	if (first > n)
		return fail(mp, "%s time is out mp4 stsc chunks in \"%s\"", start ? "start" : "end",
			    mp->name);
found:
	entries++;
	e -= 12;
	if (samples == 0)
		return fail(mp, "zero number of samples in \"%s\"", mp->name);
	target_chunk = (uint32_t)(chunk - 1);
	target_chunk += first / samples;
	chunk_samples = first % samples;
	if (start) {
		d->pos = e;
		t->stsc_n = (uint32_t)entries;
		t->start_chunk = target_chunk;
		t->start_chunk_samples = chunk_samples;
		put32(e, (uint32_t)(t->start_chunk + 1));
		samples -= (uint32_t)chunk_samples;
	} else {
		if (first) {
			d->last = e + 12;
			t->stsc_n -= (uint32_t)(entries - 1);
			t->end_chunk_samples = samples;
		} else {
			d->last = e;
			t->stsc_n -= (uint32_t)entries;
			t->end_chunk_samples = prev_samples;
		}
		if (chunk_samples) {
			t->end_chunk = target_chunk + 1;
			t->end_chunk_samples = chunk_samples;
		} else {
			t->end_chunk = target_chunk;
		}
		samples = (uint32_t)chunk_samples;
		next_chunk = chunk + 1;
	}
	if (chunk_samples && (uint64_t)next_chunk - target_chunk == 2) {
		put32(e + 4, samples);
	} else if (chunk_samples && start) {
		x = t->stsc_first;
		put32(x, 1);
		put32(x + 4, samples);
		put32(x + 8, id);
		t->a[A_STSC_START] = (struct span){x, x + 12};
		put32(e, (uint32_t)(t->start_chunk + 2));
		t->stsc_n++;
	} else if (chunk_samples) {
		x = t->stsc_last;
		put32(x, (uint32_t)(t->end_chunk - t->start_chunk));
		put32(x + 4, samples);
		put32(x + 8, id);
		t->a[A_STSC_END] = (struct span){x, x + 12};
		t->stsc_n++;
	}
	return MP4_OK;
}

static int update_stsc(struct mp4 *mp, struct trak *t)
{
	size_t size;

	if (!t->a[A_STSC_D].pos)
		return fail(mp, "no mp4 stsc atoms were found in \"%s\"", mp->name);
	if (!t->stsc_n)
		return fail(mp, "zero number of entries in stsc atom in \"%s\"", mp->name);
	if (crop_stsc(mp, t, true) || crop_stsc(mp, t, false))
		return MP4_ERROR;
	for (unsigned char *e = t->a[A_STSC_D].pos; e + 12 <= t->a[A_STSC_D].last; e += 12)
		put32(e, be32(e) - (uint32_t)t->start_chunk);
	size = 16 + (size_t)t->stsc_n * 12;
	t->size += size;
	put32(t->a[A_STSC].pos, (uint32_t)size);
	put32(t->a[A_STSC].pos + 12, t->stsc_n);
	return MP4_OK;
}

static int update_stsz(struct mp4 *mp, struct trak *t)
{
	struct span *d = &t->a[A_STSZ_D];
	uint64_t entries;
	size_t size;

	if (!d->pos)
		return MP4_OK;
	entries = t->stsz_n;
	if (t->start_sample > entries)
		return fail(mp, "start time is out mp4 stsz samples in \"%s\"", mp->name);
	entries -= t->start_sample;
	d->pos += t->start_sample * 4;
	if (t->start_chunk_samples > (uint64_t)(d->pos - t->table[A_STSZ_D]) / 4)
		return fail(mp, "too large mp4 start samples size in \"%s\"", mp->name);
	for (unsigned char *p = d->pos - t->start_chunk_samples * 4; p < d->pos; p += 4)
		t->start_chunk_samples_size += be32(p);
	if (t->start_chunk_samples_size > (uint64_t)mp->end)
		return fail(mp, "too large mp4 start samples size in \"%s\"", mp->name);
	if (mp->length) {
		if (t->end_sample - t->start_sample > entries)
			return fail(mp, "end time is out mp4 stsz samples in \"%s\"", mp->name);
		entries = t->end_sample - t->start_sample;
		d->last = d->pos + entries * 4;
		if (t->end_chunk_samples > (uint64_t)(d->last - t->table[A_STSZ_D]) / 4)
			return fail(mp, "too large mp4 end samples size in \"%s\"", mp->name);
		for (unsigned char *p = d->last - t->end_chunk_samples * 4; p < d->last; p += 4)
			t->end_chunk_samples_size += be32(p);
		if (t->end_chunk_samples_size > (uint64_t)mp->end)
			return fail(mp, "too large mp4 end samples size in \"%s\"", mp->name);
	}
	size = 20 + (size_t)(d->last - d->pos);
	t->size += size;
	put32(t->a[A_STSZ].pos, (uint32_t)size);
	put32(t->a[A_STSZ].pos + 16, (uint32_t)entries);
	return MP4_OK;
}

/* update_offsets - stco (W 4) or co64 (W 8): the chunks kept, the first
 * one's offset moved past the samples left out of it. */
static int update_offsets(struct mp4 *mp, struct trak *t, int idx, size_t w)
{
	struct span *d = &t->a[idx + 1];
	const char *name = w == 4 ? "stco" : "co64";
	uint64_t entries, off = 0, ss;
	size_t size;

	if (!d->pos)
		return fail(mp, "no mp4 %s atoms were found in \"%s\"", name, mp->name);
	if (t->start_chunk > t->chunks)
		return fail(mp, "start time is out mp4 %s chunks in \"%s\"", name, mp->name);
	d->pos += t->start_chunk * w;
	if (d->pos + w <= d->last)
		off = w == 4 ? be32(d->pos) : be64(d->pos);
	ss = t->start_chunk_samples_size;
	if (off > (uint64_t)mp->end - ss || (w == 4 && off + ss > UINT32_MAX))
		return fail(mp, "too large chunk offset in \"%s\"", mp->name);
	t->start_offset = (int64_t)(off + ss);
	if (d->pos + w <= d->last) {
		if (w == 4)
			put32(d->pos, (uint32_t)t->start_offset);
		else
			put64(d->pos, (uint64_t)t->start_offset);
	}
	if (mp->length) {
		if (t->end_chunk > t->chunks || t->end_chunk < t->start_chunk)
			return fail(mp, "end time is out mp4 %s chunks in \"%s\"", name, mp->name);
		entries = t->end_chunk - t->start_chunk;
		d->last = d->pos + entries * w;
		if (entries) {
			off = w == 4 ? be32(d->last - w) : be64(d->last - w);
			ss = t->end_chunk_samples_size;
			if (off > (uint64_t)mp->end - ss || (w == 4 && off + ss > UINT32_MAX))
				return fail(mp, "too large chunk offset in \"%s\"", mp->name);
			t->end_offset = (int64_t)(off + ss);
		}
	} else {
		entries = t->chunks - t->start_chunk;
		t->end_offset = mp->mdat_last;
	}
	if (!entries) {
		t->start_offset = mp->end;
		t->end_offset = 0;
	}
	size = 16 + (size_t)(d->last - d->pos);
	t->size += size;
	put32(t->a[idx].pos, (uint32_t)size);
	put32(t->a[idx].pos + 12, (uint32_t)entries);
	return MP4_OK;
}

static void set_size(struct span *s, size_t size)
{
	if (s->pos)
		put32(s->pos, (uint32_t)size);
}

static void update_edts(struct trak *t)
{
	unsigned char *e = t->elst;

	if (!t->prefix)
		return;
	put32(t->edts, 8 + 36);
	put_name(t->edts, "edts");
	t->a[A_EDTS] = (struct span){t->edts, t->edts + 8};
	put32(e, 36);
	put_name(e, "elst");
	e[8] = 1; /* version 1: 64-bit times */
	e[9] = e[10] = e[11] = 0;
	put32(e + 12, 1);
	put64(e + 16, t->movie_duration);
	put64(e + 24, t->prefix);
	e[32] = 0;
	e[33] = 1; /* media rate 1 */
	e[34] = e[35] = 0;
	t->a[A_ELST] = (struct span){e, e + 36};
	t->size += 8 + 36;
}

static int update_trak(struct mp4 *mp, struct trak *t)
{
	if (update_stts(mp, t))
		return MP4_ERROR;
	update_stss(mp, t);
	update_ctts(mp, t);
	if (update_stsc(mp, t) || update_stsz(mp, t))
		return MP4_ERROR;
	if (t->a[A_CO64_D].pos ? update_offsets(mp, t, A_CO64, 8)
			       : update_offsets(mp, t, A_STCO, 4))
		return MP4_ERROR;
	t->size += 8;
	set_size(&t->a[A_STBL], t->size);
	t->size += 8 + t->vmhd_size + t->smhd_size + t->dinf_size;
	set_size(&t->a[A_MINF], t->size);
	if (t->a[A_MDHD].pos) {
		unsigned char *h = t->a[A_MDHD].pos;

		if (h[8] == 0)
			put32(h + 24, (uint32_t)t->duration);
		else
			put64(h + 32, t->duration);
		t->size += t->mdhd_size;
	}
	t->size += t->hdlr_size;
	t->size += 8;
	set_size(&t->a[A_MDIA], t->size);
	t->size += t->tkhd_size;
	update_edts(t);
	t->size += 8;
	set_size(&t->a[A_TRAK], t->size);
	return MP4_OK;
}

static int process(struct mp4 *mp)
{
	int64_t start_offset, end_offset, adjustment, dsz;
	size_t hsz, len = 0;
	unsigned char *o;
	int rc;

	rc = read_atoms(mp, top_h, (uint64_t)mp->end);
	if (rc != MP4_OK)
		return rc;
	if (!mp->nt)
		return fail(mp, "no mp4 trak atoms were found in \"%s\"", mp->name);
	if (!mp->have_mdat)
		return fail(mp, "no mp4 mdat atom was found in \"%s\"", mp->name);
	mp->moov_size = mp->mvhd ? mp->mvhd_size : 0;
	start_offset = mp->end;
	end_offset = 0;
	for (size_t i = 0; i < mp->nt; i++) {
		struct trak *t = &mp->t[i];

		if (update_trak(mp, t))
			return MP4_ERROR;
		mp->moov_size += t->size;
		if (start_offset > t->start_offset)
			start_offset = t->start_offset;
		if (end_offset < t->end_offset)
			end_offset = t->end_offset;
	}
	if (end_offset <= start_offset) /* nginx 1.22: an empty cut is an error */
		return fail(mp, "no data between start time and end time in \"%s\"", mp->name);
	mp->moov_size += 8;
	if (start_offset >= mp->mdat_last)
		return fail(mp, "start time is out mp4 mdat atom in \"%s\"", mp->name);
	dsz = end_offset - start_offset;
	hsz = (uint64_t)dsz > 0xffffffffu - 8 ? 16 : 8;
	adjustment = (int64_t)(mp->ftyp_size + mp->moov_size + hsz) - start_offset;
	for (size_t i = 0; i < mp->nt; i++) {
		struct trak *t = &mp->t[i];
		struct span *d = t->a[A_CO64_D].pos ? &t->a[A_CO64_D] : &t->a[A_STCO_D];

		if (t->a[A_CO64_D].pos)
			for (unsigned char *e = d->pos; e + 8 <= d->last; e += 8)
				put64(e, be64(e) + (uint64_t)adjustment);
		else
			for (unsigned char *e = d->pos; e + 4 <= d->last; e += 4)
				put32(e, be32(e) + (uint32_t)adjustment);
	}

	/* the answer's head: ftyp, moov, mdat's header */
	size_t cap = mp->ftyp_size + mp->moov_size + hsz;

	o = malloc(cap);
	if (!o)
		return fail(mp, "\"%s\" mp4: out of memory", mp->name);
	mp->res->head = o;
	memcpy(o, mp->ftyp, mp->ftyp_size);
	len = mp->ftyp_size;
#define OUT(p, n)                                                                              \
	do {                                                                                   \
		size_t n_ = (n);                                                               \
		if (n_ > cap - len)                                                            \
			return fail(mp, "\"%s\" mp4 moov atom sizes do not add up", mp->name); \
		memcpy(o + len, (p), n_);                                                      \
		len += n_;                                                                     \
	} while (0)
	unsigned char mh[8];

	put32(mh, (uint32_t)mp->moov_size);
	put_name(mh, "moov");
	OUT(mh, 8);
	if (mp->mvhd)
		OUT(mp->mvhd, mp->mvhd_size);
	for (size_t i = 0; i < mp->nt; i++)
		for (int j = 0; j < A_N; j++) {
			struct span *s = &mp->t[i].a[j];

			if (s->pos && s->last > s->pos)
				OUT(s->pos, (size_t)(s->last - s->pos));
		}
	if (len != mp->ftyp_size + mp->moov_size)
		return fail(mp, "\"%s\" mp4 moov atom sizes do not add up", mp->name);
	unsigned char dh[16];

	if (hsz == 16) {
		put32(dh, 1);
		put64(dh + 8, (uint64_t)dsz + 16);
	} else {
		put32(dh, (uint32_t)(dsz + 8));
	}
	put_name(dh, "mdat");
	OUT(dh, hsz);
#undef OUT
	mp->res->head_len = len;
	mp->res->data_start = start_offset;
	mp->res->data_end = end_offset;
	return MP4_OK;
}

enum mp4_rc mp4_rebuild(const struct mp4_io *io, int64_t fsize, const char *name, uint64_t start,
			uint64_t length, const struct mp4_conf *cf, struct mp4_result *res)
{
	struct mp4 *mp = calloc(1, sizeof(*mp));
	int rc;

	memset(res, 0, sizeof(*res));
	if (!mp) {
		snprintf(res->err, sizeof(res->err), "\"%s\" mp4: out of memory", name);
		return MP4_ERROR;
	}
	mp->io = io;
	mp->cf = cf;
	mp->name = name;
	mp->res = res;
	mp->end = fsize;
	mp->start = start;
	mp->length = length;
	rc = process(mp);
	free(mp->m);
	free(mp->t);
	free(mp);
	if (rc != MP4_OK)
		mp4_result_free(res);
	return (enum mp4_rc)rc;
}

void mp4_result_free(struct mp4_result *res)
{
	free(res->head);
	res->head = NULL;
	res->head_len = 0;
}

int64_t mp4_atofp(const char *p, size_t n)
{
	const int64_t cutoff = INT64_MAX / 10, cutlim = INT64_MAX % 10;
	int64_t v = 0;
	int point = 3;
	bool dot = false;

	if (!n)
		return -1;
	for (; n--; p++) {
		if (*p == '.') {
			if (dot)
				return -1;
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		if (!point)
			continue; /* digits past the third decimal: ignored */
		if (v >= cutoff && (v > cutoff || *p - '0' > cutlim))
			return -1;
		v = v * 10 + (*p - '0');
		point -= dot;
	}
	while (point--) {
		if (v > cutoff)
			return -1;
		v *= 10;
	}
	return v;
}

bool mp4_arg(struct lstr args, const char *name, struct lstr *val)
{
	const char *p = args.p, *end = args.p + args.len;
	size_t nl = strlen(name);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *e = amp ? amp : end;

		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			*val = (struct lstr){p + nl + 1, (size_t)(e - p - (ptrdiff_t)nl - 1)};
			return true;
		}
		p = e + 1;
	}
	return false;
}

void mp4_times(struct lstr args, int64_t *start, uint64_t *length)
{
	struct lstr v;
	int64_t end;

	*start = -1;
	*length = 0;
	if (!args.len)
		return;
	if (mp4_arg(args, "start", &v))
		*start = mp4_atofp(v.p, v.len);
	if (mp4_arg(args, "end", &v)) {
		end = mp4_atofp(v.p, v.len);
		if (end > 0) {
			if (*start < 0)
				*start = 0;
			if (end > *start)
				*length = (uint64_t)(end - *start);
		}
	}
}
