// Invariant checks after every coder step, on in debug builds (the way
// DeepMind's LMIC coder asserts its interval after each symbol) and on demand
// with -DEQINFO_CHECK_INVARIANTS=1.  A failed check throws std::logic_error
// naming the invariant, so tests see it instead of a silently wrong stream.
#pragma once

#include <stdexcept>

#ifndef EQINFO_CHECK_INVARIANTS
#ifdef NDEBUG
#define EQINFO_CHECK_INVARIANTS 0
#else
#define EQINFO_CHECK_INVARIANTS 1
#endif
#endif

#define EQINFO_INVARIANT(cond, what)                                               \
  do {                                                                              \
    if constexpr (EQINFO_CHECK_INVARIANTS) {                                        \
      if (!(cond)) throw std::logic_error(std::string("eqinfo invariant: ") + what); \
    }                                                                               \
  } while (0)
