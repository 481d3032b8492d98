/*
 * browser: Debian's Chromium, headless, for tests of the pages a person looks at. Each call is
 * one browser process with a fresh profile (removed afterwards), run as Debian's CI runs it as
 * root: --headless --no-sandbox --disable-gpu, no QUIC, no first-run, no background
 * networking, no component updates, no sync; nothing leaves the machine but the page's own
 * requests. The program is $MNI_CHROMIUM, else chromium (scripts/install-deps.sh installs it).
 *
 * Artifacts (screenshots, PDFs) go under $MNI_TEST_ARTIFACTS, else build/test-artifacts, for a
 * reviewer to look at.
 */
#ifndef MNI_BROWSER_H
#define MNI_BROWSER_H

#include <stddef.h>

/* The DOM of url after the browser loaded it (--dump-dom), malloc'd in *dom; 0, or -1 with a
 * message (browser missing, exit status, timeout). */
int browser_dump_dom(const char *url, char **dom, char *err, size_t errlen);
/* A PNG screenshot of url at width x height into path. */
int browser_screenshot(const char *url, int width, int height, const char *path, char *err,
                       size_t errlen);
/* The page printed to PDF (A4, as the page's print style sheet says) into path. */
int browser_print_pdf(const char *url, const char *path, char *err, size_t errlen);
/* The artifact directory (created), with name appended, into out. */
void browser_artifact_path(const char *name, char *out, size_t outlen);

#endif
