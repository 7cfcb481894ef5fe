/* livedge: command line, then the node. */
#include "conf/conf.h"
#include "core/log.h"
#include "node.h"
#include "timeshift/timeshift.h"
#include "tls/tls.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: livedge [-c FILE] [-t] [--reindex] [-V] [-h]\n"
               "  -c FILE  configuration file (default: embedded defaults)\n"
               "  -t       check the configuration (and that its certificates load) and exit (0 ok, 1 error)\n"
               "  --reindex  rebuild the time-shift index from the files under data_dir, then exit\n"
               "  -V       print the version and exit\n"
               "  -h       this help\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int test_only = 0, reindex = 0, opt;
    static const struct option longopts[] = { { "reindex", no_argument, NULL, 'R' }, { NULL, 0, NULL, 0 } };
    while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'R': reindex = 1; break;
        case 'c': path = optarg; break;
        case 't': test_only = 1; break;
        case 'V': printf("livedge %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }

    char err[512] = "";
    le_conf *conf = path ? le_conf_load(path, err, sizeof(err)) : le_conf_defaults();
    if (!conf) {
        fprintf(stderr, "livedge: %s: %s\n", path, err);
        if (test_only)
            fprintf(stderr, "livedge: configuration file %s test failed\n", path);
        return 1;
    }
    if (test_only) {
        /* The certificate and key files must load too (livedge.conf(5), TLS). */
        int trc = le_tls_init(conf, err, sizeof(err));
        le_tls_free();
        if (trc != 0) {
            fprintf(stderr, "livedge: %s: %s\n", path ? path : "(embedded defaults)", err);
            fprintf(stderr, "livedge: configuration file %s test failed\n", path ? path : "(embedded defaults)");
            le_conf_free(conf);
            return 1;
        }
        printf("livedge: configuration %s is ok\n", path ? path : "(embedded defaults)");
        le_conf_free(conf);
        return 0;
    }
    if (reindex) {
        int rc = le_timeshift_reindex(conf);
        le_conf_free(conf);
        return rc;
    }
    if (le_node_start(conf, path, err, sizeof(err)) != 0) {
        le_error("node", "cannot start: %s", err);
        le_node_free();
        return 1;
    }
    int rc = le_node_run();
    le_info("node", "stopped");
    le_node_free();
    return rc;
}
