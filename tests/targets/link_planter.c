/* libFuzzer harness that plants, on its first input, what a hostile target leaves for the bot to read as its own: in its
 * working directory (the job's work dir) symbolic links named like a crash (artifacts/crash-planted-link) and like a
 * corpus entry (corpus/zz-planted-link) to the file named in `secret-path`, and a FIFO named like a crash
 * (artifacts/crash-planted-fifo), which blocks whoever opens it to read. Then it fuzzes on without a bug: a bot that
 * follows links would report the secret as a crash input or offer it to the campaign's corpus, and one that opens the
 * FIFO would hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int planted;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (planted)
    return 0;
  planted = 1;
  char secret[4096] = {0};
  FILE *f = fopen("secret-path", "r");
  if (f == NULL)
    return 0;
  if (fgets(secret, sizeof secret, f) == NULL)
    secret[0] = '\0';
  fclose(f);
  secret[strcspn(secret, "\n")] = '\0';
  if (symlink(secret, "artifacts/crash-planted-link") != 0)
    perror("link_planter: artifacts link");
  if (symlink(secret, "corpus/zz-planted-link") != 0)
    perror("link_planter: corpus link");
  if (mkfifo("artifacts/crash-planted-fifo", 0644) != 0)
    perror("link_planter: fifo");
  return 0;
}
