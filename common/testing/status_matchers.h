// gMock matchers for absl::Status and absl::StatusOr<T>, so that a test checks for the *specific*
// expected outcome (code and message) in one assertion, never just "not OK":
//
//   EXPECT_THAT(DoIt(), IsOk());
//   EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
//   EXPECT_THAT(Load(), IsOkAndHolds(Field(&Row::version, 3)));
//
// StatusIs and IsOk take a Status or a StatusOr<T>. As with Abseil's own matchers, a plain string
// given as the message matcher must equal the whole message; use HasSubstr for a fragment. The
// failure output always shows the actual status. Header-only: needs gMock, nothing else here.
#pragma once

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace sales::testing {
namespace status_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The code and the message of a status, each checked by its own matcher.
class StatusIsImpl {
 public:
  StatusIsImpl(::testing::Matcher<absl::StatusCode> code, ::testing::Matcher<const std::string&> message)
      : code_(std::move(code)), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& value, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    if (!code_.Matches(status.code())) return false;
    ::testing::StringMatchResultListener why;
    if (!message_.MatchAndExplain(std::string(status.message()), &why)) {
      if (!why.str().empty()) *listener << ", and the message " << why.str();
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeTo(os);
    *os << ", and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeNegationTo(os);
    *os << ", or a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  ::testing::Matcher<absl::StatusCode> code_;
  ::testing::Matcher<const std::string&> message_;
};

class IsOkImpl {
 public:
  template <typename T>
  bool MatchAndExplain(const T& value, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    if (!status.ok()) *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

// Converts to a Matcher of whatever StatusOr<T> it is applied to, so that the inner matcher is cast
// to a matcher of T.
template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT: implicit by design (gMock)
    return ::testing::Matcher<StatusOrType>(new Impl<const StatusOrType&>(inner_));
  }

 private:
  template <typename StatusOrRef>
  class Impl final : public ::testing::MatcherInterface<StatusOrRef> {
    using StatusOrT = std::remove_cv_t<std::remove_reference_t<StatusOrRef>>;
    using ValueT = typename StatusOrT::value_type;

   public:
    explicit Impl(const InnerMatcher& inner) : inner_(::testing::SafeMatcherCast<const ValueT&>(inner)) {}

    bool MatchAndExplain(StatusOrRef actual, ::testing::MatchResultListener* listener) const override {
      if (!actual.ok()) {
        *listener << "whose status is " << actual.status();
        return false;
      }
      ::testing::StringMatchResultListener why;
      const bool matches = inner_.MatchAndExplain(*actual, &why);
      *listener << "which is OK with a value " << ::testing::PrintToString(*actual);
      if (!why.str().empty()) *listener << ", " << why.str();
      return matches;
    }
    void DescribeTo(std::ostream* os) const override {
      *os << "is OK and has a value that ";
      inner_.DescribeTo(os);
    }
    void DescribeNegationTo(std::ostream* os) const override {
      *os << "is not OK, or has a value that ";
      inner_.DescribeNegationTo(os);
    }

   private:
    const ::testing::Matcher<const ValueT&> inner_;
  };

  InnerMatcher inner_;
};

}  // namespace status_internal

// OK (a Status, or a StatusOr<T> holding a value).
inline ::testing::PolymorphicMatcher<status_internal::IsOkImpl> IsOk() {
  return ::testing::MakePolymorphicMatcher(status_internal::IsOkImpl());
}

// The status has this code (a StatusCode, or a matcher of one), whatever its message.
template <typename CodeMatcher>
::testing::PolymorphicMatcher<status_internal::StatusIsImpl> StatusIs(CodeMatcher code) {
  return ::testing::MakePolymorphicMatcher(status_internal::StatusIsImpl(
      ::testing::MatcherCast<absl::StatusCode>(code), ::testing::A<const std::string&>()));
}

// The status has this code and a message matching `message` (e.g. HasSubstr("page_token"); a
// plain string must equal the whole message).
template <typename CodeMatcher, typename MessageMatcher>
::testing::PolymorphicMatcher<status_internal::StatusIsImpl> StatusIs(CodeMatcher code, MessageMatcher message) {
  return ::testing::MakePolymorphicMatcher(
      status_internal::StatusIsImpl(::testing::MatcherCast<absl::StatusCode>(code),
                                    ::testing::MatcherCast<const std::string&>(message)));
}

// A StatusOr<T> that is OK and whose value matches `inner` (a value or a matcher of T).
template <typename InnerMatcher>
status_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(InnerMatcher&& inner) {
  return status_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(std::forward<InnerMatcher>(inner));
}

}  // namespace sales::testing
