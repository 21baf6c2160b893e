#ifndef _GNU_SOURCE
#error CLinuxShims must be compiled with _GNU_SOURCE
#endif

#include "CLinuxShims.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

int outpost_openat_beneath(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long extra_resolve) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)flags | O_CLOEXEC;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | extra_resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
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
