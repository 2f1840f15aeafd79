/*
 * error.c -- status codes, messages and range checks.
 *
 * Every public function reports failure through a negative AHASD_ERR_* code
 * and, when the caller passed an ahasd_error, a message that names the field,
 * the value and the allowed range.  Nothing here keeps state between calls.
 */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"

const char *ahasd_strerror(int code)
{
    const char *s = "unknown error code";

    switch (code) {
    case AHASD_OK: s = "success"; break;
    case AHASD_ERR_NULL: s = "a required pointer is NULL"; break;
    case AHASD_ERR_BAD_PARAM: s = "a parameter is out of range"; break;
    case AHASD_ERR_NOMEM: s = "out of memory"; break;
    case AHASD_ERR_GSL: s = "a GSL routine failed"; break;
    case AHASD_ERR_NUMERIC: s = "numerical failure (no convergence or non-finite result)"; break;
    case AHASD_ERR_SCHEDULE: s = "the schedule cannot run on this configuration"; break;
    case AHASD_ERR_BUFFER: s = "a caller-provided buffer is too small"; break;
    case AHASD_ERR_UNKNOWN: s = "unknown name or identifier"; break;
    case AHASD_ERR_UNSUPPORTED: s = "unsupported by this method"; break;
    default: break;
    }
    return s;
}

void ahasd_gsl_handler_off(void)
{
    /* GSL's default handler calls abort(); every GSL call we make checks
     * the returned status instead. */
    gsl_set_error_handler_off();
}

int err_set(ahasd_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_clear(ahasd_error *err)
{
    if (err != NULL) {
        err->code = AHASD_OK;
        err->msg[0] = '\0';
    }
}

static void fmt_bound(char *buf, size_t n, double v)
{
    if (isinf(v))
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, n, "%.6g", v);
}

int err_check_real(ahasd_error *err, const char *prefix, const char *field, double v,
                   double lo, double hi, int open_flags)
{
    int ok = isfinite(v);
    char lob[32], hib[32];

    if (ok)
        ok = (open_flags & CHK_LO_OPEN) ? v > lo : v >= lo;
    if (ok)
        ok = (open_flags & CHK_HI_OPEN) ? v < hi : v <= hi;
    if (ok)
        return AHASD_OK;
    fmt_bound(lob, sizeof lob, lo);
    fmt_bound(hib, sizeof hib, hi);
    /* An infinite bound is never attained: print it open. */
    return err_set(err, AHASD_ERR_BAD_PARAM,
                   "%s%s = %.6g is not allowed: must be a finite number in %s%s, %s%s",
                   prefix ? prefix : "", field, v,
                   (open_flags & CHK_LO_OPEN) || isinf(lo) ? "(" : "[", lob, hib,
                   (open_flags & CHK_HI_OPEN) || isinf(hi) ? ")" : "]");
}

int err_check_int(ahasd_error *err, const char *prefix, const char *field, long v,
                  long lo, long hi)
{
    if (v >= lo && v <= hi)
        return AHASD_OK;
    return err_set(err, AHASD_ERR_BAD_PARAM,
                   "%s%s = %ld is not allowed: must be an integer in [%ld, %ld]",
                   prefix ? prefix : "", field, v, lo, hi);
}
