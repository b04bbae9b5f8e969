/* SPDX-License-Identifier: MIT */
/*
 * Ban list (userspace/ban.c) and the packet-path directives
 * (userspace/cfg_guard.c): CIDR parsing and formatting, the ban_list file,
 * the accept-time snapshot (longest match, allow list first, expiry),
 * origins across a file reload, and the store on real LPM tries (root):
 * duplicates, a full map, listing what the kernel holds.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ban.h"
#include "cfgtest.h"

/* ---- CIDRs ------------------------------------------------------------------- */

struct cidr_case {
	char in[48];  /* as typed */
	char out[48]; /* as formatted, "" = rejected */
	int plen;     /* 128-bit prefix length when accepted */
};

ParameterizedTestParameters(ban, cidr)
{
	static struct cidr_case cases[] = {
		{"192.0.2.1", "192.0.2.1", 128},
		{"192.0.2.1/32", "192.0.2.1", 128},
		{"10.0.0.0/8", "10.0.0.0/8", 104},
		{"0.0.0.0/0", "0.0.0.0/0", 96},
		{"2001:db8::/32", "2001:db8::/32", 32},
		{"2001:db8::1", "2001:db8::1", 128},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", 120},
		{"::/0", "::/0", 0},
		{"10.0.0.1/8", "", 0},	   /* host bits */
		{"2001:db8::1/32", "", 0}, /* host bits */
		{"10.0.0.0/33", "", 0},
		{"2001:db8::/129", "", 0},
		{"10.0.0.0/", "", 0},
		{"10.0.0.0/-1", "", 0},
		{"10.0.0.0/8x", "", 0},
		{"300.1.1.1", "", 0},
		{"example.com", "", 0},
		{"", "", 0},
		{"/8", "", 0},
	};

	return cr_make_param_array(struct cidr_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cidr_case *c, ban, cidr)
{
	struct ban_cidr v;
	char err[160] = "", out[64];
	int rc = ban_cidr_parse(c->in, &v, err, sizeof(err));

	if (!c->out[0]) {
		cr_assert_eq(rc, -EINVAL, "\"%s\" accepted", c->in);
		cr_assert(err[0], "no message for \"%s\"", c->in);
		return;
	}
	cr_assert_eq(rc, 0, "\"%s\": %s", c->in, err);
	cr_assert_eq(v.plen, c->plen, "\"%s\": plen %d", c->in, v.plen);
	ban_cidr_format(&v, out, sizeof(out));
	cr_assert_str_eq(out, c->out);
}

Test(ban, host_bits_message_names_the_network)
{
	struct ban_cidr v;
	char err[160];

	cr_assert_eq(ban_cidr_parse("192.0.2.77/24", &v, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "\"192.0.2.77/24\" has host bits set (the network is 192.0.2.0/24)");
}

/* ---- accept-time snapshot (lbd's own table) -------------------------------------- */

static struct ban_cidr C(const char *s) {
	struct ban_cidr v;
	char err[160];

	cr_assert_eq(ban_cidr_parse(s, &v, err, sizeof(err)), 0, "%s: %s", s, err);
	return v;
}

static struct sockaddr_storage
peer(const char *a)
{
	struct sockaddr_storage ss = {0};

	if (strchr(a, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, a, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, a, &in->sin_addr), 1);
	}
	return ss;
}

static bool blocked(const char *a)
{
	struct sockaddr_storage ss = peer(a);

	return ban_blocked(&ss);
}

static void fresh(void)
{
	ban_reset();
}

Test(ban, nothing_banned_blocks_nothing, .init = fresh)
{
	cr_assert_not(blocked("192.0.2.1"));
	cr_assert_not(blocked("::1"));
}

Test(ban, cidr_edges, .init = fresh)
{
	struct ban_cidr c = C("10.1.0.0/16");

	cr_assert_eq(ban_add(&c, 0, "t", LB_BAN_CTL), 0);
	cr_assert(blocked("10.1.0.0"));
	cr_assert(blocked("10.1.255.255"));
	cr_assert_not(blocked("10.0.255.255"));
	cr_assert_not(blocked("10.2.0.0"));
	/* an IPv4 client on a dual-stack socket arrives v4-mapped */
	cr_assert(blocked("::ffff:10.1.2.3"));
	cr_assert_not(blocked("::a01:203")); /* ::10.1.2.3 is not IPv4 */
}

Test(ban, nested_and_ipv6, .init = fresh)
{
	struct ban_cidr a = C("2001:db8::/32"), b = C("2001:db8:1::5"), d = C("203.0.113.7");

	cr_assert_eq(ban_add(&a, 0, NULL, LB_BAN_CTL), 0);
	cr_assert_eq(ban_add(&b, 0, NULL, LB_BAN_CTL), 0);
	cr_assert_eq(ban_add(&d, 0, NULL, LB_BAN_CTL), 0);
	cr_assert(blocked("2001:db8:ffff::1"));
	cr_assert_not(blocked("2001:db9::1"));
	cr_assert(blocked("203.0.113.7"));
	cr_assert_not(blocked("203.0.113.8"));
	/* lifting the /32 leaves the host ban inside it in force */
	cr_assert_eq(ban_del(&a), 0);
	cr_assert(blocked("2001:db8:1::5"));
	cr_assert_not(blocked("2001:db8:1::6"));
	cr_assert_eq(ban_count(), 2);
}

Test(ban, duplicate_and_missing, .init = fresh)
{
	struct ban_cidr c = C("198.51.100.0/24"), o = C("198.51.100.0/25");

	cr_assert_eq(ban_add(&c, 0, NULL, LB_BAN_CTL), 0);
	cr_assert_eq(ban_add(&c, 0, NULL, LB_BAN_CTL), -EEXIST);
	cr_assert_eq(ban_del(&o), -ENOENT, "only the exact network is lifted");
	cr_assert_eq(ban_del(&c), 0);
	cr_assert_eq(ban_del(&c), -ENOENT);
}

Test(ban, allow_list_wins, .init = fresh)
{
	struct ban_cidr c = C("10.0.0.0/8"), ok = C("10.9.9.0/24");

	cr_assert_eq(ban_add(&c, 0, NULL, LB_BAN_CTL), 0);
	ban_set_allow(&ok, 1);
	cr_assert_not(blocked("10.9.9.9"));
	cr_assert(blocked("10.9.8.9"));
	ban_set_allow(NULL, 0);
	cr_assert(blocked("10.9.9.9"));
}

Test(ban, expiry, .init = fresh)
{
	struct ban_cidr c = C("192.0.2.0/24"), f = C("192.0.2.9");

	cr_assert_eq(ban_add(&c, 1, "short", LB_BAN_AUTO), 0);
	cr_assert_eq(ban_add(&f, 0, "forever", LB_BAN_CTL), 0);
	usleep(5000); /* 5 ms: the 1 ms ban is over whatever the scheduler did */
	cr_assert_not(blocked("192.0.2.1"), "an expired ban must not block");
	cr_assert(blocked("192.0.2.9"));
	/* an expired entry can be banned again before the sweep lifts it */
	cr_assert_eq(ban_add(&c, 0, "again", LB_BAN_CTL), 0);
	cr_assert(blocked("192.0.2.1"));
	cr_assert_eq(ban_del(&c), 0);
	cr_assert_eq(ban_add(&c, 1, "short", LB_BAN_AUTO), 0);
	usleep(5000);
	cr_assert_eq(ban_expire(), 1);
	cr_assert_eq(ban_count(), 1);
}

static int collect(const struct ban_info *bi, void *arg)
{
	char(*out)[128] = arg, a[64];

	ban_cidr_format(&bi->cidr, a, sizeof(a));
	for (int i = 0; i < 8; i++)
		if (!out[i][0]) {
			snprintf(out[i], sizeof(out[i]), "%s %s %s %llu", a,
				 ban_origin_name(bi->val.origin), bi->val.reason,
				 (unsigned long long)bi->accept_hits);
			break;
		}
	return 0;
}

Test(ban, list_counts_accept_hits, .init = fresh)
{
	struct ban_cidr c = C("192.0.2.0/24");
	char rows[8][128] = {{0}};

	cr_assert_eq(ban_add(&c, 0, "scanner", LB_BAN_CTL), 0);
	cr_assert(blocked("192.0.2.1"));
	cr_assert(blocked("192.0.2.2"));
	cr_assert_eq(ban_list(collect, rows), 1);
	cr_assert_str_eq(rows[0], "192.0.2.0/24 lbctl scanner 2");
}

Test(ban, file_reload_replaces_only_file_entries, .init = fresh)
{
	struct ban_file_ent f1[] = {{C("192.0.2.0/24"), "a"}, {C("198.51.100.1"), NULL}};
	struct ban_file_ent f2[] = {{C("198.51.100.1"), NULL}, {C("203.0.113.0/24"), "c"}};
	struct ban_cidr mine = C("10.0.0.1");

	cr_assert_eq(ban_add(&mine, 0, NULL, LB_BAN_CTL), 0);
	cr_assert_eq(ban_set_file(f1, 2), 2);
	cr_assert(blocked("192.0.2.5"));
	cr_assert_eq(ban_set_file(f2, 2), 1, "only 203.0.113.0/24 is new");
	cr_assert_not(blocked("192.0.2.5"), "a line removed from the file is lifted");
	cr_assert(blocked("198.51.100.1"));
	cr_assert(blocked("203.0.113.9"));
	cr_assert(blocked("10.0.0.1"), "lbctl's ban is not the file's to lift");
	cr_assert_eq(ban_set_file(NULL, 0), 0);
	cr_assert_eq(ban_count(), 1);
}

/* ---- the ban_list file -------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(ban, file_parse)
{
	char path[] = "/tmp/lbd-banfile-XXXXXX", err[256] = "";
	struct ban_file_ent *v;
	int fd = mkstemp(path), n;

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, "# scanners\n\n192.0.2.0/24   # botnet A\n  2001:db8::/48\n"
			 "198.51.100.7#no space\n");
	cr_assert_eq(ban_file_parse(path, &v, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(v[0].reason, "botnet A");
	cr_assert_null(v[1].reason);
	cr_assert_str_eq(v[2].reason, "no space");
	ban_file_free(v, n);

	write_file(path, "192.0.2.0/24\n\n10.0.0.1/8\n");
	cr_assert_eq(ban_file_parse(path, &v, &n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":3: \"10.0.0.1/8\" has host bits set"), "%s", err);
	write_file(path, "192.0.2.1 192.0.2.2\n");
	cr_assert_eq(ban_file_parse(path, &v, &n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":1: one CIDR per line"), "%s", err);
	unlink(path);
	cr_assert_eq(ban_file_parse(path, &v, &n, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "No such file"), "%s", err);
}

/* ---- directives ------------------------------------------------------------------- */

struct dir_case {
	char conf[160]; /* main-context lines */
	char err[120];	/* expected message start, "" = accepted */
	int line;	/* expected line in the message */
};

ParameterizedTestParameters(ban, directives)
{
	static struct dir_case cases[] = {
		{"xdp_attach eth0;", "", 0},
		{"xdp_attach eth0 mode=generic;\nxdp_attach eth1 mode=native;", "", 0},
		{"xdp_attach eth0 mode=fast;", "invalid parameter \"mode=fast\"", 1},
		{"xdp_attach eth0;\nxdp_attach eth0;", "duplicate \"xdp_attach\" for \"eth0\"", 2},
		{"xdp_attach averyveryverylongname0;", "invalid interface name", 1},
		{"xdp_syn_limit 20r/s burst=40;", "", 0},
		{"xdp_syn_limit 30r/m;", "", 0},
		{"xdp_syn_limit off;", "", 0},
		{"xdp_syn_limit 20;", "invalid rate \"20\"", 1},
		{"xdp_syn_limit 0r/s;", "invalid rate \"0r/s\"", 1},
		{"xdp_syn_limit 5r/s burst=0;", "invalid burst value \"burst=0\"", 1},
		{"xdp_syn_limit 5r/s brst=3;", "invalid parameter \"brst=3\"", 1},
		{"xdp_allow 10.0.0.0/8;\nxdp_allow 2001:db8::/32;", "", 0},
		{"\nxdp_allow 10.0.0.1/8;", "\"10.0.0.1/8\" has host bits set", 2},
		{"ban_list /nonexistent/bans.txt;", "open() \"/nonexistent/bans.txt\" failed", 1},
		{"http { xdp_attach eth0; }", "\"xdp_attach\" directive is not allowed here", 1},
	};

	return cr_make_param_array(struct dir_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dir_case *c, ban, directives)
{
	struct cfgtest t = {0};
	char conf[512], err[512], where[64];
	struct cfg *cfg;

	snprintf(conf, sizeof(conf), "%s\nevents {}\n", c->conf);
	cfg = cfgtest_load(&t, conf, err, sizeof(err));
	if (!c->err[0]) {
		cr_assert_not_null(cfg, "%s: %s", c->conf, err);
		cfg_unref(cfg);
	} else {
		cr_assert_null(cfg, "%s accepted", c->conf);
		cr_assert(strncmp(err, c->err, strlen(c->err)) == 0, "%s: got \"%s\"", c->conf,
			  err);
		snprintf(where, sizeof(where), "nginx.conf:%d", c->line);
		cr_assert(strstr(err, where), "%s: no %s in \"%s\"", c->conf, where, err);
	}
	cfgtest_cleanup(&t);
}

Test(ban, directive_values)
{
	struct cfgtest t = {0};
	char err[512], conf[512], bans[128];
	struct cfg *cfg;

	cfg = cfgtest_load(&t, "events {}\n", err, sizeof(err)); /* creates the directory */
	cr_assert_not_null(cfg, "%s", err);
	cfg_unref(cfg);
	snprintf(bans, sizeof(bans), "%s/bans.txt", t.dir);
	write_file(bans, "192.0.2.0/24 # scanners\n2001:db8::1\n");
	snprintf(conf, sizeof(conf),
		 "xdp_attach lo mode=generic;\nxdp_syn_limit 30r/m;\nban_list bans.txt;\n"
		 "xdp_allow 10.0.0.0/8;\nevents {}\n");
	cfg = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->nxdp_ifs, 1);
	cr_assert_str_eq(cfg->xdp_ifs[0].name, "lo");
	cr_assert_eq(cfg->xdp_ifs[0].mode, CFG_XDP_GENERIC);
	cr_assert_eq(cfg->xdp_syn_rate, 500, "30r/m is 0.5 SYN/s = 500 thousandths");
	cr_assert_eq(cfg->xdp_syn_burst, 1);
	cr_assert_eq(cfg->nban_file, 2, "relative to the configuration's directory");
	cr_assert_str_eq(cfg->ban_file[0].reason, "scanners");
	cr_assert_eq(cfg->nxdp_allow, 1);
	cfg_unref(cfg);
	write_file(bans, "192.0.2.0/24\nnot-an-address\n");
	cfg = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_null(cfg);
	cr_assert(strstr(err, "bans.txt:2: invalid address or CIDR \"not-an-address\" in "), "%s",
		  err);
	cr_assert(strstr(err, "nginx.conf:3"), "%s", err);
	cfgtest_cleanup(&t);
}

/* ---- the store on real LPM tries (root) -------------------------------------------- */

static int make_trie(size_t key, int max)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t_ban", (uint32_t)key,
				sizeof(struct lb_ban_val), (uint32_t)max, &o);

	cr_assert_geq(fd, 0, "LPM trie (root and a BPF kernel needed): %s", strerror(errno));
	return fd;
}

Test(ban, maps_store_and_import, .init = fresh)
{
	int fd4 = make_trie(sizeof(struct lb_lpm4_key), 2);
	int fd6 = make_trie(sizeof(struct lb_lpm6_key), 16);
	struct ban_cidr a = C("192.0.2.0/24"), b = C("198.51.100.1"), c = C("203.0.113.1"),
			d = C("2001:db8::/32");
	struct lb_lpm4_key k4 = {.prefixlen = 24, .addr = {192, 0, 2, 0}};
	struct lb_ban_val v;
	char rows[8][128] = {{0}};

	ban_use_maps(fd4, fd6);
	cr_assert_eq(ban_add(&a, 60000, "web scan", LB_BAN_CTL), 0);
	cr_assert_eq(bpf_map_lookup_elem(fd4, &k4, &v), 0, "the ban is in the kernel's trie");
	cr_assert_str_eq(v.reason, "web scan");
	cr_assert_gt(v.expires_ns, 0);
	cr_assert_eq(ban_add(&a, 0, NULL, LB_BAN_CTL), -EEXIST);
	cr_assert_eq(ban_add(&b, 0, NULL, LB_BAN_CTL), 0);
	cr_assert_eq(ban_add(&c, 0, NULL, LB_BAN_CTL), -ENOSPC, "a full map is an error");
	cr_assert_not(blocked("203.0.113.1"), "a refused ban does not block");
	cr_assert_eq(ban_add(&d, 0, NULL, LB_BAN_FILE), 0);
	cr_assert(blocked("2001:db8::9"));

	/* a restart: a new table imports what the tries hold */
	ban_reset();
	cr_assert_not(blocked("192.0.2.1"));
	ban_use_maps(fd4, fd6);
	cr_assert(blocked("192.0.2.1"));
	cr_assert_eq(ban_list(collect, rows), 3);
	cr_assert_eq(ban_del(&b), 0);
	cr_assert_neq(
		bpf_map_lookup_elem(
			fd4, &(struct lb_lpm4_key){.prefixlen = 32, .addr = {198, 51, 100, 1}}, &v),
		0, "lifted in the kernel too");
	cr_assert_eq(ban_flush(), 2);
	cr_assert_eq(ban_count(), 0);
	cr_assert_neq(bpf_map_lookup_elem(fd4, &k4, &v), 0);
	ban_reset();
	close(fd4);
	close(fd6);
}
