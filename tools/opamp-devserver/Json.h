#pragma once

// Small JSON helpers for the admin API: protobuf messages as JSON (proto field names), and
// string escaping for the hand-built parts.

#include <chrono>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

namespace opampsup::devserver {

std::string jsonString(std::string_view text);
std::string protoToJson(const google::protobuf::Message& message);
// Parses JSON into `message`; returns the parser's complaint, or an empty string.
std::string protoFromJson(std::string_view json, google::protobuf::Message& message);
std::string jsonTime(std::chrono::system_clock::time_point time);

}  // namespace opampsup::devserver
