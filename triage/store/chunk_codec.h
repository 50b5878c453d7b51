// The encoding of a series chunk's points (the values of the series_chunks
// column family). A chunk value is a sequence of segments, each a run of
// points sorted by time:
//
//   0xC5 | varint n | zigzag t0 | zigzag (t1 - t0) | width, the n-2
//   deltas-of-deltas of the timestamps bit-packed at that width | values
//
// Regular timestamps (a scrape every 60 s) pack at width 0: no bits at all.
// Values that are short decimals (0.78123, 104.5, 12) are stored as integers
// scaled by 10^k: the first, then the n-1 differences, zigzagged and
// bit-packed at the width the largest needs. Other values (long fractions,
// NaN staleness markers, infinities) are XOR'd with the previous value's
// bits (Gorilla). Every value comes back bit for bit.
//
// Values written before this encoding (raw 16-byte [time][float64 bits]
// pairs) never start with 0xC5 and still decode. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "rules/stats.h"

namespace triage::store {

using Sample = rules::TimedValue;  // {t, v}

// Varints (LEB128) and zigzag, as in the segments; shared by the head log.
uint64_t Zig(int64_t v);
int64_t Unzig(uint64_t v);
void PutVarint(std::string* out, uint64_t v);
// False (nothing consumed that matters) when `in` ends inside a varint.
bool GetVarint(std::string_view* in, uint64_t* v);

// Appends one segment holding `samples` (sorted by time, no duplicate times).
void EncodeSegment(std::span<const Sample> samples, std::string* out);

// Appends the points of every segment of `value` in the order they are stored.
// DataLoss when the value is truncated or malformed.
absl::Status DecodeChunk(std::string_view value, std::vector<Sample>* out);

// Pieces of one chunk (an existing value, then merge operands in write
// order) as one segment: sorted by time, a later piece winning on equal
// timestamps. A piece that cannot be decoded is dropped and counted in
// *corrupt (when given).
std::string MergeChunkPieces(std::span<const std::string_view> pieces, int* corrupt = nullptr);

}  // namespace triage::store
