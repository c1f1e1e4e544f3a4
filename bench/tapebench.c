/*
 * tapebench - sequential tape throughput through libiscsi, an initiator this project did not
 * write, so iscsi-vtl and tgt are measured by the same client.
 *
 *   tapebench -u iscsi://HOST:PORT/IQN/LUN [-b BYTES] [-n COUNT] [-q DEPTH] [-d] [-r]
 *     TEST UNIT READY until the unit attentions are consumed, REWIND, COUNT x WRITE(6) of
 *     BYTES in variable-block mode, WRITE FILEMARKS(1), REWIND, COUNT x READ(6) with every
 *     byte compared, and one more READ(6) that must end on the filemark (NO SENSE 00/01).
 *     -q commands in flight (default 1, as the Linux st driver), -d CRC32C header digest,
 *     -r write only.
 *   tapebench -R HOST:PORT [-b BYTES] [-n COUNT]
 *     Raw loopback baseline with the same exchange pattern and no SCSI: per block a 48-byte
 *     header plus BYTES out and a 48-byte reply back ("write"), then a 48-byte request and
 *     48 + BYTES back ("read"). The header is 'W' or 'R' in byte 0 and the length as a
 *     big-endian u32 in bytes 4-7; bench/run.ts serves it with node:net.
 *
 * Output, one line: bytes=.. count=.. depth=.. digest=.. write_MBps=.. read_MBps=..
 * write_cmds=.. read_cmds=.. (commands per second). Exit status 1 on any error or mismatch.
 */
#include <arpa/inet.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define OP_TEST_UNIT_READY 0x00
#define OP_REWIND 0x01
#define OP_READ6 0x08
#define OP_WRITE6 0x0a
#define OP_WRITE_FILEMARKS6 0x10
#define ASCQ_FILEMARK_DETECTED 0x0001 /* SPC-4 table 49: 00/01 */
#define RAW_HEADER 48

static struct iscsi_context *ctx;
static int lun;
static size_t block = 256 * 1024;
static long count = 4096;
static int depth = 1;
static unsigned char *pattern; /* expected bytes 8.. of every block; bytes 0-7 = block index */
static unsigned char **slots;  /* one buffer per command in flight */
static long issued, completed;
static int failed;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "tapebench: %s: %s\n", what, ctx ? iscsi_get_error(ctx) : "");
  exit(1);
}

static void cdb6(unsigned char *cdb, unsigned char op, unsigned char byte1, uint32_t len) {
  cdb[0] = op;
  cdb[1] = byte1;
  cdb[2] = (unsigned char)(len >> 16);
  cdb[3] = (unsigned char)(len >> 8);
  cdb[4] = (unsigned char)len;
  cdb[5] = 0;
}

/* a command without data; returns its SCSI status, printing the sense when `what` is set */
static int no_data(unsigned char op, uint32_t len, const char *what) {
  unsigned char cdb[6];
  cdb6(cdb, op, 0, len);
  struct scsi_task *t = scsi_create_task(6, cdb, SCSI_XFER_NONE, 0);
  if (!t || !iscsi_scsi_command_sync(ctx, lun, t, NULL)) die(what ? what : "command");
  int status = t->status;
  if (status != SCSI_STATUS_GOOD && what)
    fprintf(stderr, "tapebench: %s: status 0x%02x, sense %s %02x/%02x\n", what, status,
            scsi_sense_key_str(t->sense.key), t->sense.ascq >> 8, t->sense.ascq & 0xff);
  scsi_free_scsi_task(t);
  return status;
}

static void stamp(unsigned char *buf, long index) {
  memcpy(buf, &index, sizeof index);
  memcpy(buf + sizeof index, pattern + sizeof index, block - sizeof index);
}

static int verify(const unsigned char *buf, long index) {
  long got;
  memcpy(&got, buf, sizeof got);
  return got == index && memcmp(buf + sizeof got, pattern + sizeof got, block - sizeof got) == 0;
}

static void written(struct iscsi_context *c, int status, void *data, void *priv) {
  (void)c, (void)data;
  if (status != SCSI_STATUS_GOOD) {
    fprintf(stderr, "tapebench: WRITE(6) failed: status 0x%02x %s\n", status, iscsi_get_error(ctx));
    failed = 1;
  }
  scsi_free_scsi_task(priv);
  completed++;
}

static void read_done(struct iscsi_context *c, int status, void *data, void *priv) {
  (void)c;
  struct scsi_task *t = data;
  long index = (long)(intptr_t)priv;
  if (status != SCSI_STATUS_GOOD || t->residual != 0) {
    fprintf(stderr, "tapebench: READ(6) of block %ld failed: status 0x%02x residual %zu %s\n", index, status,
            t->residual, iscsi_get_error(ctx));
    failed = 1;
  } else if (!verify(slots[index % depth], index)) {
    fprintf(stderr, "tapebench: block %ld read back differs\n", index);
    failed = 1;
  }
  scsi_free_scsi_task(t);
  completed++;
}

/* one pass of `count` WRITE(6) or READ(6) commands with up to `depth` in flight; MB/s */
static double pass(int write) {
  issued = completed = 0;
  double t0 = now();
  while (completed < count && !failed) {
    while (issued < count && issued - completed < depth) {
      unsigned char cdb[6];
      unsigned char *buf = slots[issued % depth];
      cdb6(cdb, write ? OP_WRITE6 : OP_READ6, 0 /* FIXED=0: variable block */, (uint32_t)block);
      struct scsi_task *t = scsi_create_task(6, cdb, write ? SCSI_XFER_WRITE : SCSI_XFER_READ, (int)block);
      if (!t) die("scsi_create_task");
      if (write) {
        stamp(buf, issued);
        struct iscsi_data out = {block, buf};
        if (iscsi_scsi_command_async(ctx, lun, t, written, &out, t)) die("WRITE(6)");
      } else {
        /* data lands straight in our buffer, no copy inside libiscsi */
        if (scsi_task_add_data_in_buffer(t, (int)block, buf)) die("scsi_task_add_data_in_buffer");
        if (iscsi_scsi_command_async(ctx, lun, t, read_done, NULL, (void *)(intptr_t)issued)) die("READ(6)");
      }
      issued++;
    }
    struct pollfd p = {iscsi_get_fd(ctx), (short)iscsi_which_events(ctx), 0};
    if (poll(&p, 1, 5000) < 0) die("poll");
    if (iscsi_service(ctx, p.revents) < 0) die("iscsi_service");
  }
  if (failed) exit(1);
  return (double)block * count / (now() - t0) / 1e6;
}

static int tape(const char *url, int digest, int write_only) {
  ctx = iscsi_create_context("iqn.2026-11.org.iscsi-vtl:tapebench");
  if (!ctx) die("iscsi_create_context");
  struct iscsi_url *u = iscsi_parse_full_url(ctx, url);
  if (!u) die("URL");
  iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(ctx, digest ? ISCSI_HEADER_DIGEST_CRC32C : ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_targetname(ctx, u->target);
  lun = u->lun;
  if (iscsi_full_connect_sync(ctx, u->portal, u->lun)) die("login");
  for (int i = 0; i < 20 && no_data(OP_TEST_UNIT_READY, 0, NULL) != SCSI_STATUS_GOOD; i++) usleep(100000);
  if (no_data(OP_REWIND, 0, "REWIND")) return 1;
  double w = pass(1);
  if (no_data(OP_WRITE_FILEMARKS6, 1, "WRITE FILEMARKS")) return 1;
  if (no_data(OP_REWIND, 0, "REWIND")) return 1;
  double r = 0;
  if (!write_only) {
    r = pass(0);
    /* SSC-4 4.2.5: a READ that meets a filemark ends with CHECK CONDITION, FILEMARK, 00/01 */
    unsigned char cdb[6];
    cdb6(cdb, OP_READ6, 0, (uint32_t)block);
    struct scsi_task *t = scsi_create_task(6, cdb, SCSI_XFER_READ, (int)block);
    if (!t || !iscsi_scsi_command_sync(ctx, lun, t, NULL)) die("READ(6) at the filemark");
    if (t->status != SCSI_STATUS_CHECK_CONDITION || t->sense.ascq != ASCQ_FILEMARK_DETECTED) {
      fprintf(stderr, "tapebench: READ after the data did not meet the filemark (status 0x%02x, sense %02x/%02x)\n",
              t->status, t->sense.ascq >> 8, t->sense.ascq & 0xff);
      return 1;
    }
    scsi_free_scsi_task(t);
  }
  printf("bytes=%zu count=%ld depth=%d digest=%s write_MBps=%.1f read_MBps=%.1f write_cmds=%.0f read_cmds=%.0f\n",
         block, count, depth, digest ? "crc32c" : "none", w, r, w * 1e6 / block, r * 1e6 / block);
  iscsi_logout_sync(ctx);
  iscsi_destroy_url(u);
  iscsi_destroy_context(ctx);
  return 0;
}

static void full_write(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k <= 0) die("raw write");
    p += k, n -= (size_t)k;
  }
}

static void full_read(int fd, unsigned char *p, size_t n) {
  while (n) {
    ssize_t k = read(fd, p, n);
    if (k <= 0) die("raw read (server closed?)");
    p += k, n -= (size_t)k;
  }
}

static int raw(const char *hostport) {
  char host[64];
  int port;
  if (sscanf(hostport, "%63[^:]:%d", host, &port) != 2) die("-R wants HOST:PORT");
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("raw socket");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) die("raw connect");
  unsigned char hdr[RAW_HEADER] = {0}, *buf = slots[0];
  uint32_t be = htonl((uint32_t)block);
  memcpy(hdr + 4, &be, 4);
  double mbps[2];
  for (int phase = 0; phase < 2; phase++) {
    hdr[0] = phase == 0 ? 'W' : 'R';
    double t0 = now();
    for (long i = 0; i < count; i++) {
      if (phase == 0) { /* header and payload in one system call, as an initiator sends a PDU */
        struct iovec v[2] = {{hdr, RAW_HEADER}, {pattern, block}};
        ssize_t k = writev(fd, v, 2);
        if (k < 0) die("raw writev");
        if ((size_t)k < RAW_HEADER) die("raw writev: short header");
        full_write(fd, pattern + (k - RAW_HEADER), block - (size_t)(k - RAW_HEADER));
      } else full_write(fd, hdr, RAW_HEADER);
      full_read(fd, buf, RAW_HEADER);
      if (phase == 1) full_read(fd, buf, block);
    }
    mbps[phase] = (double)block * count / (now() - t0) / 1e6;
  }
  close(fd);
  printf("bytes=%zu count=%ld depth=1 digest=none write_MBps=%.1f read_MBps=%.1f write_cmds=%.0f read_cmds=%.0f\n",
         block, count, mbps[0], mbps[1], mbps[0] * 1e6 / block, mbps[1] * 1e6 / block);
  return 0;
}

int main(int argc, char **argv) {
  const char *url = NULL, *rawaddr = NULL;
  int digest = 0, write_only = 0, o;
  while ((o = getopt(argc, argv, "u:R:b:n:q:dr")) != -1) {
    switch (o) {
    case 'u': url = optarg; break;
    case 'R': rawaddr = optarg; break;
    case 'b': block = strtoul(optarg, NULL, 0); break;
    case 'n': count = atol(optarg); break;
    case 'q': depth = atoi(optarg); break;
    case 'd': digest = 1; break;
    case 'r': write_only = 1; break;
    default: goto usage;
    }
  }
  if ((!url == !rawaddr) || block < 16 || block > 0xffffff || count < 1 || depth < 1) goto usage;
  pattern = malloc(block);
  slots = calloc((size_t)depth, sizeof *slots);
  if (!pattern || !slots) die("malloc");
  /* Incompressible bytes (xorshift32): the emulated drive compresses like LTO (page 0Fh DCE),
     and a pattern it could shrink would flatter its write figures against tgt, which stores
     every byte. Backups are mostly compressed or encrypted already. */
  for (uint32_t x = 2463534242u, j = 0; j < block; j++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    pattern[j] = (unsigned char)(x >> 24);
  }
  for (int j = 0; j < depth; j++)
    if (!(slots[j] = malloc(block))) die("malloc");
  return rawaddr ? raw(rawaddr) : tape(url, digest, write_only);
usage:
  fprintf(stderr, "usage: tapebench -u iscsi://HOST:PORT/IQN/LUN [-b BYTES] [-n COUNT] [-q DEPTH] [-d] [-r]\n"
                  "       tapebench -R HOST:PORT [-b BYTES] [-n COUNT]\n"
                  "BYTES 16..16777215 (READ(6)/WRITE(6) transfer length is 24 bits)\n");
  return 2;
}
