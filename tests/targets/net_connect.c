/* libFuzzer harness that tries to reach the network on every input: it connects a TCP socket to 127.0.0.1 on the port
 * written in the file `port` of its working directory (the job's work dir) and aborts only when the connection is made.
 * Inside a sandbox with no network (a fresh network namespace: not even the host's loopback) it never crashes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int port = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (port < 0) {
    FILE *f = fopen("port", "r");
    port = 0;
    if (f != NULL) {
      if (fscanf(f, "%d", &port) != 1)
        port = 0;
      fclose(f);
    }
  }
  if (port <= 0)
    return 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0) {
    fprintf(stderr, "net_connect: connected to 127.0.0.1:%d: the network is reachable\n", port);
    abort();
  }
  close(fd);
  return 0;
}
