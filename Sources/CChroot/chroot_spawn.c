#define _GNU_SOURCE
#include "CChroot.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/// Reports a failed stage on descriptor 3 and ends the child; never returns.
static void fail(int stage, int error, int detail) {
    kiln_chroot_failure failure = {stage, error, detail};
    ssize_t written;
    do { written = write(3, &failure, sizeof failure); } while (written < 0 && errno == EINTR);
    _exit(127);
}

/// Closes every descriptor from `first` up: close_range where the kernel (and a seccomp
/// profile) allows it, else one close per possible descriptor.
static void close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned int)first, ~0U, 0) == 0) return;
#endif
    struct rlimit limit;
    long highest = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) highest = (long)limit.rlim_cur;
    for (long fd = first; fd < highest; fd++) close((int)fd);
}

/// The child, between fork and execve: async-signal-safe calls only.
static void become_step(const kiln_chroot_step *step, int failure_pipe) {
    // Out of the way of 0-3 first, so no dup2 below overwrites a descriptor still needed.
    int in = fcntl(step->stdin_fd, F_DUPFD, 10);
    int out = fcntl(step->stdout_fd, F_DUPFD, 10);
    int err = fcntl(step->stderr_fd, F_DUPFD, 10);
    int report = fcntl(failure_pipe, F_DUPFD, 10);
    if (report < 0 || dup2(report, 3) != 3) _exit(127);
    if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0) fail(KILN_CHROOT_STAGE_DESCRIPTORS, errno, 0);
    if (in < 0 || out < 0 || err < 0) fail(KILN_CHROOT_STAGE_DESCRIPTORS, errno, 0);
    if (dup2(in, 0) != 0 || dup2(out, 1) != 1 || dup2(err, 2) != 2) fail(KILN_CHROOT_STAGE_DESCRIPTORS, errno, 0);
    // The step gets no descriptor of Kiln's: 3 closes itself at execve.
    close_from(4);

    // Signal dispositions Kiln ignores (SIGPIPE) survive execve; a step expects defaults.
    struct sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.sa_handler = SIG_DFL;
    for (int signal = 1; signal < _NSIG; signal++) sigaction(signal, &defaults, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    // Its own session and process group: Kiln kills them whole when the step ends.
    if (setsid() < 0) fail(KILN_CHROOT_STAGE_SESSION, errno, 0);

    if (chdir(step->root) != 0 || chroot(".") != 0 || chdir("/") != 0) fail(KILN_CHROOT_STAGE_CHROOT, errno, 0);
    if (chdir(step->workdir) != 0) fail(KILN_CHROOT_STAGE_WORKDIR, errno, 0);

    // A root process that keeps CAP_SYS_CHROOT leaves a chroot; one with CAP_SYS_PTRACE reads
    // Kiln. The bounding set is what root gets back at execve, so it is cut first (this
    // needs CAP_SETPCAP); every capability the step is not to have goes.
    for (int capability = 0; capability < 64; capability++) {
        int present = prctl(PR_CAPBSET_READ, capability, 0, 0, 0);
        if (present < 0) break;  // past the kernel's last capability
        if (present == 0 || (step->keep_capabilities & (1ULL << capability))) continue;
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0) fail(KILN_CHROOT_STAGE_BOUNDING, errno, capability);
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

    if (setgroups(step->group_count, step->groups) != 0) fail(KILN_CHROOT_STAGE_GROUPS, errno, 0);
    if (setgid(step->gid) != 0) fail(KILN_CHROOT_STAGE_GID, errno, 0);
    if (setuid(step->uid) != 0) fail(KILN_CHROOT_STAGE_UID, errno, 0);

    // Effective, permitted and inheritable: only what is kept and still held (a non-root
    // identity has none left after setuid).
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) fail(KILN_CHROOT_STAGE_CAPSET, errno, 0);
    for (int half = 0; half < 2; half++) {
        uint32_t keep = (uint32_t)(step->keep_capabilities >> (32 * half));
        data[half].permitted &= keep;
        data[half].effective &= data[half].permitted;
        data[half].inheritable = 0;
    }
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    if (syscall(SYS_capset, &header, data) != 0) fail(KILN_CHROOT_STAGE_CAPSET, errno, 0);

    int last = ENOENT;
    for (size_t index = 0; index < step->candidate_count; index++) {
        execve(step->candidates[index], step->argv, step->envp);
        // As execvp: go on past a directory that does not hold it (remembering a file that
        // was there but not executable); stop on anything else.
        int error = errno;
        if (error == EACCES) {
            last = EACCES;
        } else if (error != ENOENT && error != ENOTDIR) {
            last = error;
            break;
        }
    }
    fail(KILN_CHROOT_STAGE_EXEC, last, 0);
}

pid_t kiln_chroot_spawn(const kiln_chroot_step *step, int *failure) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
    // No handler of Kiln's may run in the child before it resets them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        become_step(step, pipe_fds[1]);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(pipe_fds[1]);
    if (pid < 0) {
        close(pipe_fds[0]);
        errno = saved;
        return -1;
    }
    *failure = pipe_fds[0];
    return pid;
}

int kiln_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int kiln_set_nondumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int kiln_no_new_privs(void) {
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

int kiln_mount_proc(const char *target) {
    return mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int kiln_bind_read_only(const char *source, const char *target) {
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
    return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
}

int kiln_mount_empty(const char *target) {
    return mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
}

int kiln_unmount_tree(const char *target) {
    return umount2(target, MNT_DETACH);
}
