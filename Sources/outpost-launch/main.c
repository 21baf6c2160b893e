// outpost-launch: the pre-exec step that swift-subprocess lacks on Linux.
//
// outpostd spawns it as the task's first process, in the task's new session. It joins the task's cgroup, sets the
// task's resource limits and CPU priority, drops every capability (and sets no-new-privileges), and then execs the task
// in place: same pid, same session, same
// environment. So every limit is in force before the task's first instruction, and every process the task ever forks
// starts inside its cgroup.
//
// Usage: outpost-launch CGROUP_PROCS OPEN_FILES CPU_SECONDS NICE -- EXECUTABLE [ARGUMENT...]
//   CGROUP_PROCS  the cgroup.procs file of the task's cgroup, or "-" for none
//   OPEN_FILES    RLIMIT_NOFILE (soft and hard), or -1 to keep the inherited one
//   CPU_SECONDS   RLIMIT_CPU: SIGXCPU at this many seconds of CPU, SIGKILL five seconds later; -1 for none
//   NICE          the CPU priority (nice value) the task runs at
// Core dumps are always off (RLIMIT_CORE 0). On any failure it prints why on stderr, which outpostd keeps in the
// task's record, and exits with 125 (its own failure) or 127 (the task could not be executed), as env(1) does.
//
// Why it is freestanding: it starts at its own `_start` and makes raw system calls, so no C library start-up ever
// runs. glibc's start-up (static or dynamic) detects CPU features with CPUID, which traps to the hypervisor on a
// virtual machine: measured on a 2-core VM, spawning `/bin/true` through this program cost 1,265 µs with glibc's
// start-up and 750 µs freestanding, against 607 µs for `/bin/true` alone. The binary still contains the static libraries swiftc links
// into every executable, but none of their code is reached, and because nothing initialises thread-local storage,
// nothing here may touch it: no errno, no stack protector (see Package.swift), no library call at all.
#include <asm/unistd.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <sys/resource.h>

#if defined(__x86_64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "    xor %rbp, %rbp\n"
    "    mov %rsp, %rdi\n"  // argc, then argv, then envp
    "    and $-16, %rsp\n"
    "    call launch_main\n"
    "    hlt\n");

static long system_call5(long number, long a, long b, long c, long d, long e) {
    long result;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return result;
}
#elif defined(__aarch64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "    mov x29, #0\n"
    "    mov x30, #0\n"
    "    mov x0, sp\n"
    "    bl launch_main\n"
    "    brk #0\n");

static long system_call5(long number, long a, long b, long c, long d, long e) {
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
#else
#error "outpost-launch makes raw system calls: add this architecture's entry point and calling convention"
#endif

/// Every argument register is set: a system call that checks its unused arguments are zero (prctl does) must not see
/// whatever the registers held.
static long system_call(long number, long a, long b, long c, long d) { return system_call5(number, a, b, c, d, 0); }

// MARK: - Output without a C library

static unsigned long length(const char *text) {
    unsigned long count = 0;
    while (text[count] != '\0') count++;
    return count;
}

static void put(const char *text) { system_call(__NR_write, 2, (long)text, (long)length(text), 0); }

/// What strerror says in the C locale, for the errors these system calls can return.
static const char *describe(long error) {
    switch (error) {
    case 1: return "Operation not permitted";
    case 2: return "No such file or directory";
    case 3: return "No such process";
    case 4: return "Interrupted system call";
    case 5: return "Input/output error";
    case 7: return "Argument list too long";
    case 8: return "Exec format error";
    case 9: return "Bad file descriptor";
    case 12: return "Cannot allocate memory";
    case 13: return "Permission denied";
    case 14: return "Bad address";
    case 16: return "Device or resource busy";
    case 19: return "No such device";
    case 20: return "Not a directory";
    case 21: return "Is a directory";
    case 22: return "Invalid argument";
    case 23: return "Too many open files in system";
    case 24: return "Too many open files";
    case 26: return "Text file busy";
    case 28: return "No space left on device";
    case 30: return "Read-only file system";
    case 36: return "File name too long";
    case 40: return "Too many levels of symbolic links";
    case 95: return "Operation not supported";
    default: return 0;
    }
}

/// Prints "outpost-launch: WHAT DETAIL: REASON" and returns `status`.
static int fail(int status, const char *what, const char *detail, long error) {
    put("outpost-launch: ");
    put(what);
    put(" ");
    put(detail);
    put(": ");
    const char *reason = describe(error);
    if (reason != 0) {
        put(reason);
    } else {
        char digits[24];
        int at = sizeof(digits) - 1;
        digits[at] = '\0';
        unsigned long value = (unsigned long)error;
        do {
            digits[--at] = (char)('0' + value % 10);
            value /= 10;
        } while (value != 0 && at > 0);
        put("error ");
        put(&digits[at]);
    }
    put("\n");
    return status;
}

// MARK: - The launch

static int same(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/// A decimal integer, optionally negative, that fits in a long long; the whole text must be the number.
static int parse(const char *text, long long *value) {
    int negative = *text == '-';
    if (negative) text++;
    if (*text == '\0') return 0;
    unsigned long long magnitude = 0;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9') return 0;
        magnitude = magnitude * 10 + (unsigned long long)(*text - '0');
        if (magnitude > 9223372036854775807ULL) return 0;
    }
    *value = negative ? -(long long)magnitude : (long long)magnitude;
    return 1;
}

/// Returns 0, or the error (a positive errno).
static long join_cgroup(const char *procs) {
    long fd = system_call(__NR_openat, AT_FDCWD, (long)procs, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) return -fd;
    // "0" moves the writing process itself.
    long written = system_call(__NR_write, fd, (long)"0", 1, 0);
    system_call(__NR_close, fd, 0, 0, 0);
    return written == 1 ? 0 : (written < 0 ? -written : 5);
}

static long set_limit(int resource, unsigned long long soft, unsigned long long hard) {
    struct rlimit limit = {soft, hard};
    long result = system_call(__NR_prlimit64, 0, resource, (long)&limit, 0);
    return result < 0 ? -result : 0;
}

/// Leaves the task no capability and no way to gain one: every capability dropped from the bounding set (when this
/// process may, that is with CAP_SETPCAP, as a root daemon has), the ambient set cleared, no-new-privileges set (so
/// neither a set-ID program nor file capabilities can raise them at exec), and the effective, permitted and
/// inheritable sets emptied. A task of a root daemon thus runs with uid 0 and nothing else: no capability survives
/// its exec. Returns 0, or the error of the step that failed.
static long drop_capabilities(void) {
    for (long capability = 0; capability < 64; capability++) {
        long result = system_call(__NR_prctl, PR_CAPBSET_DROP, capability, 0, 0);
        if (result == -22) break;  // EINVAL: past the kernel's last capability
        if (result == -1) break;   // EPERM: no CAP_SETPCAP (a service without it); the steps below still hold
        if (result < 0) return -result;
    }
    long result = system_call(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0);
    if (result < 0 && result != -22) return -result;  // EINVAL: a kernel before 4.3 has no ambient set
    result = system_call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0);
    if (result < 0) return -result;
    // Static, so zeroed by the loader: a local array's initialisation may be compiled as a call to memset, and no
    // library code may run here.
    static struct __user_cap_header_struct header;
    static struct __user_cap_data_struct none[2];
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    result = system_call(__NR_capset, (long)&header, (long)none, 0, 0);
    return result < 0 ? -result : 0;
}

static int launch(int argc, char **argv, char **environment) {
    long long open_files, cpu_seconds, niceness;
    if (argc < 7 || !same(argv[5], "--") || !parse(argv[2], &open_files) || !parse(argv[3], &cpu_seconds) ||
        !parse(argv[4], &niceness)) {
        put("usage: outpost-launch CGROUP_PROCS|- OPEN_FILES CPU_SECONDS NICE -- EXECUTABLE [ARGUMENT...]\n");
        return 125;
    }
    long error;
    if (!same(argv[1], "-") && (error = join_cgroup(argv[1])) != 0) {
        return fail(125, "cannot join the cgroup", argv[1], error);
    }
    if ((error = set_limit(RLIMIT_CORE, 0, 0)) != 0) return fail(125, "cannot set", "RLIMIT_CORE", error);
    if (open_files >= 0 && (error = set_limit(RLIMIT_NOFILE, open_files, open_files)) != 0) {
        return fail(125, "cannot set", "RLIMIT_NOFILE", error);
    }
    if (cpu_seconds >= 0 && (error = set_limit(RLIMIT_CPU, cpu_seconds, cpu_seconds + 5)) != 0) {
        return fail(125, "cannot set", "RLIMIT_CPU", error);
    }
    long result = system_call(__NR_setpriority, PRIO_PROCESS, 0, (long)niceness, 0);
    if (result < 0) return fail(125, "cannot set", "the CPU priority", -result);
    if ((error = drop_capabilities()) != 0) return fail(125, "cannot drop", "the capabilities", error);
    result = system_call(__NR_execve, (long)argv[6], (long)&argv[6], (long)environment, 0);
    return fail(127, "cannot execute", argv[6], -result);
}

/// Called by `_start` with the initial stack: argc, argv[0…argc-1], NULL, then the environment.
__attribute__((used, noreturn)) void launch_main(long *stack) {
    int argc = (int)stack[0];
    char **argv = (char **)(stack + 1);
    int status = launch(argc, argv, argv + argc + 1);
    for (;;) system_call(__NR_exit_group, status, 0, 0, 0);
}
