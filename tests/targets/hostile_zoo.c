/* libFuzzer harness: a zoo of what a hostile target does to the node that runs it, one behaviour per campaign, picked
 * by the campaign's dictionary, which LLVMFuzzerInitialize reads from its -dict= file:
 *   mode="links|connect|fork|disk|escape"  secret="/abs/file"  token="/abs/file"  ports="4053,9110,8080"
 *   outside="/abs/path-prefix"
 * On its first input it attacks, prints what it got, and then fuzzes on without a bug:
 *   links:   symbolic links to the secret and the token in corpus/ and artifacts/ (named like inputs and crashes),
 *            hard links to both (refused where the files are out of sight), a FIFO in each folder;
 *   connect: connects to 127.0.0.1 on each port and sends a command host request and an HTTP drain;
 *   fork:    forks up to 256 children that wait until they are killed;
 *   disk:    writes one file until the file size limit stops it (SIGXFSZ ignored, so the write fails);
 *   escape:  writes <outside>-tmp, <outside>-data and ../escaped-by-hostile-zoo.
 * Nothing of it may reach the node: no secret byte in an answer, blob or log, no process left, no file outside. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char mode[64], secret[4096], token[4096], ports[512], outside[4096];
static int attacked;

static void take(const char *line, const char *key, char *out, size_t size) {
  size_t k = strlen(key);
  if (strncmp(line, key, k) != 0 || line[k] != '=' || line[k + 1] != '"')
    return;
  const char *value = line + k + 2;
  const char *end = strrchr(value, '"');
  if (end != NULL && (size_t)(end - value) < size) {
    memcpy(out, value, (size_t)(end - value));
    out[end - value] = '\0';
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  for (int i = 1; i < *argc; i++) {
    if (strncmp((*argv)[i], "-dict=", 6) != 0)
      continue;
    FILE *f = fopen((*argv)[i] + 6, "r");
    char line[8192];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
      line[strcspn(line, "\n")] = '\0';
      take(line, "mode", mode, sizeof mode);
      take(line, "secret", secret, sizeof secret);
      take(line, "token", token, sizeof token);
      take(line, "ports", ports, sizeof ports);
      take(line, "outside", outside, sizeof outside);
    }
    if (f != NULL)
      fclose(f);
  }
  return 0;
}

static void report(const char *what, int result) {
  printf("hostile_zoo %s: %s\n", what, result == 0 ? "done" : strerror(errno));
  fflush(stdout);
}

static void links(void) {
  report("corpus link to secret", symlink(secret, "corpus/zz-link-secret"));
  report("corpus link to token", symlink(token, "corpus/zz-link-token"));
  report("artifact link to secret", symlink(secret, "artifacts/crash-link-secret"));
  report("artifact link to token", symlink(token, "artifacts/crash-link-token"));
  report("corpus hard link to secret", link(secret, "corpus/zz-hard-secret"));
  report("artifact hard link to token", link(token, "artifacts/crash-hard-token"));
  report("corpus fifo", mkfifo("corpus/zz-fifo", 0644));
  report("artifact fifo", mkfifo("artifacts/crash-fifo", 0644));
}

static void connects(void) {
  char list[sizeof ports];
  memcpy(list, ports, sizeof list);
  for (char *port = strtok(list, ","); port != NULL; port = strtok(NULL, ",")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int connected = connect(s, (struct sockaddr *)&to, sizeof to);
    printf("hostile_zoo connect 127.0.0.1:%s: %s\n", port, connected == 0 ? "CONNECTED" : strerror(errno));
    if (connected == 0) {
      const char *requests = "{\"args\":[\"cluster\",\"down\",\"-a\",\"x\"]}\nPOST /api/v1/bots/x/drain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      ssize_t sent = write(s, requests, strlen(requests));
      (void)sent;
    }
    close(s);
  }
  fflush(stdout);
}

static void forks(void) {
  int made = 0;
  for (; made < 256; made++) {
    pid_t child = fork();
    if (child < 0)
      break;
    if (child == 0)
      for (;;)
        pause();
  }
  printf("hostile_zoo forked %d children\n", made);
  fflush(stdout);
}

static void disk(void) {
  signal(SIGXFSZ, SIG_IGN);
  FILE *f = fopen("fill", "w");
  static char chunk[1 << 20];
  memset(chunk, 'F', sizeof chunk);
  long written = 0;
  while (f != NULL && written < 1024L * 1024 * 1024 && fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk && fflush(f) == 0)
    written += (long)sizeof chunk;
  printf("hostile_zoo wrote %ld bytes before: %s\n", written, strerror(errno));
  fflush(stdout);
  if (f != NULL)
    fclose(f);
  unlink("fill");
}

static void escape(void) {
  char path[sizeof outside + 16];
  snprintf(path, sizeof path, "%s-tmp", outside);
  FILE *f = fopen(path, "w");
  report("write outside (tmp)", f == NULL ? -1 : 0);
  if (f != NULL)
    fclose(f);
  snprintf(path, sizeof path, "%s-data", outside);
  f = fopen(path, "w");
  report("write outside (data)", f == NULL ? -1 : 0);
  if (f != NULL)
    fclose(f);
  f = fopen("../escaped-by-hostile-zoo", "w");
  report("write outside (parent)", f == NULL ? -1 : 0);
  if (f != NULL)
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (attacked)
    return 0;
  attacked = 1;
  if (strcmp(mode, "links") == 0)
    links();
  else if (strcmp(mode, "connect") == 0)
    connects();
  else if (strcmp(mode, "fork") == 0)
    forks();
  else if (strcmp(mode, "disk") == 0)
    disk();
  else if (strcmp(mode, "escape") == 0)
    escape();
  return 0;
}
