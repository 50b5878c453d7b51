// The KL kernel for CPUs with AVX-512 (F and DQ; CMake builds this file with
// -mavx512f -mavx512dq on x86-64 only): eight doubles a step where AVX2 does
// four. rules/kl.cc calls it when the CPU has both.
#include "rules/kl.h"

#define TRIAGE_KL_NS avx512
#include "rules/kl_kernel.inc"

namespace triage::rules::internal {

void SmoothedKlRowsAvx512(const double* p, const double* q, size_t rows, size_t bins,
                          double smoothing, double* out) {
  avx512::KlRows(p, q, rows, bins, smoothing, out);
}

}  // namespace triage::rules::internal
