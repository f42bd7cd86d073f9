// eqinfo-encode: see tools/encode.hpp (the tool is a function there, so the Python package
// can run the same code as a console script: python/bindings/module.cpp, run_tool).
#include "tools/encode.hpp"

int main(int argc, char** argv) { return eqinfo::tools::encode_main(argc, argv); }
