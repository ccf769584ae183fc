/* libFuzzer harness that tries to leave its working directory (the job's work dir) on every input: it writes
 * `../escaped-by-fs-escape` next to the work dir and `/tmp/pandafuzz-escaped-by-fs-escape`, and aborts when it can see
 * `../outside-sentinel`, a file the test puts next to the work dir. Inside a sandbox whose filesystem view is the work
 * dir plus read-only system paths (a private /tmp), neither file appears outside and it never crashes. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void try_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)!write(fd, "escaped\n", 8);
    close(fd);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  try_write("../escaped-by-fs-escape");
  try_write("/tmp/pandafuzz-escaped-by-fs-escape");
  if (access("../outside-sentinel", F_OK) == 0) {
    fprintf(stderr, "fs_escape: ../outside-sentinel is visible: the filesystem is not limited to the work dir\n");
    abort();
  }
  return 0;
}
