/* bench/procstat.h: what bench/hlsload samples and summarises the way
 * bench/loadgen does (docs/BENCHMARKS.md, "What is measured"): a server's
 * CPU and memory from /proc, the machine's busy share, this process's CPU,
 * nearest-rank quantiles, JSON numbers (null for NAN). */
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

#endif
