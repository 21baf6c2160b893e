// outpost-launch: the pre-exec step that swift-subprocess lacks on Linux.
//
// outpostd spawns it as the task's first process, in the task's new session. It joins the task's cgroup, sets the
// task's resource limits and CPU priority, and then execs the task in place: same pid, same session, same
// environment. So every limit is in force before the task's first instruction, and every process the task ever forks
// starts inside its cgroup. One exec of this small program costs a fraction of what util-linux's `prlimit` and
// coreutils' `nice` cost together (they load locales), which is what lanes used before.
//
// Usage: outpost-launch CGROUP_PROCS OPEN_FILES CPU_SECONDS NICE -- EXECUTABLE [ARGUMENT...]
//   CGROUP_PROCS  the cgroup.procs file of the task's cgroup, or "-" for none
//   OPEN_FILES    RLIMIT_NOFILE (soft and hard), or -1 to keep the inherited one
//   CPU_SECONDS   RLIMIT_CPU: SIGXCPU at this many seconds of CPU, SIGKILL five seconds later; -1 for none
//   NICE          the CPU priority (nice value) the task runs at
// Core dumps are always off (RLIMIT_CORE 0). On any failure it prints why on stderr, which outpostd keeps in the
// task's record, and exits with 125 (its own failure) or 127 (the task could not be executed), as env(1) does.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int fail(int status, const char *what, const char *detail) {
    fprintf(stderr, "outpost-launch: %s %s: %s\n", what, detail, strerror(errno));
    return status;
}

static int parse(const char *text, long long *value) {
    char *end = NULL;
    errno = 0;
    *value = strtoll(text, &end, 10);
    return errno == 0 && end != text && *end == '\0';
}

static int join_cgroup(const char *procs) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    // "0" moves the writing process itself.
    ssize_t written = write(fd, "0", 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return written == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
    long long open_files, cpu_seconds, niceness;
    if (argc < 7 || strcmp(argv[5], "--") != 0 || !parse(argv[2], &open_files) || !parse(argv[3], &cpu_seconds) ||
        !parse(argv[4], &niceness)) {
        fprintf(stderr, "usage: outpost-launch CGROUP_PROCS|- OPEN_FILES CPU_SECONDS NICE -- EXECUTABLE [ARGUMENT...]\n");
        return 125;
    }
    if (strcmp(argv[1], "-") != 0 && join_cgroup(argv[1]) != 0) return fail(125, "cannot join the cgroup", argv[1]);
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) return fail(125, "cannot set", "RLIMIT_CORE");
    if (open_files >= 0) {
        struct rlimit files = {(rlim_t)open_files, (rlim_t)open_files};
        if (setrlimit(RLIMIT_NOFILE, &files) != 0) return fail(125, "cannot set", "RLIMIT_NOFILE");
    }
    if (cpu_seconds >= 0) {
        struct rlimit cpu = {(rlim_t)cpu_seconds, (rlim_t)cpu_seconds + 5};
        if (setrlimit(RLIMIT_CPU, &cpu) != 0) return fail(125, "cannot set", "RLIMIT_CPU");
    }
    errno = 0;
    if (setpriority(PRIO_PROCESS, 0, (int)niceness) != 0) return fail(125, "cannot set", "the CPU priority");
    execv(argv[6], &argv[6]);
    return fail(127, "cannot execute", argv[6]);
}
