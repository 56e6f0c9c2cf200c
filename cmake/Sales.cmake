# Thin helpers so each folder's CMakeLists.txt stays a few lines.
#
#   sales_library(NAME SRCS a.cc ... DEPS lib ...)        a static library of our code
#   sales_executable(NAME SRCS ... DEPS ...)              a program
#   sales_test(NAME SRCS ... DEPS ... LABELS unit|integration|fault [OWN_BROKER] [STOPS_BROKER] [TIMEOUT s])
#
# Our own code builds with -Wall -Wextra -Werror; generated code does not (see proto/).

set(SALES_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

# The broker integration tests run against (deploy/kafka/kafka.sh, started by tests/).
set(SALES_TEST_KAFKA_PORT 19092 CACHE STRING "Client port of the test run's Kafka broker")
set(SALES_TEST_KAFKA_DIR ${PROJECT_BINARY_DIR}/kafka-test)
set(SALES_BROKER_ENV KAFKA_PORT=${SALES_TEST_KAFKA_PORT} KAFKA_DIR=${SALES_TEST_KAFKA_DIR})
# grpcurl, the standard gRPC client (deploy/install-deps.sh builds it), for the reflection tests.
find_program(SALES_GRPCURL grpcurl HINTS $ENV{SALES_TOOLS_DIR} $ENV{HOME}/.cache/sales-platform/bin)
set(SALES_INTEGRATION_ENV ${SALES_BROKER_ENV}
    SALES_GRPCURL=${SALES_GRPCURL}
    SALES_TEST_KAFKA_BOOTSTRAP=127.0.0.1:${SALES_TEST_KAFKA_PORT}
    SALES_KAFKA_SCRIPT=${PROJECT_SOURCE_DIR}/deploy/kafka/kafka.sh)
file(WRITE ${PROJECT_BINARY_DIR}/sales-test.env
     "SALES_TEST_KAFKA_PORT=${SALES_TEST_KAFKA_PORT}\nSALES_TEST_KAFKA_DIR=${SALES_TEST_KAFKA_DIR}\n")

function(sales_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${SALES_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

function(sales_executable name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${SALES_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

# A service's binary: with jemalloc in place of glibc's malloc (the top-level CMakeLists.txt says
# why), except under a sanitizer, whose own allocator finds the memory errors.
function(sales_service_executable name)
  sales_executable(${name} ${ARGN})
  if(NOT SALES_SANITIZE AND NOT SALES_TSAN AND NOT SALES_FUZZ)
    target_link_libraries(${name} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()

# Test code (not the code under test: the libraries it links keep the build type's flags) builds
# with SALES_TEST_CXX_FLAGS, unoptimised by default, and one precompiled header of GoogleTest,
# Abseil's status, gRPC and protobuf shared by every test: a test file then compiles about three
# times faster (11 s to 3.3 s for a 200-line test), which is a third of a clean build on two cores.
set(SALES_TEST_CXX_FLAGS -O0 CACHE STRING "Compile flags of test code (after the build type's)")
add_library(sales_test_pch OBJECT ${PROJECT_SOURCE_DIR}/common/testing/test_pch.cc)
# -pthread everywhere: some tests get it from their libraries, and the header must match them all.
target_compile_options(sales_test_pch PRIVATE ${SALES_WARNINGS} ${SALES_TEST_CXX_FLAGS} -pthread)
target_link_libraries(sales_test_pch PRIVATE GTest::gtest GTest::gmock gRPC::grpc++ protobuf::libprotobuf
                      absl::status absl::statusor)
target_precompile_headers(sales_test_pch PRIVATE <gmock/gmock.h> <gtest/gtest.h> <absl/status/status.h>
                          <absl/status/statusor.h> <absl/strings/str_cat.h> <grpcpp/grpcpp.h>
                          <google/protobuf/message.h> <google/protobuf/util/message_differencer.h>)

function(sales_test name)
  cmake_parse_arguments(ARG "OWN_BROKER;STOPS_BROKER" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  sales_executable(${name} SRCS ${ARG_SRCS} DEPS ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${SALES_TEST_CXX_FLAGS} -pthread)
  target_precompile_headers(${name} REUSE_FROM sales_test_pch)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if(ARG_OWN_BROKER)
    # A broker of its own (testing::OwnBroker: the fault suite stops and freezes it, the Kafka
    # security test secures it): alone, so that its JVM and its four services do not share the
    # two cores with other tests.
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE ENVIRONMENT "${SALES_INTEGRATION_ENV}")
  elseif("integration" IN_LIST ARG_LABELS)
    # Integration tests share the one broker the run starts (see tests/CMakeLists.txt) and run
    # side by side (they mostly wait on the broker and their services); one that stops the shared
    # broker (STOPS_BROKER) runs alone.
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED kafka ENVIRONMENT "${SALES_INTEGRATION_ENV}")
    if(ARG_STOPS_BROKER)
      set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
    endif()
  endif()
endfunction()

# sales_proto_library(NAME PROTOS a.proto ... [GRPC] DEPS ...): generated C++ for the given protos,
# with paths rooted at proto/ (so "sales/events/v1/envelope.pb.h").
function(sales_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "" "PROTOS;DEPS" ${ARGN})
  set(out ${PROJECT_BINARY_DIR}/gen)
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/proto ${abs})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    set(gen ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND gen ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${out} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND protobuf::protoc -I ${PROJECT_SOURCE_DIR}/proto -I ${Protobuf_INCLUDE_DIRS}
              --cpp_out=${out} ${plugin_args} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}")
    list(APPEND srcs ${gen})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${out})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${ARG_DEPS})
endfunction()
