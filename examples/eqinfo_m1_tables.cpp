// eqinfo-m1-tables: see tools/m1_tables.hpp (the tool is a function there, so the Python package
// can run the same code as a console script: python/bindings/module.cpp, run_tool).
#include "tools/m1_tables.hpp"

int main(int argc, char** argv) { return eqinfo::tools::m1_tables_main(argc, argv); }
