#include "common/base/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace sales {
namespace {

TEST(Ids, RandomUuidsAreCanonicalAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    EXPECT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;  // version 4
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Ids, NameUuidIsStableAndNamespaced) {
  EXPECT_EQ(NameUuid("lead", "key-1"), NameUuid("lead", "key-1"));
  EXPECT_NE(NameUuid("lead", "key-1"), NameUuid("lead", "key-2"));
  EXPECT_NE(NameUuid("lead", "key-1"), NameUuid("offer", "key-1"));
  EXPECT_EQ(NameUuid("lead", "key-1")[14], '5');  // version 5
  // Pinned: lead ids derived from idempotency keys must never change between releases.
  EXPECT_EQ(NameUuid("lead", "key-1"), "d0a56359-aa5c-5e3b-ad3a-ff03c2236e25");
  EXPECT_EQ(NameUuid("sales.lead", "key-1"), "fd19bf67-5928-5e8c-949e-c3f505ba9eb8");
}

TEST(Ids, IsUuidRejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(IsUuid("123e4567e89b-12d3-a456-4266141740000"));
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
}

}  // namespace
}  // namespace sales

#include "common/base/hash.h"

namespace sales {
namespace {

TEST(Hash, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace sales
