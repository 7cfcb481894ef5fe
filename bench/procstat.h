/* bench/procstat.h: what bench/loadgen and bench/hlsload sample and
 * summarise the same way (docs/BENCHMARKS.md, "What is measured"): a
 * server's CPU and memory from /proc, the machine's busy share, this
 * process's CPU, nearest-rank quantiles, JSON numbers (null for NAN). */
#ifndef LE_BENCH_PROCSTAT_H
#define LE_BENCH_PROCSTAT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct srv_sample {
    double cpu_s;          /* utime + stime */
    long rss_kb, hwm_kb;   /* VmRSS, VmHWM */
} srv_sample;

/* 0, LE_EINVAL without a pid, LE_EIO when /proc cannot be read. */
int srv_sample_take(long pid, srv_sample *s);
/* Busy (not idle or iowait) and total jiffies of the whole machine. */
int host_ticks(unsigned long long *busy, unsigned long long *total);
double self_cpu_s(void);

int cmp_dbl(const void *a, const void *b);
/* Quantile q of a sorted array; NAN when empty. */
double q_sorted(const double *v, size_t n, double q);
/* Quantile q of a histogram h[0..max] of 1 ms buckets; *count = its total. */
double q_hist(const uint64_t *h, int max, double q, uint64_t *count);
/* ,"k":v with prec decimals, or ,"k":null for NAN. */
void jnum(FILE *f, const char *k, double v, int prec);

/* The measured window's samples: the server (pid), this process, the host. */
typedef struct win_sample {
    srv_sample s0, s1;
    int have_srv;              /* both server samples were taken */
    double lg0, lg1;
    unsigned long long hb0, ht0, hb1, ht1;
} win_sample;

void win_begin(win_sample *w, long pid);
void win_end(win_sample *w, long pid);
/* Takes the start's CPU samples again (the RSS of the start stays). */
void win_restart(win_sample *w, long pid);
/* srv_cpu_s, srv_cpu_pct, srv_cpu_s_per_gb (over bytes), srv_rss_idle_kb,
 * srv_rss_end_kb, srv_hwm_kb, srv_rss_per_player_kb (only if per_player >= 0;
 * null for 0), then lg_cpu_pct and host_busy_pct. */
void win_json(FILE *o, const win_sample *w, double win_s, uint64_t bytes, int per_player);

#endif
