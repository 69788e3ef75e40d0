// opampsupervisor: process entry point. Everything it does lives in core/cli.

#include <iostream>
#include <string>
#include <vector>

#include "core/cli/App.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return opampsup::cli::runApp(args, std::cout, std::cerr);
}
