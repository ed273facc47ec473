/*
 * A native C build of the Linux 3.11 swiotlb slot allocator, written from the project's
 * SPEC §3 (not from kernel source): the io_tlb_list free-run counters, the next-fit
 * search of swiotlb_tbl_map_single with its stride, segment-boundary skip and wrap, the
 * merge of swiotlb_tbl_unmap_single, io_tlb_orig_addr and the io_tlb_index hint.
 *
 * It is the comparison the bench report holds the TypeScript core against
 * (bench/report/core_ref.ts builds it with `cc -O2` and runs it). What it leaves out, as
 * the TypeScript bench does: the bounce copies (no memory behind the pool) and the
 * kernel's io_tlb_lock (one thread, no contention) — both would only make C slower.
 *
 * The workload is a FIFO of LIVE mappings: for each size of the sizes file (int32,
 * little endian, written by bench/report/workload.ts), unmap the oldest mapping once
 * LIVE are held (nothing when that map had failed), then map the size. The TypeScript
 * side runs the same loop over the same file, so the two time the same operations.
 *
 *   swiotlb_ref bench SIZES NSLABS LIVE ROUNDS
 *       one untimed round, then ROUNDS timed rounds on a fresh pool each; prints one
 *       JSON line: {"nsPerOp":[…],"maps":M,"failed":F,"check":C}
 *   swiotlb_ref slots SIZES NSLABS LIVE MASK TBL_DMA_ADDR
 *       one round with that boundary mask and table bus address (decimal); prints the
 *       chosen slot of every map (-1 when it failed), one a line, then "hint H"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IO_TLB_SHIFT 11
#define IO_TLB_SEGSIZE 128
#define PAGE_SIZE 4096
/* Where the pool and the original buffers sit: the TypeScript bench's POOL_START and ORIG. */
#define POOL_START 0x10000000ULL
#define ORIG (POOL_START + 128ULL * 1024 * 1024)
#define MAP_ERROR (~0ULL)

static int *io_tlb_list;
static uint64_t *io_tlb_orig_addr;
static unsigned long io_tlb_index;
static unsigned long io_tlb_nslabs;
static uint64_t io_tlb_start;

/* Boot state (SPEC §3): each segment counts down 128, 127, ..., 1. */
static void pool_init(unsigned long nslabs) {
  io_tlb_nslabs = nslabs;
  io_tlb_start = POOL_START;
  io_tlb_index = 0;
  for (unsigned long i = 0; i < nslabs; i++) {
    io_tlb_list[i] = IO_TLB_SEGSIZE - (int)(i & (IO_TLB_SEGSIZE - 1));
    io_tlb_orig_addr[i] = 0;
  }
}

/* Would slots [index, index + nslots) cross a multiple of max_slots (a power of two)? */
static inline int crosses_boundary(unsigned long index, unsigned long nslots,
                                   unsigned long offset_slots, unsigned long max_slots) {
  unsigned long pos = (offset_slots + index) & (max_slots - 1);
  return pos + nslots > max_slots;
}

/* SPEC §3 Map: returns the bounce buffer's address, or MAP_ERROR. */
static uint64_t tbl_map_single(uint64_t tbl_dma_addr, uint64_t mask, uint64_t orig,
                               unsigned long size) {
  unsigned long nslots = (size + (1UL << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT;
  unsigned long offset_slots =
      ((tbl_dma_addr & mask) + (1UL << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT;
  /* mask + 1 overflows for the all-ones mask: then no boundary binds. */
  unsigned long max_slots = mask + 1
      ? ((mask + 1 + (1UL << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT)
      : 1UL << (64 - IO_TLB_SHIFT);
  unsigned long stride = size > PAGE_SIZE ? 2 : 1;
  unsigned long index = (io_tlb_index + stride - 1) & ~(stride - 1);
  if (index >= io_tlb_nslabs) index = 0;
  unsigned long wrap = index;
  do {
    while (crosses_boundary(index, nslots, offset_slots, max_slots)) {
      index += stride;
      if (index >= io_tlb_nslabs) index = 0;
      if (index == wrap) return MAP_ERROR;
    }
    if ((unsigned long)io_tlb_list[index] >= nslots) {
      int count = 0;
      for (unsigned long i = index; i < index + nslots; i++) io_tlb_list[i] = 0;
      /* Renumber the free slots just left of the run, inside its segment. */
      for (long i = (long)index - 1;
           (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 && io_tlb_list[i]; i--)
        io_tlb_list[i] = ++count;
      io_tlb_index = index + nslots < io_tlb_nslabs ? index + nslots : 0;
      for (unsigned long i = 0; i < nslots; i++)
        io_tlb_orig_addr[index + i] = orig + ((uint64_t)i << IO_TLB_SHIFT);
      return io_tlb_start + ((uint64_t)index << IO_TLB_SHIFT);
    }
    index += stride;
    if (index >= io_tlb_nslabs) index = 0;
  } while (index != wrap);
  return MAP_ERROR;
}

/* SPEC §3 Unmap: give the slots back and merge with the free runs right and left. */
static uint64_t tbl_unmap_single(uint64_t tlb_addr, unsigned long size) {
  unsigned long nslots = (size + (1UL << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT;
  long index = (long)((tlb_addr - io_tlb_start) >> IO_TLB_SHIFT);
  /* TO_DEVICE: nothing is copied back; the original is read as the kernel reads it. */
  uint64_t orig = io_tlb_orig_addr[index];
  long seg_end = (index + IO_TLB_SEGSIZE) & ~(long)(IO_TLB_SEGSIZE - 1);
  int count = index + (long)nslots < seg_end ? io_tlb_list[index + nslots] : 0;
  for (long i = index + (long)nslots - 1; i >= index; i--) io_tlb_list[i] = ++count;
  for (long i = index - 1;
       (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 && io_tlb_list[i]; i--)
    io_tlb_list[i] = ++count;
  return orig;
}

static int32_t *read_sizes(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  int32_t *sizes = malloc(bytes > 0 ? (size_t)bytes : 1);
  if (!sizes || fread(sizes, 1, (size_t)bytes, f) != (size_t)bytes) {
    fprintf(stderr, "%s: cannot read\n", path);
    exit(2);
  }
  fclose(f);
  *n = bytes / 4;
  return sizes;
}

struct fifo {
  uint64_t *addr;
  int32_t *size;
  long live, head, count;
};

/*
 * One round of the workload on a fresh pool; slots (when not NULL) gets each map's slot.
 * Returns a checksum of the addresses so the compiler keeps every call.
 */
static uint64_t run(const int32_t *sizes, long n, struct fifo *q, uint64_t mask,
                    uint64_t tbl, long *slots, long *failed) {
  uint64_t check = 0;
  q->head = 0;
  q->count = 0;
  *failed = 0;
  for (long i = 0; i < n; i++) {
    if (q->count == q->live) {
      if (q->addr[q->head] != MAP_ERROR) check += tbl_unmap_single(q->addr[q->head], q->size[q->head]);
      q->count--;
    }
    uint64_t a = tbl_map_single(tbl, mask, ORIG, (unsigned long)sizes[i]);
    if (a == MAP_ERROR) ++*failed;
    if (slots) slots[i] = a == MAP_ERROR ? -1 : (long)((a - io_tlb_start) >> IO_TLB_SHIFT);
    check += a;
    q->addr[q->head] = a;
    q->size[q->head] = sizes[i];
    q->head = q->head + 1 == q->live ? 0 : q->head + 1;
    q->count++;
  }
  return check;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s bench SIZES NSLABS LIVE ROUNDS | slots SIZES NSLABS LIVE MASK TBL\n",
            argv[0]);
    return 2;
  }
  long n;
  int32_t *sizes = read_sizes(argv[2], &n);
  unsigned long nslabs = strtoul(argv[3], NULL, 10);
  struct fifo q = {0};
  q.live = strtol(argv[4], NULL, 10);
  if (nslabs == 0 || nslabs % IO_TLB_SEGSIZE || q.live <= 0) {
    fprintf(stderr, "NSLABS must be a positive multiple of %d, LIVE positive\n", IO_TLB_SEGSIZE);
    return 2;
  }
  io_tlb_list = malloc(nslabs * sizeof *io_tlb_list);
  io_tlb_orig_addr = malloc(nslabs * sizeof *io_tlb_orig_addr);
  q.addr = malloc((size_t)q.live * sizeof *q.addr);
  q.size = malloc((size_t)q.live * sizeof *q.size);
  long failed;
  if (strcmp(argv[1], "slots") == 0 && argc >= 7) {
    long *slots = malloc((size_t)(n > 0 ? n : 1) * sizeof *slots);
    pool_init(nslabs);
    run(sizes, n, &q, strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10), slots, &failed);
    for (long i = 0; i < n; i++) printf("%ld\n", slots[i]);
    printf("hint %lu\n", io_tlb_index);
    return 0;
  }
  if (strcmp(argv[1], "bench") != 0) {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  long rounds = strtol(argv[5], NULL, 10);
  /* The TypeScript bench's device: the default boundary mask, tbl_dma_addr = the pool. */
  const uint64_t mask = 0xffffffffULL, tbl = POOL_START;
  uint64_t check = 0;
  pool_init(nslabs);
  check += run(sizes, n, &q, mask, tbl, NULL, &failed);
  printf("{\"nsPerOp\":[");
  for (long r = 0; r < rounds; r++) {
    pool_init(nslabs);
    double t0 = now_ns();
    check += run(sizes, n, &q, mask, tbl, NULL, &failed);
    double t1 = now_ns();
    printf("%s%.3f", r ? "," : "", (t1 - t0) / (double)n);
  }
  printf("],\"maps\":%ld,\"failed\":%ld,\"check\":%llu}\n", n, failed,
         (unsigned long long)(check & 0xffffffffffffULL));
  return 0;
}
