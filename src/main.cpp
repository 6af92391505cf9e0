// fibkit: the command-line entry point. All work lives in the layers' libraries
// (ARCHITECTURE.md); this file only hands argv to the command table.
#include "fibkit/commands/app.hpp"

int main(int argc, char** argv) {
  return fibkit::commands::run_app(argc, argv);
}
