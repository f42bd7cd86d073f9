// The one translation unit that compiles Catch2's runner (slow to build), so
// each *_test.cpp stays cheap to recompile.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
