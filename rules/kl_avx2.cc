// The KL kernel for CPUs with AVX2 and FMA (CMake builds this file with
// -mavx2 -mfma on x86-64 only); rules/kl.cc calls it when the CPU has both.
#include "rules/kl.h"

#define TRIAGE_KL_NS avx2
#include "rules/kl_kernel.inc"

namespace triage::rules::internal {

void SmoothedKlRowsAvx2(const double* p, const double* q, size_t rows, size_t bins,
                        double smoothing, double* out) {
  avx2::KlRows(p, q, rows, bins, smoothing, out);
}

}  // namespace triage::rules::internal
