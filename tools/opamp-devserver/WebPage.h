#pragma once

// The dev server's web page: one self-contained HTML document (inline CSS and script, no
// external resources) that shows the agents and pushes configs through the JSON admin API.
// The admin listener serves it at / and /index.html.

#include <string>

namespace opampsup::devserver {

const std::string& webPage();

}  // namespace opampsup::devserver
