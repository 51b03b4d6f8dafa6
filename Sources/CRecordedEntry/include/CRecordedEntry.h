#ifndef KILN_RECORDED_ENTRY_H
#define KILN_RECORDED_ENTRY_H

#include <stddef.h>

/// Where this user's record of a rootless entry lives: `$XDG_RUNTIME_DIR/kiln-entry` when that
/// is an absolute path, else `/tmp/kiln-entry-<uid>` (`uid` the user outside any namespace).
/// Returns 0, or -1 when `size` is too small.
int kiln_entry_record_path(unsigned int uid, char *buffer, size_t size);

/// Whether this process entered its user namespace before `main`, replaying a record (1), or not (0).
int kiln_entry_replayed(void);

/// The recorded summary line and mode of the replayed entry; NULL when nothing was replayed.
const char *kiln_entry_replayed_summary(void);
const char *kiln_entry_replayed_mode(void);

#endif
