// Smoothed KL divergence over many rows of bins at once: the kernel behind
// SmoothedKl and the feature_drift check. Pure functions; thread-safe.
#pragma once

#include <cstddef>

namespace triage::rules {

// For each of `rows` rows of `bins` counts (row r at p + r * bins, likewise
// q): out[r] = KL(P || Q) = sum p_i ln(p_i / q_i), natural log, where p_i is
// counts_p[i] / total_p + smoothing, renormalised (likewise q). A zero total
// smooths to the uniform distribution; with smoothing 0, bins where p_i is 0
// add nothing. Accurate to a few units in the last place of each term.
void SmoothedKlRows(const double* p, const double* q, size_t rows, size_t bins, double smoothing,
                    double* out);

// ln(x) for a positive normal x, accurate to about 1 ulp; written so that
// loops over it vectorise. Not for 0, subnormals, infinities or NaN.
double VectorLog(double x);

}  // namespace triage::rules
