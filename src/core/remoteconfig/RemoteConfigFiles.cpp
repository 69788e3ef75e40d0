#include "core/remoteconfig/RemoteConfigFiles.h"

namespace opampsup::remoteconfig {
namespace pb = ::opamp::proto;

namespace {

template <typename Message>
std::optional<Message> loadMessage(const storage::StateStore& store, const char* file,
                                   std::vector<std::string>& notes) {
    std::optional<std::string> bytes;
    try {
        bytes = store.read(file);
    } catch (const std::exception& e) {
        notes.push_back(std::string("cannot read ") + file + ": " + e.what());
        return std::nullopt;
    }
    if (!bytes) {
        return std::nullopt;
    }
    Message message;
    if (!message.ParseFromString(*bytes)) {
        std::string note = std::string(file) + " does not decode";
        try {
            note += "; set aside as " + store.setAside(file).string();
        } catch (const std::exception& e) {
            note += std::string("; cannot set it aside: ") + e.what();
        }
        notes.push_back(note);
        return std::nullopt;
    }
    return message;
}

}  // namespace

Loaded loadRemoteConfigFiles(const storage::StateStore& store) {
    Loaded loaded;
    loaded.lastReceived =
        loadMessage<pb::AgentRemoteConfig>(store, kLastReceivedFile, loaded.notes);
    loaded.lastWorking = loadMessage<pb::AgentRemoteConfig>(store, kLastWorkingFile, loaded.notes);
    loaded.ownTelemetry =
        loadMessage<pb::ConnectionSettingsOffers>(store, kOwnTelemetryFile, loaded.notes);
    loaded.opampConnection =
        loadMessage<pb::ConnectionSettingsOffers>(store, kOpampConnectionFile, loaded.notes);
    loaded.otherConnections =
        loadMessage<pb::ConnectionSettingsOffers>(store, kOtherConnectionsFile, loaded.notes);
    return loaded;
}

void saveRemoteConfig(const storage::StateStore& store, const char* file,
                      const pb::AgentRemoteConfig& config) {
    store.write(file, config.SerializeAsString());
}

void saveConnectionOffers(const storage::StateStore& store, const char* file,
                          const pb::ConnectionSettingsOffers& offers) {
    store.write(file, offers.SerializeAsString());
}

bool isEmptyConfigMap(const pb::AgentRemoteConfig& config) {
    for (const auto& [name, file] : config.config().config_map()) {
        if (file.body().find_first_not_of(" \t\r\n") != std::string::npos) {
            return false;
        }
    }
    return true;
}

std::map<std::string, std::string> configFiles(const pb::AgentRemoteConfig& config) {
    std::map<std::string, std::string> files;
    for (const auto& [name, file] : config.config().config_map()) {
        files[name] = file.body();
    }
    return files;
}

}  // namespace opampsup::remoteconfig
