// The seed convention shared by the fuzz targets (scripts/fuzz.sh): run with
// EQINFO_FUZZ_WRITE_SEEDS=DIR, a target writes its seed inputs to DIR and
// exits instead of fuzzing. EQINFO_FUZZ_SEED_WRITER(write_seeds) defines the
// libFuzzer hook that does it, for a `void write_seeds(const std::string& dir)`.
#pragma once

#include <cstdlib>
#include <string>

#define EQINFO_FUZZ_SEED_WRITER(write_seeds)                         \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {               \
    if (const char* dir = std::getenv("EQINFO_FUZZ_WRITE_SEEDS")) {  \
      write_seeds(std::string(dir));                                 \
      std::exit(0);                                                  \
    }                                                                \
    return 0;                                                        \
  }
