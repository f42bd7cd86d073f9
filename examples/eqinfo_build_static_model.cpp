// eqinfo-build-static-model: see tools/build_static_model.hpp (the tool is a function there, so the Python package
// can run the same code as a console script: python/bindings/module.cpp, run_tool).
#include "tools/build_static_model.hpp"

int main(int argc, char** argv) { return eqinfo::tools::build_static_model_main(argc, argv); }
