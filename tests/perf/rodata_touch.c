// Which read-only data a function reads when it runs natively: every address of the binary's
// `.rodata` and `.rodata.hot` that an instruction loads from, for the data layout
// (tests/perf/hot_rodata.py). Preloaded into one binary, it makes those pages unreadable; a load
// from one faults, is logged (its offset in the file's address space, once per address), and is
// single-stepped with the page readable (the trap flag), after which the page is closed again.
// x86_64 only (the trap flag). Under it the timings and resident figures mean nothing.
//
//   gcc -O2 -shared -fPIC -o /tmp/rodata_touch.so tests/perf/rodata_touch.c
//   env LD_PRELOAD=/tmp/rodata_touch.so TOUCH_OUT=/tmp/touched [TOUCH_EXE=me] ./me
//
// writes /tmp/touched.me.<pid>, one hex offset a line (TOUCH_EXE: only that binary). A system call handed an unreadable buffer
// fails with EFAULT rather than faulting; the functions read no such buffer straight from
// `.rodata` (the harness's --require-2xx would show it).
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096UL
#define TRAP_FLAG 0x100
// Open addressing over offsets seen; a function reads some tens of thousands.
#define SEEN_SLOTS (1UL << 22)

static unsigned long from, to, base;
static int out = -1;
static unsigned long *seen;
// Pages opened for the instruction being stepped (a copy may span two, a string instruction more).
static __thread unsigned long open_pages[16];
static __thread int open_count;

static int first_time(unsigned long offset) {
    unsigned long key = offset + 1, slot = (key * 0x9E3779B97F4A7C15UL) >> 42;
    for (;;) {
        if (seen[slot] == key) {
            return 0;
        }
        if (seen[slot] == 0) {
            seen[slot] = key;
            return 1;
        }
        slot = (slot + 1) & (SEEN_SLOTS - 1);
    }
}

static void fault(int sig, siginfo_t *info, void *context) {
    (void)sig;
    unsigned long at = (unsigned long)info->si_addr;
    if (at < from || at >= to || open_count == 16) {  // a real fault: let it kill the process
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    if (first_time(at - base)) {
        char line[32];
        int n = snprintf(line, sizeof line, "%lx\n", at - base);
        if (write(out, line, n) != n) {
            _exit(99);
        }
    }
    unsigned long page = at & ~(PAGE - 1);
    mprotect((void *)page, PAGE, PROT_READ);
    open_pages[open_count++] = page;
    ((ucontext_t *)context)->uc_mcontext.gregs[REG_EFL] |= TRAP_FLAG;
}

static void stepped(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    ((ucontext_t *)context)->uc_mcontext.gregs[REG_EFL] &= ~TRAP_FLAG;
    for (int i = 0; i < open_count; i++) {
        mprotect((void *)open_pages[i], PAGE, PROT_NONE);
    }
    open_count = 0;
}

// The address range of the loaded sections named `.rodata` or `.rodata.hot`, from the file's
// section headers.
static int rodata_range(const char *exe, unsigned long *lo, unsigned long *hi) {
    int fd = open(exe, O_RDONLY);
    if (fd < 0) {
        return 0;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    const unsigned char *file = mmap(0, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED) {
        return 0;
    }
    const Elf64_Ehdr *header = (const void *)file;
    const Elf64_Shdr *sections = (const void *)(file + header->e_shoff);
    const char *names = (const char *)file + sections[header->e_shstrndx].sh_offset;
    *lo = ~0UL;
    *hi = 0;
    for (int i = 0; i < header->e_shnum; i++) {
        const char *name = names + sections[i].sh_name;
        if (strcmp(name, ".rodata") == 0 || strcmp(name, ".rodata.hot") == 0) {
            if (sections[i].sh_addr < *lo) {
                *lo = sections[i].sh_addr;
            }
            if (sections[i].sh_addr + sections[i].sh_size > *hi) {
                *hi = sections[i].sh_addr + sections[i].sh_size;
            }
        }
    }
    munmap((void *)file, size);
    return *hi > *lo;
}

__attribute__((constructor)) static void start(void) {
    const char *exe_name = getenv("TOUCH_EXE"), *log = getenv("TOUCH_OUT");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!log || n < 0) {
        return;
    }
    exe[n] = 0;
    const char *slash = strrchr(exe, '/'), *name = slash ? slash + 1 : exe;
    if (exe_name && strcmp(name, exe_name) != 0) {
        return;  // the harness's other processes (seeding, the yardsticks)
    }
    unsigned long lo, hi, map_start = 0, map_end = 0;
    if (!rodata_range(exe, &lo, &hi)) {
        return;
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[8192];
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char perms[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, perms, &offset, path) >= 4 && strcmp(path, exe) == 0) {
            if (!base) {
                base = start - offset;
            }
            // The read-only mapping that holds the data: only its pages are closed.
            if (base + lo >= start && base + lo < end && strcmp(perms, "r--p") == 0) {
                map_start = start;
                map_end = end;
            }
        }
    }
    if (maps) {
        fclose(maps);
    }
    if (!base || !map_start) {
        return;
    }
    seen = mmap(0, SEEN_SLOTS * sizeof *seen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (seen == MAP_FAILED) {
        return;
    }
    char file[4200];
    snprintf(file, sizeof file, "%s.%s.%d", log, name, getpid());
    out = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    from = (base + lo) & ~(PAGE - 1);
    to = (base + hi + PAGE - 1) & ~(PAGE - 1);
    if (from < map_start) {
        from = map_start;
    }
    if (to > map_end) {
        to = map_end;
    }
    struct sigaction action = {0};
    action.sa_sigaction = fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, 0);
    action.sa_sigaction = stepped;
    sigaction(SIGTRAP, &action, 0);
    mprotect((void *)from, to - from, PROT_NONE);
}
