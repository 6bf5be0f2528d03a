/* tests/conformance/platform_win32.c — platform.h for Windows (and wine). */
#include "platform.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Winsock must be started before the first socket call of the process; the count is dropped
 * when the process exits. */
static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once;
  (void)param;
  (void)context;
  WSADATA data;
  return WSAStartup(MAKEWORD(2, 2), &data) == 0;
}

static void need_winsock(void) {
  if (!InitOnceExecuteOnce(&winsock_once, start_winsock, NULL, NULL))
    TIDE_TEST_FAIL("WSAStartup failed");
}

int64_t plat_mono_ns(void) {
  static LARGE_INTEGER freq;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq); /* constant for the system's uptime */
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  /* Split so that the multiplication cannot overflow for any realistic uptime. */
  int64_t s = now.QuadPart / freq.QuadPart, rest = now.QuadPart % freq.QuadPart;
  return s * 1000000000 + rest * 1000000000 / freq.QuadPart;
}

void plat_sleep_ms(int ms) {
  Sleep((DWORD)ms);
}

void plat_sleep_us(int us) {
  if (us >= 1000) {
    Sleep((DWORD)((us + 999) / 1000));
    return;
  }
  /* Sleep's granularity is the scheduler tick (1-16 ms): spin for shorter waits. */
  int64_t until = plat_mono_ns() + (int64_t)us * 1000;
  while (plat_mono_ns() < until)
    SwitchToThread();
}

void plat_yield_thread(void) {
  SwitchToThread();
}

/* ---- threads --------------------------------------------------------------------------------- */

struct plat_thread {
  HANDLE handle;
  void (*fn)(void *arg);
  void *arg;
};

static unsigned __stdcall thread_main(void *p) {
  plat_thread *t = p;
  t->fn(t->arg);
  return 0;
}

plat_thread *plat_thread_start(void (*fn)(void *arg), void *arg) {
  plat_thread *t = malloc(sizeof *t);
  CHECK(t != NULL);
  t->fn = fn;
  t->arg = arg;
  uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
  if (h == 0)
    TIDE_TEST_FAIL("_beginthreadex failed");
  t->handle = (HANDLE)h;
  return t;
}

void plat_thread_join(plat_thread *t) {
  CHECK_EQ(WAIT_OBJECT_0, WaitForSingleObject(t->handle, INFINITE));
  CloseHandle(t->handle);
  free(t);
}

uintptr_t plat_thread_self(void) {
  return (uintptr_t)GetCurrentThreadId();
}

/* ---- processes and resources ----------------------------------------------------------------- */

long plat_pid(void) {
  return (long)GetCurrentProcessId();
}

static void *warm_job(void *arg) {
  return arg;
}

/* A job on the loop's executor and a name lookup (which runs there too). */
static int warm_task(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_future *f;
  CHECK_OK(tide_run_in_executor(loop, NULL, warm_job, NULL, &f));
  CHECK_OK(tide_await(f, NULL));
  tide_future_release(f);
  struct addrinfo *list;
  CHECK_OK(tide_resolve(loop, "localhost", "80", NULL, &list));
  tide_addrinfo_free(list);
  return 0;
}

/* Uses, once, what Windows (and wine) create on first use and keep for the process's life:
 * Winsock's provider state and event handles, the resolver, and what a thread's first wait on an
 * address creates (wine keeps one handle from then on; a loop's executor is the first to wait).
 * Counting before that would report them as the first test's leak. */
static void warm_up(void) {
  need_winsock();
  struct sockaddr_storage addr;
  plat_socket refusing = plat_refusing_port(&addr);
  intptr_t pair[2]; /* a listen, a connect and an accept */
  plat_native_socket_pair(pair);
  plat_native_close(pair[0]);
  plat_native_close(pair[1]);
  plat_socket_close(refusing);
  struct addrinfo *list = NULL;
  if (getaddrinfo("localhost", "80", NULL, &list) == 0)
    freeaddrinfo(list);
  CHECK_OK(tide_run(warm_task, NULL, NULL, NULL));
}

/* Counts handles by asking about each handle value in turn. Wine hands out the lowest free value,
 * so its table is dense and a long run of unused values means the end of it. */
static int probe_handles(void) {
  int n = 0, misses = 0;
  DWORD flags;
  for (uintptr_t h = 4; misses < 1024; h += 4) {
    if (GetHandleInformation((HANDLE)h, &flags)) {
      n++;
      misses = 0;
    } else {
      misses++;
    }
  }
  return n;
}

int plat_count_handles(void) {
  static int warm;
  if (!warm) {
    warm = 1;
    warm_up();
  }
  DWORD n = 0;
  CHECK(GetProcessHandleCount(GetCurrentProcess(), &n));
  /* Wine (8.0) answers 0 whatever is open (a process always has some handles): probe instead. */
  return n > 0 ? (int)n : probe_handles();
}

void plat_unix_socket_path(char *buf, size_t size, const char *tag) {
  char dir[MAX_PATH + 1];
  DWORD n = GetTempPathA(sizeof dir, dir);
  if (n == 0 || n > 60) /* sun_path holds 108 bytes */
    snprintf(dir, sizeof dir, "C:\\Windows\\Temp\\");
  snprintf(buf, size, "%stide-%s-%ld.sock", dir, tag, plat_pid());
  DeleteFileA(buf);
}

int plat_remove_file(const char *path) {
  return DeleteFileA(path) ? 0 : -1;
}

const char *plat_unix_sockets_may_be_missing(void) {
  return "AF_UNIX stream sockets exist only from Windows 10 version 1803 on, and wine implements "
         "them only in part; tide reports TIDE_ENOTSUP where the system lacks them";
}

const char *plat_abstract_unix_names_unsupported(void) {
  return "abstract Unix socket names (a leading NUL in sun_path) exist only on Linux; Windows' "
         "AF_UNIX has filesystem paths only";
}

/* ---- descriptor exhaustion ------------------------------------------------------------------- */

const char *plat_exhaust_descriptors(plat_fd_fill **out) {
  *out = NULL;
  return "Windows has no per-process descriptor limit (no RLIMIT_NOFILE; sockets are kernel "
         "handles limited only by memory), so accept cannot be driven into EMFILE";
}

void plat_restore_descriptors(plat_fd_fill *fill) {
  (void)fill;
}

/* ---- signals --------------------------------------------------------------------------------- */

void plat_sigpipe_default(void) {}

int plat_sigpipe_pending(void) {
  return 0;
}

const char *plat_block_and_raise_sigpipe(void) {
  return "Windows has no SIGPIPE (a write to a broken pipe or socket only fails), so there is no "
         "pending signal for tide to leave alone";
}

void plat_consume_sigpipe(void) {}

/* ---- plain blocking sockets ------------------------------------------------------------------ */

static int addr_len(const struct sockaddr_storage *addr) {
  return addr->ss_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                                     : (int)sizeof(struct sockaddr_in);
}

plat_socket plat_refusing_port(struct sockaddr_storage *addr) {
  need_winsock();
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  CHECK(s != INVALID_SOCKET);
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, addr));
  CHECK_EQ(0, bind(s, (struct sockaddr *)addr, addr_len(addr)));
  int len = sizeof *addr;
  CHECK_EQ(0, getsockname(s, (struct sockaddr *)addr, &len));
  return (plat_socket)s;
}

plat_socket plat_tcp_connect_blocking(const struct sockaddr_storage *addr) {
  need_winsock();
  SOCKET s = socket(addr->ss_family, SOCK_STREAM, IPPROTO_TCP);
  CHECK(s != INVALID_SOCKET);
  if (connect(s, (const struct sockaddr *)addr, addr_len(addr)) != 0)
    TIDE_TEST_FAIL("connect: Winsock error %d", WSAGetLastError());
  return (plat_socket)s;
}

void plat_send_all(plat_socket s, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    int chunk = n > 1 << 30 ? 1 << 30 : (int)n;
    int k = send((SOCKET)s, p, chunk, 0);
    if (k <= 0)
      TIDE_TEST_FAIL("send: Winsock error %d", WSAGetLastError());
    p += k;
    n -= (size_t)k;
  }
}

void plat_socket_close(plat_socket s) {
  CHECK_EQ(0, closesocket((SOCKET)s));
}

void plat_set_linger_zero(intptr_t fd) {
  struct linger lg = {1, 0};
  CHECK_EQ(0, setsockopt((SOCKET)fd, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg));
}

int plat_get_sockopt_int(intptr_t fd, int level, int name) {
  /* Windows reports some boolean options (TCP_NODELAY) in a single byte of the int. */
  int value = 0;
  int len = sizeof value;
  CHECK_EQ(0, getsockopt((SOCKET)fd, level, name, (char *)&value, &len));
  return len == 1 ? (int)(unsigned char)value : value;
}

int plat_tcp_nodelay_level(void) {
  return IPPROTO_TCP;
}

int plat_tcp_nodelay_name(void) {
  return TCP_NODELAY;
}

const char *plat_reuse_port_unsupported(void) {
  return "Windows has no SO_REUSEPORT: no option lets several listening sockets share a port "
         "with the kernel spreading connections (SO_REUSEADDR there lets a socket steal a port)";
}

const char *plat_ipv6_loopback_unavailable(void) {
  need_winsock();
  SOCKET s = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET)
    return "this host has no IPv6 sockets (socket(AF_INET6) failed)";
  struct sockaddr_storage a;
  CHECK_OK(tide_addr_from_ip("::1", 0, &a));
  int err = bind(s, (struct sockaddr *)&a, sizeof(struct sockaddr_in6));
  closesocket(s);
  return err == 0 ? NULL : "this host has no IPv6 loopback address (::1 cannot be bound)";
}

/* ---- native descriptors ---------------------------------------------------------------------- */

/* On Windows tide_stream_open_fd takes a SOCKET or a pipe HANDLE opened for overlapped I/O (the
 * completion port needs overlapped handles), so the "descriptors" here are those. */

const char *plat_native_descriptors_unsupported(void) {
  return NULL;
}

/* A named pipe stands in for pipe(). Its server end, the one tide wraps, is overlapped, as tide
 * needs; `server_access` says which way it carries bytes (PIPE_ACCESS_INBOUND: it reads). The
 * client end is synchronous, for plat_native_write's and plat_native_read's blocking calls.
 * Returns the server end and stores the client end in *client. */
static HANDLE named_pipe_pair(DWORD server_access, DWORD mode, DWORD client_access,
                              HANDLE *client) {
  static LONG serial;
  char name[128];
  snprintf(name, sizeof name, "\\\\.\\pipe\\tide-conformance-%lu-%ld",
           (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&serial));
  HANDLE server =
      CreateNamedPipeA(name, server_access | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                       mode | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
  if (server == INVALID_HANDLE_VALUE)
    TIDE_TEST_FAIL("CreateNamedPipe: error %lu", GetLastError());
  *client = CreateFileA(name, client_access, 0, NULL, OPEN_EXISTING, 0, NULL);
  if (*client == INVALID_HANDLE_VALUE)
    TIDE_TEST_FAIL("CreateFile on the pipe: error %lu", GetLastError());
  return server;
}

void plat_native_pipe(intptr_t fds[2]) {
  HANDLE w;
  HANDLE r =
      named_pipe_pair(PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE, GENERIC_WRITE, &w);
  fds[0] = (intptr_t)r;
  fds[1] = (intptr_t)w;
}

const char *plat_native_message_pipe(intptr_t fds[2]) {
  HANDLE w;
  HANDLE r = named_pipe_pair(PIPE_ACCESS_INBOUND, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                             GENERIC_WRITE, &w);
  fds[0] = (intptr_t)r;
  fds[1] = (intptr_t)w;
  return NULL;
}

void plat_native_pipe_from_tide(intptr_t fds[2]) {
  HANDLE r;
  HANDLE w =
      named_pipe_pair(PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE, GENERIC_READ, &r);
  fds[0] = (intptr_t)r;
  fds[1] = (intptr_t)w;
}

/* Windows has no socketpair: a loopback TCP connection is the pair. */
void plat_native_socket_pair(intptr_t fds[2]) {
  need_winsock();
  SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  CHECK(l != INVALID_SOCKET);
  struct sockaddr_storage addr;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &addr));
  CHECK_EQ(0, bind(l, (struct sockaddr *)&addr, addr_len(&addr)));
  CHECK_EQ(0, listen(l, 1));
  int len = sizeof addr;
  CHECK_EQ(0, getsockname(l, (struct sockaddr *)&addr, &len));
  plat_socket c = plat_tcp_connect_blocking(&addr);
  SOCKET a = accept(l, NULL, NULL);
  CHECK(a != INVALID_SOCKET);
  closesocket(l);
  fds[0] = c;
  fds[1] = (intptr_t)a;
}

intptr_t plat_native_regular_file(void) {
  char dir[MAX_PATH + 1], path[MAX_PATH + 64];
  CHECK(GetTempPathA(sizeof dir, dir) != 0);
  snprintf(path, sizeof path, "%stide-regular-%ld", dir, plat_pid());
  /* Overlapped, so that only its being a disk file can make tide refuse it. */
  HANDLE h = CreateFileA(
      path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
      FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE | FILE_FLAG_OVERLAPPED, NULL);
  if (h == INVALID_HANDLE_VALUE)
    TIDE_TEST_FAIL("CreateFile %s: error %lu", path, GetLastError());
  return (intptr_t)h;
}

long plat_native_write(intptr_t fd, const void *buf, size_t n) {
  DWORD done = 0;
  if (!WriteFile((HANDLE)fd, buf, (DWORD)n, &done, NULL))
    return -1;
  return (long)done;
}

long plat_native_read(intptr_t fd, void *buf, size_t n) {
  DWORD done = 0;
  if (!ReadFile((HANDLE)fd, buf, (DWORD)n, &done, NULL))
    return GetLastError() == ERROR_BROKEN_PIPE ? 0 : -1; /* the write end closed: end of file */
  return (long)done;
}

static int is_socket(intptr_t fd) {
  int type = 0;
  int len = sizeof type;
  return getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
}

void plat_native_close(intptr_t fd) {
  if (is_socket(fd))
    CHECK_EQ(0, closesocket((SOCKET)fd));
  else
    CHECK(CloseHandle((HANDLE)fd));
}

int plat_native_is_open(intptr_t fd) {
  DWORD flags;
  return GetHandleInformation((HANDLE)fd, &flags) != 0;
}
