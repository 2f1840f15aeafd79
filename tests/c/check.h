/*
 * check.h -- a minimal test harness for the C unit tests.  Each module has a
 * tests/c/test_<module>.c defining `void test_<module>(void)`; test_main.c
 * runs them all and exits non-zero if any check failed.
 */
#ifndef AHASD_CHECK_H
#define AHASD_CHECK_H

#include <math.h>
#include <stdio.h>

extern int check_failures;
extern int check_count;
extern int check_quick;   /* 1 under valgrind: skip the heaviest loops */

#define CHECK(cond)                                                                   \
    do {                                                                              \
        check_count++;                                                                \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_CLOSE(a, b, rtol, atol)                                                 \
    do {                                                                              \
        double ca_ = (a), cb_ = (b);                                                  \
        check_count++;                                                                \
        if (!(fabs(ca_ - cb_) <= (atol) + (rtol) * fabs(cb_))) {                      \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s = %.12g, %s = %.12g\n",    \
                    __FILE__, __LINE__, #a, ca_, #b, cb_);                            \
        }                                                                             \
    } while (0)

/* Expect a call to fail with `code` and an error message mentioning `field`. */
#define CHECK_ERR(call, code, field)                                                  \
    do {                                                                              \
        int ce_ = (call);                                                             \
        check_count++;                                                                \
        if (ce_ != (code) || strstr(err.msg, (field)) == NULL) {                      \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK_ERR failed: %s returned %d (want %d), "     \
                    "msg \"%s\" (want mention of \"%s\")\n", __FILE__, __LINE__,      \
                    #call, ce_, (code), err.msg, (field));                            \
        }                                                                             \
    } while (0)

#endif
