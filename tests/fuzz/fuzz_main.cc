// The driver of the fuzz targets in the ordinary build (g++, `make test`): libFuzzer's entry point
// LLVMFuzzerTestOneInput is run on every file of the folders given (the corpus and the crashes
// found before, each now a regression test), then on --runs=N inputs mutated from them (byte
// flips, insertions, deletions, splices; a fixed seed, so a failure repeats). It is not guided by
// coverage: `make fuzz` builds the same targets with clang's libFuzzer for that (tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  // A copy on the heap of exactly the input's size, so that a read past its end is a read past an
  // allocation (found by AddressSanitizer under `make sanitize`).
  std::vector<uint8_t> copy(input.begin(), input.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937& random) {
  const int edits = 1 + static_cast<int>(random() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : random() % (s.size() + 1);
    switch (random() % 5) {
      case 0:  // flip a byte
        if (!s.empty()) s[at % s.size()] = static_cast<char>(s[at % s.size()] ^ (1 << (random() % 8)));
        break;
      case 1:  // insert a byte (often one that means something to a parser)
        s.insert(at, 1, "\",;\t\n\r\\{}[]:0\xff\xce"[random() % 16]);
        break;
      case 2:  // delete a run
        if (!s.empty()) s.erase(at % s.size(), 1 + random() % 8);
        break;
      case 3: {  // splice in part of another input
        const std::string& other = corpus[random() % corpus.size()];
        if (!other.empty()) {
          const size_t from = random() % other.size();
          s.insert(at, other.substr(from, 1 + random() % 32));
        }
        break;
      }
      default:  // a random byte anywhere
        if (!s.empty()) s[at % s.size()] = static_cast<char>(random());
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 1000;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--runs=", 7) == 0) {
      runs = std::atol(argv[i] + 7);
      continue;
    }
    if (!std::filesystem::is_directory(argv[i])) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (inputs.empty()) inputs.emplace_back();
  for (const std::string& input : inputs) Run(input);
  std::mt19937 random(20261127);
  for (long n = 0; n < runs; ++n) Run(Mutate(inputs[n % inputs.size()], inputs, random));
  std::cout << argv[0] << ": " << inputs.size() << " corpus and regression inputs, " << runs << " mutated, no crash\n";
  return 0;
}
