#ifndef _GNU_SOURCE
#error CLinuxShims must be compiled with _GNU_SOURCE
#endif

#include "CLinuxShims.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

int outpost_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        return -1;
    }
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

const unsigned long long outpost_resolve_no_symlinks = RESOLVE_NO_SYMLINKS;

long long outpost_file_system_type(int fd) {
    struct statfs system;
    if (fstatfs(fd, &system) != 0) {
        return -1;
    }
    return (long long)system.f_type;
}

long outpost_read_directory(int fd, void *buffer, unsigned long capacity) {
    return syscall(SYS_getdents64, fd, buffer, capacity);
}

// Whether openat2(2) can be used: decided once, at the first call. Kernels before 5.6 have none (ENOSYS), and a seccomp
// filter may refuse it (ENOSYS or EPERM); OUTPOST_RESOLVER=walk forces the component walk (tests run both).
static int openat2_available = -1;
static pthread_once_t openat2_probe_once = PTHREAD_ONCE_INIT;

static void openat2_probe(void) {
    const char *forced = getenv("OUTPOST_RESOLVER");
    if (forced != NULL && strcmp(forced, "walk") == 0) {
        openat2_available = 0;
        return;
    }
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    if (fd >= 0) {
        close(fd);
        openat2_available = 1;
    } else {
        openat2_available = (errno == ENOSYS || errno == EPERM) ? 0 : 1;
    }
}

int outpost_openat2_available(void) {
    pthread_once(&openat2_probe_once, openat2_probe);
    return openat2_available;
}

// The component walk: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (and RESOLVE_NO_SYMLINKS when asked) by hand.
// `..` pops a directory of our own stack, never above `dirfd` (EXDEV, as the kernel says); every component is opened
// O_PATH | O_NOFOLLOW relative to the directory before it; a symlink is read and its target walked the same way
// (absolute targets are EXDEV, at most 40 links: ELOOP); the last component is opened with the caller's flags and
// O_NOFOLLOW, so a symlink swapped in at the last moment fails the open rather than redirect it.
#define WALK_MAX_DEPTH 4096
#define WALK_MAX_LINKS 40

struct walk_state {
    int stack[WALK_MAX_DEPTH];
    int depth;  // stack[0 .. depth-1] are ours to close; the current directory is the top, or dirfd when depth is 0
    int base;
};

static int walk_current(const struct walk_state *state) {
    return state->depth == 0 ? state->base : state->stack[state->depth - 1];
}

static void walk_release(struct walk_state *state) {
    while (state->depth > 0) close(state->stack[--state->depth]);
}

static int walk_fail(struct walk_state *state, int error) {
    walk_release(state);
    errno = error;
    return -1;
}

static int outpost_walk_beneath(int dirfd, const char *path, int flags, unsigned int mode, int no_symlinks) {
    if (path[0] == '/') {
        errno = EXDEV;
        return -1;
    }
    size_t length = strlen(path);
    if (length >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    // What is left to walk, kept as one string: a symlink's target is put in front of the rest.
    char *pending = malloc(PATH_MAX * 2);
    char *scratch = malloc(PATH_MAX * 2);
    if (pending == NULL || scratch == NULL) {
        free(pending);
        free(scratch);
        errno = ENOMEM;
        return -1;
    }
    memcpy(pending, path, length + 1);
    struct walk_state state = {.depth = 0, .base = dirfd};
    int links = 0;
    int result = -1;
    int error = 0;
    for (;;) {
        char *cursor = pending;
        while (*cursor == '/') cursor++;
        if (*cursor == '\0') {
            // Nothing more: the path named the current directory itself ("", ".", "a/..").
            result = openat(walk_current(&state), ".", flags | O_CLOEXEC, mode);
            if (result < 0) error = errno;
            break;
        }
        char *end = strchr(cursor, '/');
        size_t name_length = end ? (size_t)(end - cursor) : strlen(cursor);
        char name[NAME_MAX + 1];
        if (name_length > NAME_MAX) {
            error = ENAMETOOLONG;
            break;
        }
        memcpy(name, cursor, name_length);
        name[name_length] = '\0';
        char *rest = cursor + name_length;
        int trailing_slash = *rest == '/';
        while (*rest == '/') rest++;
        int last = *rest == '\0';
        memmove(pending, rest, strlen(rest) + 1);

        if (strcmp(name, ".") == 0) {
            if (last) {
                result = openat(walk_current(&state), ".", flags | O_CLOEXEC, mode);
                if (result < 0) error = errno;
                break;
            }
            continue;
        }
        if (strcmp(name, "..") == 0) {
            if (state.depth == 0) {
                error = EXDEV;
                break;
            }
            close(state.stack[--state.depth]);
            if (last) {
                result = openat(walk_current(&state), ".", flags | O_CLOEXEC, mode);
                if (result < 0) error = errno;
                break;
            }
            continue;
        }
        int here = walk_current(&state);
        struct stat status;
        int exists = fstatat(here, name, &status, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno != ENOENT) {
            error = errno;
            break;
        }
        if (exists && S_ISLNK(status.st_mode) && !(last && !trailing_slash && (flags & O_NOFOLLOW))) {
            if (no_symlinks) {
                error = ELOOP;
                break;
            }
            if (++links > WALK_MAX_LINKS) {
                error = ELOOP;
                break;
            }
            ssize_t target_length = readlinkat(here, name, scratch, PATH_MAX);
            if (target_length < 0) {
                error = errno;
                break;
            }
            if (target_length == 0 || scratch[0] == '/') {
                error = EXDEV;  // an absolute (or magic) link leads out of the root
                break;
            }
            size_t left = strlen(pending);
            if ((size_t)target_length + 1 + left + 1 > PATH_MAX * 2) {
                error = ENAMETOOLONG;
                break;
            }
            scratch[target_length] = '/';
            memcpy(scratch + target_length + 1, pending, left + 1);
            memcpy(pending, scratch, (size_t)target_length + 1 + left + 1);
            continue;
        }
        if (last) {
            int final_flags = flags | O_NOFOLLOW | O_CLOEXEC | (trailing_slash ? O_DIRECTORY : 0);
            result = openat(here, name, final_flags, mode);
            if (result < 0) error = errno;
            break;
        }
        if (!exists) {
            error = ENOENT;
            break;
        }
        if (!S_ISDIR(status.st_mode)) {
            error = ENOTDIR;
            break;
        }
        if (state.depth == WALK_MAX_DEPTH) {
            error = ENAMETOOLONG;
            break;
        }
        int next = openat(here, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            error = errno;
            break;
        }
        state.stack[state.depth++] = next;
    }
    free(pending);
    free(scratch);
    if (result >= 0) {
        walk_release(&state);
        return result;
    }
    return walk_fail(&state, error);
}

int outpost_openat_beneath(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long extra_resolve) {
    if (outpost_openat2_available()) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = (unsigned long long)flags | O_CLOEXEC;
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | extra_resolve;
        return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    }
    return outpost_walk_beneath(dirfd, path, flags, mode, (extra_resolve & RESOLVE_NO_SYMLINKS) != 0);
}


struct build_id_search {
    unsigned char *buffer;
    int capacity;
    int length;
};

static int outpost_find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct build_id_search *search = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_NOTE) continue;
        const char *note = (const char *)(info->dlpi_addr + header->p_vaddr);
        const char *end = note + header->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *entry = (const ElfW(Nhdr) *)note;
            const char *name = note + sizeof(ElfW(Nhdr));
            const unsigned char *descriptor = (const unsigned char *)(name + ((entry->n_namesz + 3) & ~3u));
            if (entry->n_type == NT_GNU_BUILD_ID && entry->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                int length = (int)entry->n_descsz < search->capacity ? (int)entry->n_descsz : search->capacity;
                memcpy(search->buffer, descriptor, (size_t)length);
                search->length = length;
                return 1;
            }
            note = (const char *)descriptor + ((entry->n_descsz + 3) & ~3u);
        }
    }
    // The first object dl_iterate_phdr reports is the main program: stop there either way.
    return 1;
}

int outpost_build_id(unsigned char *buffer, int capacity) {
    struct build_id_search search = {buffer, capacity, -1};
    dl_iterate_phdr(outpost_find_build_id, &search);
    return search.length;
}

void outpost_release_free_memory(void) {
    malloc_trim(0);
}

const int outpost_o_path = O_PATH;
const int outpost_at_empty_path = AT_EMPTY_PATH;

long outpost_copy_file_range(int in_fd, int out_fd, unsigned long length) {
    return (long)copy_file_range(in_fd, NULL, out_fd, NULL, length, 0);
}

int outpost_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
}

int outpost_limit_child(pid_t pid, long long open_files, long long cpu_seconds) {
    struct rlimit none = {0, 0};
    if (prlimit(pid, RLIMIT_CORE, &none, NULL) != 0) return -1;
    if (open_files >= 0) {
        struct rlimit files = {(rlim_t)open_files, (rlim_t)open_files};
        if (prlimit(pid, RLIMIT_NOFILE, &files, NULL) != 0) return -1;
    }
    if (cpu_seconds >= 0) {
        struct rlimit cpu = {(rlim_t)cpu_seconds, (rlim_t)cpu_seconds + 5};
        if (prlimit(pid, RLIMIT_CPU, &cpu, NULL) != 0) return -1;
    }
    return 0;
}

int outpost_set_attribute(int fd, const char *name, const char *value, unsigned long length) {
    return fsetxattr(fd, name, value, length, 0);
}

long outpost_get_attribute(int fd, const char *name, char *buffer, unsigned long capacity) {
    return fgetxattr(fd, name, buffer, capacity);
}

int outpost_remove_attribute(int fd, const char *name) {
    return fremovexattr(fd, name);
}

long outpost_list_attributes(int fd, char *buffer, unsigned long capacity) {
    return flistxattr(fd, buffer, capacity);
}

int outpost_rename_noreplace(int old_directory, const char *old_name, int new_directory, const char *new_name) {
    return renameat2(old_directory, old_name, new_directory, new_name, RENAME_NOREPLACE);
}

int outpost_open_no_symlinks(const char *path, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)flags | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

// The calling thread's file-system identity (fsuid, fsgid, supplementary groups). Linux keeps credentials per thread;
// glibc's setgroups() changes every thread of the process, so the raw system call is used here, and setfsuid and
// setfsgid report the previous value rather than an error, so each change is read back.
int outpost_set_file_identity(uid_t uid, gid_t gid, const gid_t *groups, int count) {
    if (syscall(SYS_setgroups, (size_t)count, groups) != 0) return -1;
    syscall(SYS_setfsgid, gid);
    if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid) {
        errno = EPERM;
        return -2;
    }
    syscall(SYS_setfsuid, uid);
    if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid) {
        errno = EPERM;
        return -2;
    }
    return 0;
}

uid_t outpost_file_uid(void) {
    return (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
}

gid_t outpost_file_gid(void) {
    return (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
}
