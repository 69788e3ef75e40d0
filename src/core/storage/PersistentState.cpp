#include "core/storage/PersistentState.h"

#include <yaml-cpp/yaml.h>

#include "core/opamp/Hex.h"

namespace opampsup::storage {
namespace {

namespace pb = ::opamp::proto;

struct Parsed {
    std::optional<PersistentState> state;
    std::string problem;
    std::string statusProblem;  // the status was unusable and is dropped; the rest stands
};

// Reads last_remote_config_status; nullopt with a reason when it is malformed.
std::optional<pb::RemoteConfigStatus> parseStatus(const YAML::Node& node, std::string& problem) {
    pb::RemoteConfigStatus status;
    try {
        if (!node.IsMap()) {
            problem = "expected a map";
            return std::nullopt;
        }
        int value = node["status"] ? node["status"].as<int>() : 0;
        if (!pb::RemoteConfigStatuses_IsValid(value)) {
            problem = "status " + std::to_string(value) + " is not a RemoteConfigStatuses value";
            return std::nullopt;
        }
        status.set_status(static_cast<pb::RemoteConfigStatuses>(value));
        if (node["last_remote_config_hash"]) {
            std::string text = node["last_remote_config_hash"].as<std::string>();
            std::optional<std::string> hash = opamp::unhex(text);
            if (!hash) {
                problem = "last_remote_config_hash \"" + text + "\" is not hex";
                return std::nullopt;
            }
            status.set_last_remote_config_hash(*hash);
        }
        if (node["error_message"]) {
            status.set_error_message(node["error_message"].as<std::string>());
        }
    } catch (const YAML::Exception& e) {
        problem = e.msg;
        return std::nullopt;
    }
    return status;
}

Parsed parse(const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return {std::nullopt, "invalid YAML: " + e.msg, ""};
    }
    if (!root.IsMap()) {
        return {std::nullopt, "expected a map", ""};
    }
    YAML::Node id = root["instance_id"];
    if (!id || !id.IsScalar()) {
        return {std::nullopt, "instance_id is missing", ""};
    }
    std::optional<opamp::Uuid> uuid = opamp::Uuid::parse(id.Scalar());
    if (!uuid || uuid->isNil()) {
        return {std::nullopt, "instance_id \"" + id.Scalar() + "\" is not a UUID", ""};
    }
    PersistentState state;
    state.instanceId = *uuid;
    root.remove("instance_id");
    Parsed parsed;
    if (YAML::Node status = root["last_remote_config_status"]; status && !status.IsNull()) {
        std::string problem;
        state.lastRemoteConfigStatus = parseStatus(status, problem);
        if (!problem.empty()) {
            parsed.statusProblem = "last_remote_config_status: " + problem + "; ignored";
        }
    }
    root.remove("last_remote_config_status");
    if (root.size() > 0) {
        YAML::Emitter out;
        out << root;
        state.otherKeysYaml = out.c_str();
    }
    parsed.state = state;
    return parsed;
}

}  // namespace

LoadedPersistentState loadOrCreatePersistentState(const StateStore& store,
                                                  const std::string& configuredInstanceId) {
    LoadedPersistentState loaded;
    if (std::optional<std::string> text = store.read(kPersistentStateFile)) {
        Parsed parsed = parse(*text);
        if (parsed.state) {
            loaded.state = *parsed.state;
            if (!parsed.statusProblem.empty()) {
                loaded.notes.push_back(store.pathOf(kPersistentStateFile).string() + ": " +
                                       parsed.statusProblem);
            }
            return loaded;
        }
        std::filesystem::path aside = store.setAside(kPersistentStateFile);
        loaded.notes.push_back(store.pathOf(kPersistentStateFile).string() + ": " + parsed.problem +
                               "; moved to " + aside.string() + " and replaced by a new state");
    }
    std::optional<opamp::Uuid> configured = opamp::Uuid::parse(configuredInstanceId);
    loaded.state.instanceId =
        configured && !configured->isNil() ? *configured : opamp::Uuid::generateV7();
    loaded.created = true;
    savePersistentState(store, loaded.state);
    return loaded;
}

void savePersistentState(const StateStore& store, const PersistentState& state) {
    YAML::Node root;
    if (!state.otherKeysYaml.empty()) {
        root = YAML::Load(state.otherKeysYaml);
    }
    YAML::Node out(YAML::NodeType::Map);
    out["instance_id"] = state.instanceId.toString();
    if (const auto& status = state.lastRemoteConfigStatus) {
        YAML::Node saved(YAML::NodeType::Map);
        saved["status"] = static_cast<int>(status->status());
        saved["last_remote_config_hash"] = opamp::hex(status->last_remote_config_hash());
        saved["error_message"] = status->error_message();
        out["last_remote_config_status"] = saved;
    }
    for (const auto& kv : root) {
        out[kv.first] = kv.second;
    }
    YAML::Emitter emitter;
    emitter << out;
    store.write(kPersistentStateFile, std::string(emitter.c_str()) + "\n");
}

}  // namespace opampsup::storage
