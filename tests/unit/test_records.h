// Builders for records in unit tests, and a store on an in-memory Env.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/model/time.h"
#include "rocksdb/env.h"
#include "triage/store/store.h"
#include "triage/v1/records.pb.h"

namespace triage::testing {

// A fresh store in memory; the Env outlives the Store.
class MemStore {
 public:
  explicit MemStore(int64_t retention_ms = 0, const Clock* clock = nullptr)
      : env_(rocksdb::NewMemEnv(rocksdb::Env::Default())) {
    options_.retention_ms = retention_ms;
    options_.clock = clock;
    Reopen();
  }
  // With any options; the path and Env are the in-memory ones.
  explicit MemStore(store::StoreOptions options)
      : env_(rocksdb::NewMemEnv(rocksdb::Env::Default())), options_(std::move(options)) {
    Reopen();
  }
  void Reopen() {
    store_.reset();
    options_.path = "/db";
    options_.env = env_.get();
    auto s = store::Store::Open(options_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  store::Store& operator*() { return *store_; }
  rocksdb::Env* env() { return env_.get(); }
  void Close() { store_.reset(); }
  store::Store* operator->() { return store_.get(); }

 private:
  std::unique_ptr<rocksdb::Env> env_;
  store::StoreOptions options_;
  std::unique_ptr<store::Store> store_;
};

inline v1::Change Change(const std::string& id, const std::string& kind, const std::string& service,
                         int64_t t_ms, const std::string& previous_version = "") {
  v1::Change c;
  c.set_id(id);
  c.set_kind(kind);
  c.set_service(service);
  *c.mutable_time() = FromMs(t_ms);
  c.set_version("v2");
  c.set_previous_version(previous_version);
  return c;
}

inline v1::Dependency Dependency(const std::string& service, std::vector<std::string> deps) {
  v1::Dependency d;
  d.set_service(service);
  for (auto& s : deps) d.add_depends_on(s);
  return d;
}

inline v1::Histogram Numeric(const std::string& service, const std::string& feature,
                             int64_t start_ms, int64_t end_ms, std::vector<double> edges,
                             std::vector<double> counts) {
  v1::Histogram h;
  h.set_service(service);
  h.set_feature(feature);
  *h.mutable_start() = FromMs(start_ms);
  *h.mutable_end() = FromMs(end_ms);
  for (double e : edges) h.add_edges(e);
  for (double c : counts) h.add_counts(c);
  return h;
}

inline v1::Series Series(const std::string& metric, std::map<std::string, std::string> labels) {
  v1::Series s;
  s.set_metric(metric);
  s.mutable_labels()->insert(labels.begin(), labels.end());
  return s;
}

inline void AddPoint(v1::Series* s, int64_t t_ms, double v) {
  v1::Point* p = s->add_points();
  p->set_t_ms(t_ms);
  p->set_value(v);
}

}  // namespace triage::testing
