#include "common/testing/store_rows.h"

#include <algorithm>

#include "common/store/store.h"
#include "gtest/gtest.h"

namespace sales::testing {

std::map<std::string, std::string> StoreRows(const std::string& path, const projection::Projection& projection) {
  std::map<std::string, std::string> rows;
  auto opened = Store::Open({.path = path, .column_families = projection.column_families()});
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return rows;
  const std::vector<std::string> sums = projection.sums_families();
  for (const auto& family : projection.column_families()) {
    const bool zero_is_absent = std::find(sums.begin(), sums.end(), family) != sums.end();
    const Status s = (*opened)->Scan(family, "", "", [&](std::string_view k, std::string_view v) {
      if (zero_is_absent) {
        const std::optional<std::vector<int64_t>> values = DecodeSums(v);
        if (values && std::all_of(values->begin(), values->end(), [](int64_t x) { return x == 0; })) return true;
      }
      rows[family + "|" + std::string(k)] = std::string(v);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return rows;
}

void ExpectSameRows(const std::map<std::string, std::string>& serving,
                    const std::map<std::string, std::string>& rebuilt) {
  EXPECT_GT(serving.size(), 0u);
  EXPECT_EQ(serving.size(), rebuilt.size());
  for (const auto& [key, value] : serving) {
    auto it = rebuilt.find(key);
    if (it == rebuilt.end()) {
      ADD_FAILURE() << "row missing after rebuild: " << key;
    } else if (it->second != value) {
      ADD_FAILURE() << "row differs after rebuild: " << key;
    }
  }
  for (const auto& [key, value] : rebuilt) {
    if (!serving.count(key)) ADD_FAILURE() << "row only in the rebuilt store: " << key;
  }
}

}  // namespace sales::testing
