// CrashFs: a RocksDB file system that remembers how much of each file
// written through it was synced (Sync or Fsync), so a test can take the
// image a power cut would leave while the store is still running: every
// file cut back to its last synced length. Directory entries are taken as
// durable (a rename or a new file survives; only unsynced bytes are lost).
//
//   auto fs = std::make_shared<CrashFs>();
//   std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
//   ... Store::Open({.path = dir, .env = env.get(), .sync = true}) and write ...
//   fs->PowerCutImage(dir, copy);  // Open `copy` to see what survived.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace triage::testing {

class CrashFs : public rocksdb::FileSystemWrapper {
 public:
  CrashFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "CrashFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) Wrap(f, 0, r);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, o, r, dbg);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(f, ec);
    if (s.ok()) Wrap(f, ec ? 0 : size, r);
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReuseWritableFile(f, old, o, r, dbg);
    if (s.ok()) Wrap(f, 0, r);
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->RenameFile(from, to, o, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = files_.find(from); it != files_.end()) {
        files_[to] = it->second;
        files_.erase(it);
      }
    }
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->DeleteFile(f, o, dbg);
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(f);
    return s;
  }

  // Copies the files of `dir` into `to` (created) as a power cut would
  // leave them now: each written file up to its last sync.
  void PowerCutImage(const std::string& dir, const std::string& to) {
    std::lock_guard<std::mutex> lock(mu_);
    std::filesystem::create_directories(to);
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      std::ifstream in(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (auto it = files_.find(path); it != files_.end() && it->second.synced < bytes.size()) {
        bytes.resize(it->second.synced);
      }
      std::ofstream out(to + "/" + entry.path().filename().string(),
                        std::ios::binary | std::ios::trunc);
      out << bytes;
    }
  }

 private:
  struct State {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, CrashFs& fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = target()->Append(data, o, dbg);
      if (s.ok()) fs_.Grow(name_, data.size());
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = target()->Append(data, o, v, dbg);
      if (s.ok()) fs_.Grow(name_, data.size());
      return s;
    }
    rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = target()->Truncate(size, o, dbg);
      if (s.ok()) fs_.Cut(name_, size);
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = target()->Sync(o, dbg);
      if (s.ok()) fs_.Synced(name_);
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = target()->Fsync(o, dbg);
      if (s.ok()) fs_.Synced(name_);
      return s;
    }

   private:
    CrashFs& fs_;
    const std::string name_;
  };

  void Wrap(const std::string& f, uint64_t size, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      files_[f] = State{size, size};
    }
    *r = std::make_unique<File>(std::move(*r), *this, f);
  }
  void Grow(const std::string& f, uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[f].size += n;
  }
  void Cut(const std::string& f, uint64_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    State& s = files_[f];
    s.size = size;
    s.synced = std::min(s.synced, size);
  }
  void Synced(const std::string& f) {
    std::lock_guard<std::mutex> lock(mu_);
    State& s = files_[f];
    s.synced = s.size;
  }

  std::mutex mu_;
  std::map<std::string, State> files_;  // By path as RocksDB names it.
};

}  // namespace triage::testing
