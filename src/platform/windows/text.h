#pragma once

// Text helpers shared by the Windows backend: UTF-8 <-> UTF-16 (the core speaks UTF-8, the
// wide Win32 APIs UTF-16), the system's message for an error code, and command-line quoting.

#include <string>

#include <windows.h>

namespace opampsup::platform::windows {

std::wstring widen(const std::string& text);
std::string narrow(const std::wstring& text);

// FormatMessage's text for `code`, without the trailing period and newline.
std::string errorText(DWORD code);

// One argument quoted the way CommandLineToArgvW and the C runtime split a command line:
// backslashes are literal unless they precede a quote, so only those runs, and a run at the
// end (which precedes the closing quote), are doubled, and an embedded quote is escaped.
std::wstring quoteArgument(const std::wstring& arg);

}  // namespace opampsup::platform::windows
