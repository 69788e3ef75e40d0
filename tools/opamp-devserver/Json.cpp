#include "Json.h"

#include <cstdio>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>
#include <google/protobuf/util/json_util.h>

#include "core/telemetry/JsonText.h"

namespace opampsup::devserver {

std::string jsonString(std::string_view text) {
    std::string out;
    telemetry::appendJsonString(out, text);
    return out;
}

std::string protoToJson(const google::protobuf::Message& message) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string out;
    if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
        return "null";
    }
    return out;
}

std::string protoFromJson(std::string_view json, google::protobuf::Message& message) {
    google::protobuf::util::JsonParseOptions options;
    auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(json.data(), json.size()), &message, options);
    return status.ok() ? std::string() : std::string(status.message());
}

std::string jsonTime(std::chrono::system_clock::time_point time) {
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
    return jsonString(Poco::DateTimeFormatter::format(Poco::Timestamp(micros),
                                                      Poco::DateTimeFormat::ISO8601_FRAC_FORMAT));
}

}  // namespace opampsup::devserver
