#include "core/packages/PackageJournal.h"

#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "core/opamp/Hex.h"

namespace opampsup::packages {

namespace {

using Step = PendingInstall::Step;

// Protobuf messages are kept as hex of their wire bytes: exact, and still one YAML scalar.
template <typename Message>
std::string encodeMessage(const Message& message) {
    return opamp::hex(message.SerializeAsString());
}

template <typename Message>
Message decodeMessage(const YAML::Node& node, const std::string& key) {
    std::optional<std::string> bytes = opamp::unhex(node.as<std::string>());
    Message message;
    if (!bytes || !message.ParseFromString(*bytes)) {
        throw std::runtime_error(key + ": not a " + Message::descriptor()->name() + " message");
    }
    return message;
}

std::string unhexOrThrow(const YAML::Node& node, const std::string& key) {
    std::optional<std::string> bytes = opamp::unhex(node.as<std::string>());
    if (!bytes) {
        throw std::runtime_error(key + ": not hex");
    }
    return *bytes;
}

// Paths in the journal are relative to the packages directory and stay inside it: the
// supervisor runs and deletes what they name.
void requireInside(const std::string& path, const std::string& key) {
    if (path.empty() || path.find("..") != std::string::npos || path.front() == '/' ||
        path.front() == '\\' || path.find(':') != std::string::npos) {
        throw std::runtime_error(key + ": not a path inside the packages directory");
    }
}

YAML::Node encodeInstalled(const InstalledPackage& p) {
    YAML::Node node;
    node["version"] = p.version;
    node["hash"] = opamp::hex(p.hash);
    node["path"] = p.path;
    return node;
}

InstalledPackage decodeInstalled(const YAML::Node& node, const std::string& key) {
    if (!node.IsMap()) {
        throw std::runtime_error(key + ": expected a map");
    }
    InstalledPackage p;
    p.version = node["version"].as<std::string>("");
    p.hash = unhexOrThrow(node["hash"], key + ".hash");
    p.path = node["path"].as<std::string>("");
    requireInside(p.path, key + ".path");
    return p;
}

Step parseStep(const std::string& text) {
    for (Step step : {Step::Downloading, Step::Staged, Step::Trial}) {
        if (text == stepName(step)) {
            return step;
        }
    }
    throw std::runtime_error("pending.step: unknown step \"" + text + "\"");
}

}  // namespace

const char* stepName(Step step) {
    switch (step) {
        case Step::Downloading:
            return "downloading";
        case Step::Staged:
            return "staged";
        case Step::Trial:
            return "trial";
    }
    return "downloading";
}

std::string serializeJournal(const PackageJournal& journal) {
    YAML::Node root(YAML::NodeType::Map);
    if (journal.agent) {
        root["agent"] = encodeInstalled(*journal.agent);
    }
    if (journal.previousAgent) {
        root["previous_agent"] = encodeInstalled(*journal.previousAgent);
    }
    if (!journal.addons.empty()) {
        YAML::Node addons(YAML::NodeType::Map);
        for (const auto& [name, addon] : journal.addons) {
            addons[name] = encodeInstalled(addon);
        }
        root["addons"] = addons;
    }
    if (!journal.badHashes.empty()) {
        YAML::Node bad(YAML::NodeType::Sequence);
        for (const std::string& hash : journal.badHashes) {
            bad.push_back(opamp::hex(hash));
        }
        root["bad_hashes"] = bad;
    }
    if (journal.offer) {
        root["offer"] = encodeMessage(*journal.offer);
    }
    if (journal.pending) {
        YAML::Node pending;
        pending["name"] = journal.pending->name;
        pending["step"] = stepName(journal.pending->step);
        if (!journal.pending->stagedPath.empty()) {
            pending["staged_path"] = journal.pending->stagedPath;
        }
        pending["trials"] = journal.pending->trials;
        root["pending"] = pending;
    }
    root["statuses"] = encodeMessage(journal.statuses);
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
}

PackageJournal parseJournal(const std::string& yaml) {
    PackageJournal journal;
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(std::string("not YAML: ") + e.what());
    }
    if (!root.IsMap()) {
        throw std::runtime_error("expected a map at the top");
    }
    try {
        if (root["agent"]) {
            journal.agent = decodeInstalled(root["agent"], "agent");
        }
        if (root["previous_agent"]) {
            journal.previousAgent = decodeInstalled(root["previous_agent"], "previous_agent");
        }
        if (const YAML::Node addons = root["addons"]) {
            for (const auto& entry : addons) {
                std::string name = entry.first.as<std::string>();
                journal.addons[name] = decodeInstalled(entry.second, "addons." + name);
            }
        }
        if (const YAML::Node bad = root["bad_hashes"]) {
            for (const YAML::Node& hash : bad) {
                journal.badHashes.insert(unhexOrThrow(hash, "bad_hashes"));
            }
        }
        if (root["offer"]) {
            journal.offer =
                decodeMessage<::opamp::proto::PackagesAvailable>(root["offer"], "offer");
        }
        if (const YAML::Node pending = root["pending"]) {
            PendingInstall p;
            p.name = pending["name"].as<std::string>("");
            p.step = parseStep(pending["step"].as<std::string>(""));
            p.stagedPath = pending["staged_path"].as<std::string>("");
            if (!p.stagedPath.empty()) {
                requireInside(p.stagedPath, "pending.staged_path");
            }
            p.trials = pending["trials"].as<int>(0);
            journal.pending = p;
        }
        if (root["statuses"]) {
            journal.statuses =
                decodeMessage<::opamp::proto::PackageStatuses>(root["statuses"], "statuses");
        }
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(std::string("unexpected value: ") + e.what());
    }
    return journal;
}

}  // namespace opampsup::packages
