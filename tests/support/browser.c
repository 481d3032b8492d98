/*
 * browser: see browser.h.
 */
#include "tests/support/browser.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/monoclock.h"

#define BROWSER_TIMEOUT_MS 120000

void browser_artifact_path(const char *name, char *out, size_t outlen)
{
    const char *dir = getenv("MNI_TEST_ARTIFACTS");
    if (!dir || !*dir) {
        mkdir("build", 0755);
        dir = "build/test-artifacts";
    }
    mkdir(dir, 0755);
    snprintf(out, outlen, "%s/%s", dir, name);
}

static void remove_tree(const char *dir)
{
    /* The profile directory is ours (mkdtemp): rm -rf it without a shell's help. */
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
}

/* Runs the browser with args (then the fixed flags, then url); its stdout into *out when out
 * is not NULL. */
static int run(const char *const *args, const char *url, char **out, char *err, size_t errlen)
{
    const char *program = getenv("MNI_CHROMIUM");
    if (!program || !*program) program = "chromium";
    char profile[] = "/tmp/mni-test-chromium-XXXXXX";
    if (!mkdtemp(profile)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    char user_data[64];
    snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = program;
    argv[n++] = "--headless";
    argv[n++] = "--no-sandbox";
    argv[n++] = "--disable-gpu";
    argv[n++] = "--disable-quic";
    argv[n++] = "--no-first-run";
    argv[n++] = "--disable-background-networking";
    argv[n++] = "--disable-component-update";
    argv[n++] = "--disable-sync";
    argv[n++] = "--disable-dev-shm-usage";
    argv[n++] = user_data;
    for (size_t i = 0; args[i] && n < 30; i++)
        argv[n++] = args[i];
    argv[n++] = url;
    argv[n] = NULL;

    int pipefd[2];
    if (pipe(pipefd) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        remove_tree(profile);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(pipefd[1], 1);
        dup2(devnull, 2); /* Chromium's own chatter (D-Bus, GPU) is not the test's */
        close(pipefd[0]);
        execvp(program, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        remove_tree(profile);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(pipefd[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        remove_tree(profile);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    long long deadline = monoclock_ms() + BROWSER_TIMEOUT_MS;
    int timed_out = 0;
    for (;;) {
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        long long left = deadline - monoclock_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        if (len + 4096 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
        ssize_t got = read(pipefd[0], buf + len, cap - len - 1);
        if (got <= 0) break; /* EOF: the browser closed its output (it is exiting) */
        len += (size_t)got;
    }
    close(pipefd[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    remove_tree(profile);
    buf[len] = '\0';
    if (timed_out) {
        snprintf(err, errlen, "%s did not finish within %d s", program, BROWSER_TIMEOUT_MS / 1000);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s exited with status %d%s", program,
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                 WIFEXITED(status) && WEXITSTATUS(status) == 127
                     ? " (not installed? scripts/install-deps.sh installs chromium)"
                     : "");
    } else {
        if (out)
            *out = buf;
        else
            free(buf);
        return 0;
    }
    free(buf);
    return -1;
}

int browser_dump_dom(const char *url, char **dom, char *err, size_t errlen)
{
    static const char *const args[] = {"--dump-dom", NULL};
    *dom = NULL;
    return run(args, url, dom, err, errlen);
}

static int file_nonempty(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0) {
        snprintf(err, errlen, "%s: not written by the browser", path);
        return -1;
    }
    return 0;
}

int browser_screenshot(const char *url, int width, int height, const char *path, char *err,
                       size_t errlen)
{
    char shot[1100], size[64];
    snprintf(shot, sizeof shot, "--screenshot=%s", path);
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    const char *args[] = {shot, size, "--hide-scrollbars", NULL};
    unlink(path);
    if (run(args, url, NULL, err, errlen) != 0) return -1;
    return file_nonempty(path, err, errlen);
}

int browser_print_pdf(const char *url, const char *path, char *err, size_t errlen)
{
    char pdf[1100];
    snprintf(pdf, sizeof pdf, "--print-to-pdf=%s", path);
    const char *args[] = {pdf, "--no-pdf-header-footer", NULL};
    unlink(path);
    if (run(args, url, NULL, err, errlen) != 0) return -1;
    return file_nonempty(path, err, errlen);
}
