// Upgrades a store written by an earlier triaged, once, at open. The schema
// version lives in the default column family; a store without one is v1.
//   v1 -> v2: incident, alert, action item and drill states were strings
//   (field numbers now reserved); they are enums now.
//   v2 -> v3: feature histograms are rolled up per feature per day.
#include <string>

#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/store.h"

namespace triage::store {

namespace {

constexpr char kSchemaVersionKey[] = "schema_version";
constexpr char kSchemaVersion[] = "3";

// Moves a v1 string state (an unknown field by now) into its enum field.
void MoveState(google::protobuf::Message* m, int old_number, const char* enum_field) {
  const google::protobuf::Reflection* r = m->GetReflection();
  google::protobuf::UnknownFieldSet* unknown = r->MutableUnknownFields(m);
  for (int i = 0; i < unknown->field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown->field(i);
    if (f.number() != old_number ||
        f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    const google::protobuf::FieldDescriptor* field =
        m->GetDescriptor()->FindFieldByName(enum_field);
    const google::protobuf::EnumValueDescriptor* value =
        field->enum_type()->FindValueByName(f.length_delimited());
    if (value != nullptr) r->SetEnum(m, field, value);
    unknown->DeleteSubrange(i, 1);
    return;
  }
}

}  // namespace

absl::Status Store::Migrate() {
  std::string version;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kDefault), kSchemaVersionKey, &version);
  if (s.ok() && version == kSchemaVersion) return absl::OkStatus();
  if (!s.ok() && !s.IsNotFound()) return absl::InternalError("store: " + s.ToString());
  rocksdb::WriteBatch wb;
  if (absl::Status st = RollUpStored(&wb); !st.ok()) return st;
  if (s.ok() && version == "2") return WriteSchemaVersion(&wb);
  absl::Status st = Scan(kIncidentStates, "", "", [&](std::string_view k, std::string_view v) {
    v1::IncidentState state;
    if (!state.ParseFromArray(v.data(), static_cast<int>(v.size()))) return absl::OkStatus();
    MoveState(&state, 2, "status");
    for (v1::AlertInstance& a : *state.mutable_alerts()) MoveState(&a, 2, "status");
    for (v1::ActionItem& a : *state.mutable_action_items()) MoveState(&a, 4, "status");
    wb.Put(cf(kIncidentStates), rocksdb::Slice(k.data(), k.size()), state.SerializeAsString());
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = Scan(kDrills, "", "", [&](std::string_view k, std::string_view v) {
    v1::Drill drill;
    if (!drill.ParseFromArray(v.data(), static_cast<int>(v.size()))) return absl::OkStatus();
    MoveState(&drill, 3, "status");
    for (v1::DrillStep& step : *drill.mutable_steps()) MoveState(&step, 3, "action");
    wb.Put(cf(kDrills), rocksdb::Slice(k.data(), k.size()), drill.SerializeAsString());
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return WriteSchemaVersion(&wb);
}

absl::Status Store::RollUpStored(rocksdb::WriteBatch* wb) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kHistograms)));
  return RollUpStaged(it.get(), [&](const std::string& key, const v1::FeatureDay& day) {
    return Put(wb, kFeatureDays, key, day);
  });
}

absl::Status Store::WriteSchemaVersion(rocksdb::WriteBatch* wb) {
  wb->Put(cf(kDefault), kSchemaVersionKey, kSchemaVersion);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status w = db_->Write(wo, wb);
  if (!w.ok()) {
    return absl::InternalError(
        absl::StrFormat("store: migrate to schema %s: %s", kSchemaVersion, w.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace triage::store
