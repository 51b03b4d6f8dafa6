#ifndef KILN_CCHROOT_H
#define KILN_CCHROOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Everything the child of `kiln_chroot_spawn` needs, prepared by the parent: between fork
/// and execve the child allocates nothing and calls only async-signal-safe functions.
typedef struct {
    /// Host path of the step's root filesystem.
    const char *root;
    /// Working directory inside the root.
    const char *workdir;
    /// Paths (inside the root) to try to execute, in order: argv[0] itself when it holds a
    /// slash, else argv[0] in each directory of the step's PATH.
    const char *const *candidates;
    size_t candidate_count;
    /// The argument vector and environment, NULL-terminated.
    char *const *argv;
    char *const *envp;
    /// The identity the step runs as.
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t group_count;
    /// Capabilities the step keeps (bit N: capability N); every other one is dropped from
    /// the bounding, effective, permitted, inheritable and ambient sets.
    uint64_t keep_capabilities;
    /// Become standard input, output and error of the step.
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
} kiln_chroot_step;

/// Which part of the child's set-up failed (reported through the failure pipe).
enum {
    KILN_CHROOT_STAGE_DESCRIPTORS = 1,
    KILN_CHROOT_STAGE_SESSION = 2,
    KILN_CHROOT_STAGE_CHROOT = 3,
    KILN_CHROOT_STAGE_WORKDIR = 4,
    KILN_CHROOT_STAGE_BOUNDING = 5,
    KILN_CHROOT_STAGE_GROUPS = 6,
    KILN_CHROOT_STAGE_GID = 7,
    KILN_CHROOT_STAGE_UID = 8,
    KILN_CHROOT_STAGE_CAPSET = 9,
    KILN_CHROOT_STAGE_EXEC = 10,
};

/// What the child reports before it exits instead of running the step.
typedef struct {
    int32_t stage;
    int32_t error;
    /// For KILN_CHROOT_STAGE_BOUNDING: the capability that could not be dropped.
    int32_t detail;
} kiln_chroot_failure;

/// Forks a child that becomes a session leader, takes `step`'s descriptors as 0, 1 and 2,
/// closes every other descriptor, chroots into `root`, drops capabilities, takes the
/// step's identity and executes the step. Returns the child's pid (its session and process
/// group id too), or -1 with errno set when the fork failed. `*failure` receives a
/// descriptor to read one `kiln_chroot_failure` from: end of file means execve succeeded.
pid_t kiln_chroot_spawn(const kiln_chroot_step *step, int *failure);

/// pipe2(2) with O_CLOEXEC: both ends close at execve. 0 or -1 with errno.
int kiln_pipe(int fds[2]);

/// `PR_SET_DUMPABLE` 0 for the calling process, so no process of the same user can ptrace
/// it or read its memory through /proc. Returns 0 or -1 with errno.
int kiln_set_nondumpable(void);

/// Whether `PR_SET_NO_NEW_PRIVS` is set for the calling process (1, 0, or -1 with errno).
int kiln_no_new_privs(void);

/// mount(2) of a fresh procfs at `target` (nosuid, nodev, noexec). 0 or -1 with errno.
int kiln_mount_proc(const char *target);

/// A read-only bind mount of `source` at `target` (the same path: `target` made read-only).
/// 0 or -1 with errno.
int kiln_bind_read_only(const char *source, const char *target);

/// An empty read-only tmpfs at `target` (hides a directory). 0 or -1 with errno.
int kiln_mount_empty(const char *target);

/// Detaches the mount at `target` and every mount below it. 0 or -1 with errno.
int kiln_unmount_tree(const char *target);

#endif
