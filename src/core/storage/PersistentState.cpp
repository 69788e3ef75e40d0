#include "core/storage/PersistentState.h"

#include <yaml-cpp/yaml.h>

namespace opampsup::storage {
namespace {

struct Parsed {
    std::optional<PersistentState> state;
    std::string problem;
};

Parsed parse(const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return {std::nullopt, "invalid YAML: " + e.msg};
    }
    if (!root.IsMap()) {
        return {std::nullopt, "expected a map"};
    }
    YAML::Node id = root["instance_id"];
    if (!id || !id.IsScalar()) {
        return {std::nullopt, "instance_id is missing"};
    }
    std::optional<opamp::Uuid> uuid = opamp::Uuid::parse(id.Scalar());
    if (!uuid || uuid->isNil()) {
        return {std::nullopt, "instance_id \"" + id.Scalar() + "\" is not a UUID"};
    }
    PersistentState state;
    state.instanceId = *uuid;
    root.remove("instance_id");
    if (root.size() > 0) {
        YAML::Emitter out;
        out << root;
        state.otherKeysYaml = out.c_str();
    }
    return {state, ""};
}

}  // namespace

LoadedPersistentState loadOrCreatePersistentState(const StateStore& store,
                                                  const std::string& configuredInstanceId) {
    LoadedPersistentState loaded;
    if (std::optional<std::string> text = store.read(kPersistentStateFile)) {
        Parsed parsed = parse(*text);
        if (parsed.state) {
            loaded.state = *parsed.state;
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
    for (const auto& kv : root) {
        out[kv.first] = kv.second;
    }
    YAML::Emitter emitter;
    emitter << out;
    store.write(kPersistentStateFile, std::string(emitter.c_str()) + "\n");
}

}  // namespace opampsup::storage
