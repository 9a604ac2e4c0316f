/* bench_shim: times one call through the C shim from C (no Go), to split
 * the Go binding's overhead into the shim's part and cgo's part.
 * Usage: bench_shim MODULE.pt METHOD ITERS   (input: float32 [1,64]) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "goclip.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODULE.pt METHOD ITERS\n", argv[0]);
    return 2;
  }
  gc_module m;
  char *e = gc_module_load(argv[1], "cpu", &m);
  if (e != NULL) {
    fprintf(stderr, "%s\n", e);
    return 1;
  }
  float in[64] = {0};
  gc_tensor t = {GC_FLOAT32, 2, {1, 64}, in};
  long n = atol(argv[3]);
  struct timespec a, b;
  for (long i = 0; i < n / 10 + 1; i++) {
    gc_tensor *out;
    int32_t no;
    if ((e = gc_module_run(m, argv[2], &t, 1, -1, 1, &out, &no)) != NULL) {
      fprintf(stderr, "%s\n", e);
      return 1;
    }
    gc_tensors_free(out, no);
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    gc_tensor *out;
    int32_t no;
    e = gc_module_run(m, argv[2], &t, 1, -1, 1, &out, &no);
    gc_tensors_free(out, no);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("c->shim %s %s [1,64]: %.0f ns/op\n", argv[1], argv[2],
         ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
  gc_module_free(m);
  return 0;
}
