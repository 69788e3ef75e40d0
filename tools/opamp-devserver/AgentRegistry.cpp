#include "AgentRegistry.h"

#include <set>
#include <sstream>

#include <Poco/SHA2Engine.h>

#include "CsrSigner.h"
#include "Json.h"
#include "core/opamp/Hex.h"

namespace opampsup::devserver {
namespace pb = ::opamp::proto;

namespace {

const char* transportName(TransportKind kind) {
    return kind == TransportKind::WebSocket ? "websocket" : "http";
}

std::string uidText(const std::string& bytes) {
    auto uid = opamp::Uuid::fromBytes(bytes);
    return uid ? uid->toString() : "invalid:" + opamp::hex(bytes);
}

// The names of the fields set in `message`, so pending messages that would overwrite each
// other are not merged into one answer.
std::set<std::string> fieldsSet(const google::protobuf::Message& message) {
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    message.GetReflection()->ListFields(message, &fields);
    std::set<std::string> names;
    for (const auto* field : fields) {
        if (field->name() != "instance_uid" && field->name() != "flags") {
            names.insert(field->name());
        }
    }
    return names;
}

std::string capabilityNames(std::uint64_t capabilities) {
    const auto* descriptor = pb::AgentCapabilities_descriptor();
    std::string out = "[";
    for (int i = 0; i < descriptor->value_count(); ++i) {
        auto bit = static_cast<std::uint64_t>(descriptor->value(i)->number());
        if (bit != 0 && (capabilities & bit) == bit) {
            if (out.size() > 1) {
                out += ",";
            }
            out +=
                jsonString(descriptor->value(i)->name().substr(sizeof("AgentCapabilities_") - 1));
        }
    }
    return out + "]";
}

pb::ServerToAgent badRequest(const std::string& why) {
    pb::ServerToAgent answer;
    answer.mutable_error_response()->set_type(pb::ServerErrorResponseType_BadRequest);
    answer.mutable_error_response()->set_error_message(why);
    return answer;
}

std::string sha256(const std::string& bytes) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(bytes.data(), static_cast<unsigned>(bytes.size()));
    const auto& digest = sha.digest();
    return std::string(digest.begin(), digest.end());
}

}  // namespace

AgentRegistry::AgentRegistry(std::size_t recordLimit) : recordLimit_(recordLimit) {}

void AgentRegistry::mergeStatus(Agent& agent, const pb::AgentToServer& message) {
    pb::AgentToServer& status = agent.status;
    if (message.has_agent_description()) {
        *status.mutable_agent_description() = message.agent_description();
    }
    if (message.capabilities() != 0) {
        status.set_capabilities(message.capabilities());
    }
    if (message.has_health()) {
        *status.mutable_health() = message.health();
    }
    if (message.has_effective_config()) {
        *status.mutable_effective_config() = message.effective_config();
    }
    if (message.has_remote_config_status()) {
        *status.mutable_remote_config_status() = message.remote_config_status();
    }
    if (message.has_package_statuses()) {
        *status.mutable_package_statuses() = message.package_statuses();
    }
    if (message.has_custom_capabilities()) {
        *status.mutable_custom_capabilities() = message.custom_capabilities();
    }
    if (message.has_connection_settings_status()) {
        *status.mutable_connection_settings_status() = message.connection_settings_status();
    }
    if (message.has_available_components()) {
        const auto& reported = message.available_components();
        // A hash alone for the map already known keeps that map.
        bool sameHashOnly = reported.components().empty() && status.has_available_components() &&
                            status.available_components().hash() == reported.hash();
        if (!sameHashOnly) {
            *status.mutable_available_components() = reported;
        }
    }
}

void AgentRegistry::takePending(Agent& agent, pb::ServerToAgent& reply) {
    std::set<std::string> used = fieldsSet(reply);
    while (!agent.pending.empty()) {
        const pb::ServerToAgent& next = agent.pending.front();
        std::set<std::string> wanted = fieldsSet(next);
        bool clash = false;
        for (const auto& name : wanted) {
            clash = clash || used.count(name) != 0;
        }
        if (clash) {
            break;  // it goes with the next answer
        }
        std::uint64_t flags = reply.flags() | next.flags();
        reply.MergeFrom(next);
        reply.set_flags(flags);
        used.insert(wanted.begin(), wanted.end());
        agent.pending.pop_front();
    }
}

pb::ServerToAgent AgentRegistry::answerCsr(const pb::AgentToServer& message,
                                           const CsrSigner* signer) {
    const std::string& csr =
        message.connection_settings_request().opamp().certificate_request().csr();
    if (signer == nullptr) {
        return badRequest("this server signs no CSRs: it was started without a CSR CA");
    }
    if (csr.empty()) {
        return badRequest("the connection settings request carries no CSR");
    }
    auto uid = opamp::Uuid::fromBytes(message.instance_uid());
    if (!uid) {
        return badRequest("the CSR is refused: the instance_uid is not 16 bytes");
    }
    std::string cert;
    try {
        cert = signer->sign(csr, uid->toString());
    } catch (const std::exception& e) {
        return badRequest(std::string("the CSR is refused: ") + e.what());
    }
    pb::ServerToAgent answer;
    auto* offers = answer.mutable_connection_settings();
    offers->set_hash(sha256(cert));
    // No private_key: the agent kept it.
    auto* certificate = offers->mutable_opamp()->mutable_certificate();
    certificate->set_cert(cert);
    certificate->set_ca_cert(signer->caCertPem());
    return answer;
}

pb::ServerToAgent AgentRegistry::onAgentMessage(const pb::AgentToServer& message,
                                                TransportKind transport, const Peer& peer,
                                                const std::shared_ptr<AgentConnection>& connection,
                                                bool newConnection) {
    std::string id = uidText(message.instance_uid());
    std::optional<pb::ServerToAgent> csrAnswer;
    if (message.has_connection_settings_request()) {
        std::shared_ptr<const CsrSigner> signer;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            signer = signer_;
        }
        // Outside the lock: signing takes a while and needs nothing the lock guards.
        const std::string asking = uidText(message.instance_uid());
        bool renamed = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto was = renamedFrom_.find(asking);
            renamed = was != renamedFrom_.end() && was->second == peer.certificateCommonName;
        }
        if (!peer.certificateCommonName.empty() && peer.certificateCommonName != asking &&
            !renamed) {
            // The connection proves another identity: it may not ask for this one's.
            csrAnswer = badRequest(
                "the CSR is refused: the connection presents the certificate "
                "of " +
                peer.certificateCommonName + ", not of " + asking);
        } else {
            csrAnswer = answerCsr(message, signer.get());
        }
    }
    bool csrRefused = csrAnswer && csrAnswer->has_error_response();
    std::lock_guard<std::mutex> lock(mutex_);
    record(id, true, transport, message);

    auto now = std::chrono::system_clock::now();
    auto [it, isNew] = agents_.try_emplace(id);
    Agent& agent = it->second;
    if (isNew) {
        agent.uid = opamp::Uuid::fromBytes(message.instance_uid()).value_or(opamp::Uuid());
        agent.firstSeen = now;
    }
    // A full-state message carries the description; anything else after a gap (a server
    // restart, a lost message) leaves the server unsure of the agent's state.
    bool fullState = message.has_agent_description();
    bool gap = isNew || message.sequence_num() != agent.lastSequenceNum + 1;
    agent.lastSequenceNum = message.sequence_num();
    ++agent.messageCount;
    agent.lastSeen = now;
    agent.transport = transport;
    agent.peer = peer.address;
    agent.clientCertificate = peer.certificateCommonName;
    agent.saidGoodbye = message.has_agent_disconnect();
    if (connection) {
        agent.connection = agent.saidGoodbye ? nullptr : connection;
    }
    if (newConnection) {
        agent.desiredConfigSent = false;
    }
    mergeStatus(agent, message);

    pb::ServerToAgent reply;
    reply.set_instance_uid(message.instance_uid());
    if (newConnection || isNew) {
        reply.set_capabilities(capabilitiesLocked());
    }
    // Also after a gap: an HTTP agent that restarted starts a new session without a new
    // connection, and has forgotten the interval.
    if ((newConnection || gap) && offeredHeartbeatSeconds_ > 0) {
        reply.mutable_connection_settings()->mutable_opamp()->set_heartbeat_interval_seconds(
            offeredHeartbeatSeconds_);
    }
    std::uint64_t flags = 0;
    if (gap && !fullState && !agent.saidGoodbye) {
        flags |= pb::ServerToAgentFlags_ReportFullState;
    }
    if (message.has_available_components() && message.available_components().components().empty() &&
        agent.status.available_components().components().empty()) {
        flags |= pb::ServerToAgentFlags_ReportAvailableComponents;
    }
    reply.set_flags(flags);

    // Not with a refusal: the error answer comes alone, and an agent that has not learnt its
    // new UID would be a stranger under the old one.
    if ((message.flags() & pb::AgentToServerFlags_RequestInstanceUid) != 0 && !csrRefused) {
        opamp::Uuid assigned = opamp::Uuid::generateV7();
        reply.mutable_agent_identification()->set_new_instance_uid(assigned.toBytesString());
        Agent moved = std::move(agent);
        agents_.erase(it);
        moved.uid = assigned;
        renamedFrom_[assigned.toString()] = id;
        it = agents_.insert_or_assign(assigned.toString(), std::move(moved)).first;
    }
    Agent& current = it->second;
    if (current.desiredConfig && !current.desiredConfigSent &&
        current.status.remote_config_status().last_remote_config_hash() !=
            current.desiredConfig->config_hash()) {
        *reply.mutable_remote_config() = *current.desiredConfig;
        current.desiredConfigSent = true;
    }
    if (csrRefused) {
        // An error response comes alone (the spec): what else was due goes with the next
        // answer.
        pb::ServerToAgent error;
        error.set_instance_uid(message.instance_uid());
        *error.mutable_error_response() = csrAnswer->error_response();
        reply.clear_instance_uid();
        if (!fieldsSet(reply).empty() || reply.flags() != 0) {
            current.pending.push_front(std::move(reply));
        }
        record(id, false, transport, error);
        return error;
    }
    if (csrAnswer) {
        // Beside a heartbeat offer, if one is due.
        reply.mutable_connection_settings()->MergeFrom(csrAnswer->connection_settings());
    }
    takePending(current, reply);
    record(id, false, transport, reply);
    return reply;
}

void AgentRegistry::recordRefused(const pb::AgentToServer& message, TransportKind transport,
                                  const pb::ServerToAgent& reply) {
    std::string id = uidText(message.instance_uid());
    std::lock_guard<std::mutex> lock(mutex_);
    record(id, true, transport, message);
    record(id, false, transport, reply);
}

void AgentRegistry::onConnectionClosed(const std::shared_ptr<AgentConnection>& connection) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, agent] : agents_) {
        if (agent.connection == connection) {
            agent.connection.reset();
        }
    }
}

bool AgentRegistry::send(const std::string& id, pb::ServerToAgent message) {
    std::shared_ptr<AgentConnection> connection;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = agents_.find(id);
        if (it == agents_.end()) {
            return false;
        }
        Agent& agent = it->second;
        message.set_instance_uid(agent.uid.toBytesString());
        if (message.has_agent_identification()) {
            if (auto next =
                    opamp::Uuid::fromBytes(message.agent_identification().new_instance_uid())) {
                renamedFrom_[next->toString()] = id;
            }
        }
        if (!agent.connection) {
            agent.pending.push_back(std::move(message));
            return true;
        }
        connection = agent.connection;
        record(id, false, agent.transport, message);
    }
    // Outside the lock: a slow socket must not stall every other agent.
    if (!connection->send(message)) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = agents_.find(id);
        if (it != agents_.end()) {
            it->second.pending.push_back(std::move(message));
        }
    }
    return true;
}

bool AgentRegistry::setRemoteConfig(const std::string& id, const pb::AgentRemoteConfig& config) {
    bool connected = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = agents_.find(id);
        if (it == agents_.end()) {
            return false;
        }
        it->second.desiredConfig = config;
        it->second.desiredConfigSent = false;
        connected = it->second.connection != nullptr;
        if (connected) {
            it->second.desiredConfigSent = true;
        }
    }
    if (connected) {
        pb::ServerToAgent message;
        *message.mutable_remote_config() = config;
        return send(id, std::move(message));
    }
    return true;  // goes out with the answer to the agent's next message
}

std::vector<std::string> AgentRegistry::agentIds() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> ids;
    for (const auto& [id, agent] : agents_) {
        ids.push_back(id);
    }
    return ids;
}

std::string AgentRegistry::agentJsonLocked(const Agent& agent) const {
    std::ostringstream out;
    const pb::AgentToServer& status = agent.status;
    out << "{\"instance_uid\":" << jsonString(agent.uid.toString())
        << ",\"transport\":" << jsonString(transportName(agent.transport)) << ",\"connected\":"
        << ((agent.transport == TransportKind::WebSocket ? agent.connection != nullptr
                                                         : !agent.saidGoodbye)
                ? "true"
                : "false")
        << ",\"disconnected_by_agent\":" << (agent.saidGoodbye ? "true" : "false")
        << ",\"peer\":" << jsonString(agent.peer)
        << ",\"client_certificate\":" << jsonString(agent.clientCertificate)
        << ",\"first_seen\":" << jsonTime(agent.firstSeen)
        << ",\"last_seen\":" << jsonTime(agent.lastSeen)
        << ",\"sequence_num\":" << agent.lastSequenceNum
        << ",\"message_count\":" << agent.messageCount
        << ",\"capabilities\":" << status.capabilities()
        << ",\"capability_names\":" << capabilityNames(status.capabilities())
        << ",\"pending_messages\":" << agent.pending.size();
    // Readable forms of the bytes fields, which protobuf's JSON shows as base64.
    out << ",\"effective_config\":{";
    bool first = true;
    for (const auto& [name, file] : status.effective_config().config_map().config_map()) {
        out << (first ? "" : ",") << jsonString(name) << ":" << jsonString(file.body());
        first = false;
    }
    out << "}";
    const auto& rcs = status.remote_config_status();
    out << ",\"remote_config_status\":{\"status\":"
        << jsonString(pb::RemoteConfigStatuses_Name(rcs.status()))
        << ",\"last_remote_config_hash\":" << jsonString(opamp::hex(rcs.last_remote_config_hash()))
        << ",\"error_message\":" << jsonString(rcs.error_message()) << "}";
    out << ",\"desired_config_hash\":"
        << jsonString(agent.desiredConfig ? opamp::hex(agent.desiredConfig->config_hash()) : "");
    pb::AgentToServer shown = status;
    shown.clear_instance_uid();
    out << ",\"status\":" << protoToJson(shown) << "}";
    return out.str();
}

std::string AgentRegistry::agentsJson() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out = "{\"agents\":[";
    bool first = true;
    for (const auto& [id, agent] : agents_) {
        out += (first ? "" : ",") + agentJsonLocked(agent);
        first = false;
    }
    return out + "]}";
}

std::optional<std::string> AgentRegistry::agentJson(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = agents_.find(id);
    if (it == agents_.end()) {
        return std::nullopt;
    }
    return agentJsonLocked(it->second);
}

std::string AgentRegistry::messagesJson(const std::optional<std::string>& agent,
                                        std::uint64_t since) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream out;
    out << "{\"last_index\":" << recordIndex_ << ",\"messages\":[";
    bool first = true;
    for (const auto& entry : recorded_) {
        if (entry.index <= since || (agent && entry.agent != *agent)) {
            continue;
        }
        out << (first ? "" : ",") << "{\"index\":" << entry.index
            << ",\"time\":" << jsonTime(entry.time) << ",\"agent\":" << jsonString(entry.agent)
            << ",\"direction\":"
            << (entry.fromAgent ? "\"agent_to_server\"" : "\"server_to_agent\"")
            << ",\"transport\":" << jsonString(transportName(entry.transport))
            << ",\"message\":" << entry.json << "}";
        first = false;
    }
    out << "]}";
    return out.str();
}

void AgentRegistry::dropConnections() {
    std::vector<std::shared_ptr<AgentConnection>> connections;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [id, agent] : agents_) {
            if (agent.connection) {
                connections.push_back(agent.connection);
            }
        }
    }
    for (const auto& connection : connections) {
        connection->drop();
    }
}

void AgentRegistry::record(const std::string& agent, bool fromAgent, TransportKind transport,
                           const google::protobuf::Message& message) {
    recorded_.push_back({++recordIndex_, std::chrono::system_clock::now(), agent, fromAgent,
                         transport, protoToJson(message)});
    // Bounded: a long-running dev server keeps the most recent messages.
    while (recorded_.size() > recordLimit_) {
        recorded_.pop_front();
    }
}

void AgentRegistry::offerHeartbeatInterval(std::uint64_t seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    offeredHeartbeatSeconds_ = seconds;
}

void AgentRegistry::setCsrSigner(std::shared_ptr<const CsrSigner> signer) {
    std::lock_guard<std::mutex> lock(mutex_);
    signer_ = std::move(signer);
}

std::uint64_t AgentRegistry::serverCapabilities() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return capabilitiesLocked();
}

std::uint64_t AgentRegistry::capabilitiesLocked() const {
    std::uint64_t csr = pb::ServerCapabilities_AcceptsConnectionSettingsRequest;
    return kServerCapabilities | (signer_ ? csr : 0);
}

}  // namespace opampsup::devserver
