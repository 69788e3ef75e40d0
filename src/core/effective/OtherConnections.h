#pragma once

// The server's "other" connection settings (ConnectionSettingsOffers.other_connections), made
// available to the collector's config as references the supervisor resolves when it
// composes effective.yaml:
//
//   ${opamp:other_connections.<name>.<field>}
//
// where <field> is endpoint, headers, headers.<key>, other_settings, other_settings.<key>,
// tls.ca_file, tls.cert_file, tls.key_file, tls.insecure_skip_verify,
// tls.include_system_ca_certs_pool, tls.min_version, tls.max_version, tls.cipher_suites or
// proxy_url. A value that is exactly one reference takes the field's type (a map for
// headers, a boolean, a list); inside longer text a reference is replaced by its text.
// `$${...}` is the collector's escape and is left alone. The offered PEM material is
// written to files in the storage directory, and the tls.*_file fields name them.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opamp.pb.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace opampsup::effective {

class OtherConnections {
  public:
    OtherConnections() = default;
    // `pathOf` turns a storage file name into the path the collector will read.
    OtherConnections(const ::opamp::proto::ConnectionSettingsOffers& kept,
                     const std::function<std::filesystem::path(std::string_view)>& pathOf);

    // PEM files the references point at, by storage file name; the caller writes them.
    const std::vector<std::pair<std::string, std::string>>& files() const { return files_; }
    // Offered settings that cannot be used as given, for the log.
    const std::vector<std::string>& notes() const { return notes_; }

    // Replaces every reference in the scalars of `config`, in place. Returns the first
    // reference that cannot be resolved, naming the key that holds it.
    std::optional<std::string> substitute(YAML::Node& config) const;
    // One scalar with its references replaced by their text; nullopt when one of them
    // cannot be resolved or has no text form (a map).
    std::optional<std::string> substituteText(const std::string& value) const;

  private:
    struct Connection {
        ::opamp::proto::OtherConnectionSettings settings;
        std::string caFile;
        std::string certFile;
        std::string keyFile;
    };
    std::map<std::string, Connection> connections_;
    std::vector<std::pair<std::string, std::string>> files_;
    std::vector<std::string> notes_;

    friend struct Resolver;
};

// Whether a scalar holds a reference to an other connection.
bool refersToOtherConnection(std::string_view value);

// Folds a new offer's other_connections into the ones kept. An offer that carries
// other_connections names the full set: connections it leaves out are removed, and the
// fields a named connection leaves unset keep what that connection had (the spec's partial
// offers). An offer without other_connections changes nothing. True when anything changed.
bool mergeOtherConnectionsOffer(::opamp::proto::ConnectionSettingsOffers& kept,
                                const ::opamp::proto::ConnectionSettingsOffers& offer);

}  // namespace opampsup::effective
