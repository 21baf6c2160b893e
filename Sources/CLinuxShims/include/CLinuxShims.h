#ifndef OUTPOST_CLINUXSHIMS_H
#define OUTPOST_CLINUXSHIMS_H

// Linux calls that Swift's Glibc module does not expose because it is built without _GNU_SOURCE.
// Every wrapper takes and returns plain C types, returns -1 with errno set on failure, and is prefixed
// `outpost_` so nothing here collides with a libc symbol.

#include <sys/types.h>

/// The credentials of the process at the other end of a connected Unix socket (SO_PEERCRED).
int outpost_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: `path` never resolves outside `dirfd`.
/// `extra_resolve` adds further RESOLVE_* flags (for example RESOLVE_NO_SYMLINKS through the constant below).
/// Where openat2 is missing (kernels before 5.6) or refused by a seccomp filter, the same rules are kept by a walk
/// of one component at a time (openat with O_PATH | O_NOFOLLOW): see `outpost_openat2_available`.
int outpost_openat_beneath(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long extra_resolve);

/// 1 when outpost_openat_beneath uses openat2, 0 when it walks components itself (no openat2 here, or
/// OUTPOST_RESOLVER=walk in the environment). Decided at the first call.
int outpost_openat2_available(void);

/// openat2(2) of an absolute `path` with RESOLVE_NO_SYMLINKS: fails with ELOOP at the first symlink on the way
/// (ENOSYS or EPERM where openat2 is missing or filtered).
int outpost_open_no_symlinks(const char *path, int flags);

/// The RESOLVE_NO_SYMLINKS flag for `extra_resolve`.
extern const unsigned long long outpost_resolve_no_symlinks;

/// Copies the running program's GNU build id (the linker's hash of the binary) into `buffer`.
/// Returns its length in bytes, or -1 if the binary carries none.
int outpost_build_id(unsigned char *buffer, int capacity);

/// Returns freed heap memory to the kernel (malloc_trim(0)); glibc otherwise keeps it in per-thread arenas.
void outpost_release_free_memory(void);

/// The magic number of the file system `fd` is on (fstatfs(2)'s f_type), or -1 with errno set.
long long outpost_file_system_type(int fd);

/// getdents64(2): the entries of the directory open as `fd`, from its current offset, packed into `buffer` as
/// `struct linux_dirent64` records. Returns the bytes filled, 0 at the end, or -1 with errno set.
long outpost_read_directory(int fd, void *buffer, unsigned long capacity);

/// O_PATH and AT_EMPTY_PATH, which need _GNU_SOURCE.
extern const int outpost_o_path;
extern const int outpost_at_empty_path;

/// copy_file_range(2) between the current offsets of two fds.
long outpost_copy_file_range(int in_fd, int out_fd, unsigned long length);

// Starts writeback of a file range without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE), so that a later
// fsync finds little left to write: an upload's disk writes overlap its network transfer.
int outpost_start_writeback(int fd, long long offset, long long length);

/// Sets a child's resource limits after it was spawned (prlimit(2); swift-subprocess has no pre-exec hook on Linux):
/// no core dumps, at most `open_files` descriptors (skipped when negative), and `cpu_seconds` of CPU time (skipped
/// when negative): SIGXCPU at the soft limit, SIGKILL five seconds of CPU later.
int outpost_limit_child(pid_t pid, long long open_files, long long cpu_seconds);

/// An extended attribute of an open file (fsetxattr/fgetxattr): a resumed download keeps the ETag of what it
/// started from on its partial file. Get returns the value's length, or -1 with errno (ENODATA: not set).
int outpost_set_attribute(int fd, const char *name, const char *value, unsigned long length);
long outpost_get_attribute(int fd, const char *name, char *buffer, unsigned long capacity);
int outpost_remove_attribute(int fd, const char *name);
/// The names of a file's extended attributes, each ending in NUL (flistxattr): the length, or -1 with errno.
long outpost_list_attributes(int fd, char *buffer, unsigned long capacity);

/// renameat2 with RENAME_NOREPLACE: fails with EEXIST rather than replace what is at the new name.
int outpost_rename_noreplace(int old_directory, const char *old_name, int new_directory, const char *new_name);

/// Sets the calling thread's supplementary groups (the raw setgroups system call: glibc's wrapper changes every
/// thread), fsgid and fsuid, in that order, and checks each took: 0; -1 with errno when the groups could not be set
/// (EPERM without CAP_SETGID), and then nothing changed; -2 with errno when a later step failed after the groups
/// changed. Other threads are not affected.
int outpost_set_file_identity(uid_t uid, gid_t gid, const gid_t *groups, int count);

/// The calling thread's fsuid and fsgid.
uid_t outpost_file_uid(void);
gid_t outpost_file_gid(void);

#endif
