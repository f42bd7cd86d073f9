// eqinfo-decode: see tools/decode.hpp (the tool is a function there, so the Python package
// can run the same code as a console script: python/bindings/module.cpp, run_tool).
#include "tools/decode.hpp"

int main(int argc, char** argv) { return eqinfo::tools::decode_main(argc, argv); }
