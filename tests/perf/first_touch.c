// Which pages of a function's cold code (`.text` after the laid-out `.text.hot`) the function
// touches when it runs natively: callgrind, which records the layout, runs it on another CPU
// model and at another speed, and the release build may keep out of line what the recording
// inlined. Preloaded into one binary, it makes the address range unreadable and logs the first
// touch of each page (its offset in the file's address space) before allowing it.
//
//   gcc -O2 -shared -fPIC -o /tmp/first_touch.so tests/perf/first_touch.c
//   python3 tests/perf/harness.py --bin-dir DIR --functions me --warm 50 --out /tmp/ft
//       --launch-prefix "env LD_PRELOAD=/tmp/first_touch.so TOUCH_EXE=me TOUCH_FROM=<.text start> TOUCH_TO=<.text end> TOUCH_OUT=/tmp/ft/touched"
//
// Under it the resident figures mean nothing: each page touched becomes a mapping of its own, so
// the kernel maps no pages around a fault. Addresses in hex as `readelf -SW` prints them; DIR holds a build with symbols and no debug
// information (tests/perf/README.md, "Code layout"), whose `nm` names the functions touched.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long from, to, base;
static int out = -1;

static void touched(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    unsigned long at = (unsigned long)info->si_addr;
    if (at < from || at >= to) {  // a real fault: let it kill the process as it would have
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%lx\n", at - base);
    if (write(out, line, n) != n) {
        _exit(99);
    }
    mprotect((void *)(at & ~4095UL), 4096, PROT_READ | PROT_EXEC);
}

__attribute__((constructor)) static void start(void) {
    const char *exe_name = getenv("TOUCH_EXE"), *lo = getenv("TOUCH_FROM"), *hi = getenv("TOUCH_TO"), *log = getenv("TOUCH_OUT");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!exe_name || !lo || !hi || !log || n < 0) {
        return;
    }
    exe[n] = 0;
    const char *slash = strrchr(exe, '/');
    if (strcmp(slash ? slash + 1 : exe, exe_name) != 0) {
        return;  // the harness's other processes (seeding, the yardsticks)
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[8192];
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char path[4096] = "";
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &start, &end, &offset, path) >= 3 && strcmp(path, exe) == 0) {
            base = start - offset;
            break;
        }
    }
    if (maps) {
        fclose(maps);
    }
    if (!base) {
        return;
    }
    char file[4200];
    snprintf(file, sizeof file, "%s.%d", log, getpid());
    out = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    from = (base + strtoul(lo, 0, 16)) & ~4095UL;
    to = (base + strtoul(hi, 0, 16) + 4095) & ~4095UL;
    struct sigaction action = {0};
    action.sa_sigaction = touched;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, 0);
    mprotect((void *)from, to - from, PROT_NONE);
}
