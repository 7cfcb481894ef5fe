/* bench/procstat.c: server sampling from /proc and quantiles, for
 * bench/loadgen and bench/hlsload (docs/BENCHMARKS.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/err.h"
#include "procstat.h"

int srv_sample_take(long pid, srv_sample *s)
{
    memset(s, 0, sizeof *s);
    if (!pid)
        return LE_EINVAL;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return LE_EIO;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return LE_EIO;
    unsigned long ut = 0, st = 0;
    /* after ") ": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return LE_EIO;
    s->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (!f)
        return LE_EIO;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", &s->rss_kb);
        sscanf(line, "VmHWM: %ld", &s->hwm_kb);
    }
    fclose(f);
    return 0;
}

/* Machine-wide busy share over the window, from /proc/stat (the machine is
 * shared: this tells how much CPU others took). */
int host_ticks(unsigned long long *busy, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return LE_EIO;
    unsigned long long v[8] = { 0 };
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return LE_EIO;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4];   /* minus idle and iowait */
    return 0;
}

double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double q_sorted(const double *v, size_t n, double q)
{
    if (!n)
        return NAN;
    size_t k = (size_t)ceil(q * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

double q_hist(const uint64_t *h, int max, double q, uint64_t *count)
{
    uint64_t tot = 0;
    for (int i = 0; i <= max; i++)
        tot += h[i];
    *count = tot;
    if (!tot)
        return NAN;
    uint64_t k = (uint64_t)ceil(q * (double)tot), acc = 0;
    if (k < 1)
        k = 1;
    for (int i = 0; i <= max; i++) {
        acc += h[i];
        if (acc >= k)
            return i;
    }
    return max;
}

void jnum(FILE *f, const char *k, double v, int prec)
{
    if (isnan(v))
        fprintf(f, ",\"%s\":null", k);
    else
        fprintf(f, ",\"%s\":%.*f", k, prec, v);
}


void win_begin(win_sample *w, long pid)
{
    memset(w, 0, sizeof *w);
    w->have_srv = srv_sample_take(pid, &w->s0) == 0;
    w->lg0 = self_cpu_s();
    host_ticks(&w->hb0, &w->ht0);
}

void win_restart(win_sample *w, long pid)
{
    long rss0 = w->s0.rss_kb;
    win_begin(w, pid);
    w->s0.rss_kb = rss0;
}

void win_end(win_sample *w, long pid)
{
    if (w->have_srv)
        w->have_srv = srv_sample_take(pid, &w->s1) == 0;
    w->lg1 = self_cpu_s();
    host_ticks(&w->hb1, &w->ht1);
}

void win_json(FILE *o, const win_sample *w, double win_s, uint64_t bytes, int per_player)
{
    double gb = (double)bytes / 1e9;
    if (w->have_srv) {
        double cpu = w->s1.cpu_s - w->s0.cpu_s;
        jnum(o, "srv_cpu_s", cpu, 2);
        jnum(o, "srv_cpu_pct", cpu / win_s * 100, 1);
        jnum(o, "srv_cpu_s_per_gb", gb > 0 ? cpu / gb : NAN, 3);
        fprintf(o, ",\"srv_rss_idle_kb\":%ld,\"srv_rss_end_kb\":%ld,\"srv_hwm_kb\":%ld", w->s0.rss_kb,
                w->s1.rss_kb, w->s1.hwm_kb);
        if (per_player >= 0)
            jnum(o, "srv_rss_per_player_kb",
                 per_player ? (double)(w->s1.rss_kb - w->s0.rss_kb) / per_player : NAN, 1);
    }
    jnum(o, "lg_cpu_pct", (w->lg1 - w->lg0) / win_s * 100, 1);
    jnum(o, "host_busy_pct", w->ht1 > w->ht0 ? (double)(w->hb1 - w->hb0) / (double)(w->ht1 - w->ht0) * 100 : NAN, 1);
}
