#include "rules/kl.h"

#define TRIAGE_KL_NS baseline
#include "rules/kl_kernel.inc"

namespace triage::rules {

#if defined(TRIAGE_KL_AVX2)
namespace internal {
void SmoothedKlRowsAvx2(const double* p, const double* q, size_t rows, size_t bins,
                        double smoothing, double* out);
void SmoothedKlRowsAvx512(const double* p, const double* q, size_t rows, size_t bins,
                          double smoothing, double* out);
}  // namespace internal

namespace {
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
const bool kHasAvx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}  // namespace
#endif

double VectorLog(double x) { return baseline::LogRatio(x, 1); }

void SmoothedKlRows(const double* p, const double* q, size_t rows, size_t bins, double smoothing,
                    double* out) {
#if defined(TRIAGE_KL_AVX2)
  if (kHasAvx512) return internal::SmoothedKlRowsAvx512(p, q, rows, bins, smoothing, out);
  if (kHasAvx2) return internal::SmoothedKlRowsAvx2(p, q, rows, bins, smoothing, out);
#endif
  baseline::KlRows(p, q, rows, bins, smoothing, out);
}

}  // namespace triage::rules
