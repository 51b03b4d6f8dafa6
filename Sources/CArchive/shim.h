#include <archive.h>
#include <archive_entry.h>
// Swift's Glibc module leaves out the xattr calls; the layer code reads and writes
// extended attributes itself for files libarchive never opens.
#include <sys/xattr.h>
