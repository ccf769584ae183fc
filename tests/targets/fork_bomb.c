/* libFuzzer harness that fork-bombs on its first input, boundedly so an unconfined run cannot take a machine down:
 * it forks up to 4000 children that wait for it, and aborts when all of them could be made (nothing limited the
 * processes). When fork fails (RLIMIT_NPROC, a pids limit), it says how many it made, lets them go and returns. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOMB 4000

static int done;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (done)
    return 0;
  done = 1;
  int release[2];
  if (pipe(release) != 0)
    return 0;
  int made = 0;
  int error = 0;
  for (; made < BOMB; made++) {
    pid_t pid = fork();
    if (pid == 0) {
      char c;
      close(release[1]);
      (void)!read(release[0], &c, 1); /* returns at end of file, when the parent lets go */
      _exit(0);
    }
    if (pid < 0) {
      error = errno;
      break;
    }
  }
  close(release[0]);
  close(release[1]);
  while (wait(NULL) > 0) {
  }
  if (made == BOMB) {
    fprintf(stderr, "fork_bomb: made all %d processes: nothing limits them\n", BOMB);
    abort();
  }
  fprintf(stderr, "fork_bomb: fork denied after %d processes: %s\n", made, strerror(error));
  return 0;
}
