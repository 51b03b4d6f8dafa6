// Replays a rootless entry that Kiln decided and recorded earlier in this boot, before any Swift
// code runs, so that a non-root `kiln` does not start twice (once to decide, once inside the user
// namespace). Kiln's isolation logic (Swift, `Isolation.decide`) stays the one place that decides:
// this file only repeats, byte for byte, the maps a process that entered on the slow path read from
// its own /proc/self/uid_map and gid_map, and only while every input of that decision is unchanged
// (boot, binary, user, /etc/subuid and /etc/subgid, no other mode asked for with --isolation or
// KILN_ISOLATION, no no_new_privs). Anything else returns and leaves the process as it was: Swift then decides.
#define _GNU_SOURCE
#include "CRecordedEntry.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int replayed = 0;
static char summary[1024], mode[64];

int kiln_entry_replayed(void) { return replayed; }

const char *kiln_entry_replayed_summary(void) { return replayed ? summary : NULL; }

const char *kiln_entry_replayed_mode(void) { return replayed ? mode : NULL; }

int kiln_entry_record_path(unsigned int uid, char *buffer, size_t size) {
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int written = (runtime != NULL && runtime[0] == '/')
        ? snprintf(buffer, size, "%s/kiln-entry", runtime)
        : snprintf(buffer, size, "/tmp/kiln-entry-%u", uid);
    return written < 0 || (size_t)written >= size ? -1 : 0;
}

/// The value after `key ` on its own line of `text`, copied into `value`; 0 when found.
static int field(const char *text, const char *key, char *value, size_t size) {
    size_t length = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t lineLength = end ? (size_t)(end - line) : strlen(line);
        if (lineLength > length && strncmp(line, key, length) == 0 && line[length] == ' ') {
            size_t valueLength = lineLength - length - 1;
            if (valueLength >= size) return -1;
            memcpy(value, line + length + 1, valueLength);
            value[valueLength] = '\0';
            return 0;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/// "<dev> <ino> <size> <mtime s> <mtime ns>" of `path` (following links), as the record holds it.
static int identity(const char *path, char *buffer, size_t size) {
    struct stat info;
    if (stat(path, &info) != 0) return -1;
    int written = snprintf(buffer, size, "%llu %llu %lld %lld %ld", (unsigned long long)info.st_dev,
                           (unsigned long long)info.st_ino, (long long)info.st_size,
                           (long long)info.st_mtim.tv_sec, (long)info.st_mtim.tv_nsec);
    return written < 0 || (size_t)written >= size ? -1 : 0;
}

static int matches(const char *record, const char *key, const char *actual) {
    char expected[512];
    return field(record, key, expected, sizeof expected) == 0 && strcmp(expected, actual) == 0;
}

/// Splits `text` at spaces into `argv` after `first` entries already there; returns the count.
static int split(char *text, char **argv, int first, int capacity) {
    int count = first;
    for (char *token = strtok(text, " "); token != NULL && count < capacity - 1; token = strtok(NULL, " ")) argv[count++] = token;
    argv[count] = NULL;
    return count;
}

/// A child that waits for one byte on `gate`, then runs `argv` (newuidmap or newgidmap); -1 on failure.
static pid_t mapper(int gate, int other, char **argv) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    close(other);
    char go = 0;
    ssize_t got;
    do { got = read(gate, &go, 1); } while (got < 0 && errno == EINTR);
    if (got != 1 || go != 'g') _exit(0);
    execv(argv[0], argv);
    _exit(127);
}

static int succeeded(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

__attribute__((constructor)) static void kiln_replay_recorded_entry(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 2 || geteuid() == 0 || getenv("KILN_ISOLATION_ENTERED") != NULL) return;
    // The mode asked for, as Swift's IsolationEntry.requested reads it: the last --isolation, else KILN_ISOLATION.
    const char *requested = getenv("KILN_ISOLATION");
    for (int index = 1; index < argc; index++) {
        if (strcmp(argv[index], "--help") == 0 || strcmp(argv[index], "-h") == 0) return;
        if (strcmp(argv[index], "--isolation") == 0 && index + 1 < argc) requested = argv[index + 1];
        if (strncmp(argv[index], "--isolation=", 12) == 0) requested = argv[index] + 12;
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return;

    char path[4096];
    if (kiln_entry_record_path(getuid(), path, sizeof path) != 0) return;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    struct stat info;
    char record[8192];
    ssize_t length = -1;
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == getuid() && (info.st_mode & 022) == 0) {
        length = read(fd, record, sizeof record - 1);
    }
    close(fd);
    if (length <= 0) return;
    record[length] = '\0';

    char actual[512], commands[512];
    if (!matches(record, "version", "1")) return;
    snprintf(actual, sizeof actual, "%u %u", getuid(), getgid());
    if (!matches(record, "ids", actual)) return;
    int boot = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (boot < 0) return;
    ssize_t bootLength = read(boot, actual, sizeof actual - 1);
    close(boot);
    if (bootLength <= 0) return;
    actual[bootLength] = '\0';
    actual[strcspn(actual, "\n")] = '\0';
    if (!matches(record, "boot", actual)) return;
    if (identity("/proc/self/exe", actual, sizeof actual) != 0 || !matches(record, "exe", actual)) return;
    if (identity("/etc/subuid", actual, sizeof actual) != 0 || !matches(record, "subuid", actual)) return;
    if (identity("/etc/subgid", actual, sizeof actual) != 0 || !matches(record, "subgid", actual)) return;
    if (field(record, "commands", commands, sizeof commands) != 0) return;
    int known = 0;
    char *commandList[64];
    int commandCount = split(commands, commandList, 0, 64);
    for (int index = 0; index < commandCount; index++) known |= strcmp(commandList[index], argv[1]) == 0;
    if (!known) return;

    static char newuidmap[512], newgidmap[512], uidmap[1024], gidmap[1024];
    if (field(record, "mode", mode, sizeof mode) != 0) return;
    if (requested != NULL && requested[0] != '\0' && strcmp(requested, "auto") != 0 && strcmp(requested, mode) != 0) return;
    if (field(record, "summary", summary, sizeof summary) != 0
        || field(record, "newuidmap", newuidmap, sizeof newuidmap) != 0 || field(record, "newgidmap", newgidmap, sizeof newgidmap) != 0
        || field(record, "uidmap", uidmap, sizeof uidmap) != 0 || field(record, "gidmap", gidmap, sizeof gidmap) != 0) return;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    char *uidArguments[64] = {newuidmap, pid}, *gidArguments[64] = {newgidmap, pid};
    split(uidmap, uidArguments, 2, 64);
    split(gidmap, gidArguments, 2, 64);

    // The mappers are forked before the namespace exists, so they run newuidmap and newgidmap
    // (set-user-ID) from the namespace this process started in, as util-linux's unshare does.
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) return;
    pid_t users = mapper(gate[0], gate[1], uidArguments);
    pid_t groups = users > 0 ? mapper(gate[0], gate[1], gidArguments) : -1;
    close(gate[0]);
    if (users <= 0 || groups <= 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        close(gate[1]);  // the mappers read nothing and end
        if (users > 0) succeeded(users);
        if (groups > 0) succeeded(groups);
        return;
    }
    ssize_t sent = write(gate[1], "gg", 2);
    close(gate[1]);
    int mapped = sent == 2 && succeeded(users);
    mapped = succeeded(groups) && mapped;
    if (!mapped || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        // In a user namespace now, with no way back: the record no longer holds. Remove it, so
        // the next start decides again, and stop with what happened.
        unlink(path);
        fprintf(stderr, "kiln: entering the recorded user namespace failed (%s); run the command again\n",
                mapped ? strerror(errno) : "newuidmap or newgidmap failed");
        _exit(125);
    }
    // The environment is left alone here: Swift's runtime finds argv by walking back from an
    // `environ` still on the initial stack, which setenv would move. IsolationEntry sets the
    // KILN_ISOLATION_ENTERED variables from kiln_entry_replayed_summary() and _mode() in main.
    replayed = 1;
}
