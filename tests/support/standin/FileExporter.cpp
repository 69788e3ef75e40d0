#include "FileExporter.h"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace opampsup::standin {

namespace {

std::string jsonString(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
            out += buffer;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

FileExporter::FileExporter(std::string id, FileExporterSettings settings)
    : id_(std::move(id)), settings_(std::move(settings)) {}

FileExporter::~FileExporter() {
    shutdown();
}

std::optional<std::string> FileExporter::start() {
    file_ = std::fopen(settings_.path.c_str(), settings_.append ? "a" : "w");
    if (file_ == nullptr) {
        std::string reason = std::strerror(errno);
        reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
        return "open " + settings_.path + ": " + reason;
    }
    return std::nullopt;
}

void FileExporter::write(const std::string& receiver, const std::string& pipeline,
                         std::uint64_t seq) {
    if (file_ == nullptr) {
        return;
    }
    std::string line = "{\"receiver\":" + jsonString(receiver) +
                       ",\"pipeline\":" + jsonString(pipeline) + ",\"seq\":" + std::to_string(seq) +
                       "}\n";
    // Flushed at once: readers see whole lines as soon as they are written.
    std::fputs(line.c_str(), file_);
    std::fflush(file_);
}

void FileExporter::shutdown() {
    if (file_ != nullptr) {
        std::fclose(file_);
        file_ = nullptr;
    }
}

}  // namespace opampsup::standin
