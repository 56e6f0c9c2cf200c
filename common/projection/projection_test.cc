#include "common/projection/projection.h"

#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::projection {
namespace {

using ::testing::HasSubstr;

// Counts events per aggregate; duplicates recognised by version.
class CountingProjection final : public EventProjection {
 public:
  std::string name() const override { return "counting"; }
  std::vector<std::string> column_families() const override { return {"counts"}; }

 protected:
  StatusOr<Outcome> ApplyEvent(const events::EventEnvelope& e, Batch& batch) override {
    ASSIGN_OR_RETURN(auto stored, batch.Get("counts", e.aggregate_id()));
    const int64_t version = stored ? std::stoll(*stored) : 0;
    if (e.aggregate_version() <= version) return Outcome::kDuplicate;
    if (e.aggregate_version() != version + 1) return absl::FailedPreconditionError("version gap");
    batch.Put("counts", e.aggregate_id(), std::to_string(e.aggregate_version()));
    return Outcome::kApplied;
  }
};

Record EventRecord(const std::string& id, int64_t version) {
  testing::FakeClock clock;
  auto e = events::NewEnvelope("lead", id, version, "lead.captured", 1, {}, clock);
  e.mutable_lead()->mutable_captured();
  return Record{"topic", 0, version, id, events::Encode(e), {}};
}

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
  }
  testing::TempDir dir_;
  CountingProjection projection_;
  std::unique_ptr<Store> store_;
};

TEST_F(ApplierTest, AppliesAndCountsDuplicatesOnce) {
  Applier applier(store_.get(), &projection_);
  auto first = applier.ApplyAppended({EventRecord("a", 1), EventRecord("a", 2)});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, (std::vector<Outcome>{Outcome::kApplied, Outcome::kApplied}));
  auto again = applier.ApplyAppended({EventRecord("a", 2)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, std::vector<Outcome>{Outcome::kDuplicate});
  EXPECT_EQ(store_->Get("counts", "a").value(), "2");
  EXPECT_EQ(store_->GetCounter(AppliedCounter("counting")).value(), 2);
  // A duplicate on the command path means the runner applied it first: not a redelivery.
  EXPECT_EQ(store_->GetCounter(DuplicateCounter("counting")).value(), 0);
  // The runner will meet these records again; the markers tell it they were applied ahead.
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, AppliedAheadKey("counting", "topic", 0, 1)).value().has_value());
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, AppliedAheadKey("counting", "topic", 0, 2)).value().has_value());
}

TEST_F(ApplierTest, ErrorCommitsNothing) {
  Applier applier(store_.get(), &projection_);
  auto r = applier.ApplyAppended({EventRecord("b", 1), EventRecord("b", 3)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(store_->Get("counts", "b").value().has_value());
  EXPECT_EQ(store_->GetCounter(AppliedCounter("counting")).value(), 0);
}

TEST_F(ApplierTest, UndecodableRecordIsABadRecord) {
  Batch batch = store_->NewBatch();
  auto r = projection_.Apply(Record{"topic", 0, 0, "k", "garbage", {}}, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  Record wrong_key = EventRecord("c", 1);
  wrong_key.key = "other";
  r = projection_.Apply(wrong_key, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("is not the aggregate id"));
  EXPECT_EQ(batch.size(), 0u);
}

}  // namespace
}  // namespace sales::projection
