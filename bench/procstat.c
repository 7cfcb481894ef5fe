/* bench/procstat.c: server sampling from /proc and quantiles, for
 * bench/hlsload (the same method as bench/loadgen; docs/BENCHMARKS.md). */
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
    *busy = *total - v[3] - v[4];
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

