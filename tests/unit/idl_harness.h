/* idl_harness.h: compile IDL text held in memory and collect the diagnostics, for the front end's unit tests. */
#ifndef PCOM_TEST_IDL_HARNESS_H
#define PCOM_TEST_IDL_HARNESS_H

#include "idl.h"

struct diag_record {
    enum idl_severity sev;
    char file[128];
    int line, col;
    char msg[512];
};

struct harness {
    struct idl_compiler c;
    struct diag_record diags[256];
    int ndiags;
    /* in-memory files that import "name" finds */
    const char *names[8];
    const char *texts[8];
    int nfiles;
};

/* Compile text as "test.idl" without the preprocessor (columns are exact); imports of "pcom.idl" get the
 * shipped standard file. Returns the number of errors. Call harness_free afterwards. */
int harness_compile(struct harness *h, const char *text);
void harness_add_file(struct harness *h, const char *name, const char *text);
void harness_free(struct harness *h);
/* The first diagnostic of a severity whose message contains needle, or NULL. */
const struct diag_record *harness_find(const struct harness *h, enum idl_severity sev, const char *needle);
/* Print every diagnostic, for a failing test's output. */
void harness_dump(const struct harness *h);

/* Assert that an error containing needle was reported at line:col of test.idl. */
#define assert_error_at(h, needle, line_, col_)                                                             \
    do {                                                                                                    \
        const struct diag_record *d_ = harness_find((h), IDL_ERROR, (needle));                              \
        if (!d_)                                                                                            \
            harness_dump(h);                                                                                \
        assert_non_null(d_);                                                                                \
        assert_string_equal(d_->file, "test.idl");                                                          \
        assert_int_equal(d_->line, (line_));                                                                \
        assert_int_equal(d_->col, (col_));                                                                  \
    } while (0)

#define assert_warning_at(h, needle, line_, col_)                                                           \
    do {                                                                                                    \
        const struct diag_record *d_ = harness_find((h), IDL_WARNING, (needle));                            \
        if (!d_)                                                                                            \
            harness_dump(h);                                                                                \
        assert_non_null(d_);                                                                                \
        assert_int_equal(d_->line, (line_));                                                                \
        assert_int_equal(d_->col, (col_));                                                                  \
    } while (0)

#endif
