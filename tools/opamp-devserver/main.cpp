// opamp-devserver: a small OpAMP server for tests, demos and local trials.

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "DevServer.h"
#include "opampsup/version.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) {
    g_stop = true;
}

constexpr const char* kUsage = R"(usage: opamp-devserver [options]

Serves OpAMP over WebSocket and HTTP on one port (path /v1/opamp) and a JSON admin API on a
second port, with a web page at its root. Both bind to loopback unless told otherwise; the
admin API has no authentication, so keep it on loopback.

  --listen HOST:PORT        OpAMP listener (default 127.0.0.1:4320; port 0 picks one)
  --admin-listen HOST:PORT  admin API listener (default 127.0.0.1:4321)
  --tls-cert FILE           serve wss:// and https:// with this certificate (PEM)
  --tls-key FILE            ... and this private key (PEM)
  --client-ca FILE          require client certificates signed by this CA (mTLS)
  --csr-ca-cert FILE        sign agents' certificate requests (CSRs) with this CA
  --csr-ca-key FILE         ... and its private key (PEM, both or neither); with
                            --client-ca, agents may then connect without a
                            certificate to ask for one
  --csr-validity-days N     days the certificates signed for CSRs are valid (default 30)
  --record-limit N          messages kept in the record (default 10000)
  --heartbeat-interval S    offer agents this heartbeat (HTTP polling) interval in
                            seconds when their session starts (default: no offer)
  --quiet                   do not log connections
  --version                 print the version and exit
  --help                    this text
)";

bool splitHostPort(const std::string& text, std::string& host, std::uint16_t& port) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return false;
    }
    try {
        unsigned long value = std::stoul(text.substr(colon + 1));
        if (value > 65535) {
            return false;
        }
        port = static_cast<std::uint16_t>(value);
    } catch (const std::exception&) {
        return false;
    }
    host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return true;
}

// A century: more than any trial needs, so a longer value is a typo.
constexpr std::uint32_t kMaxValidityDays = 36500;

// A whole number from 1 to `max`, all digits; nullopt for anything else.
std::optional<std::uint32_t> positiveNumber(const std::string& text, std::uint32_t max) {
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    unsigned long value = std::stoul(text);
    if (value == 0 || value > max) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

bool isLoopback(const std::string& host) {
    return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

}  // namespace

int main(int argc, char** argv) {
    opampsup::devserver::DevServer::Options options;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "opamp-devserver: " << name << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--version") {
            std::cout << "opamp-devserver " << opampsup::kVersion << "\n";
            return 0;
        }
        if (arg == "--listen" || arg == "--admin-listen") {
            std::string text = value(arg.c_str());
            bool admin = arg == "--admin-listen";
            if (!splitHostPort(text, admin ? options.adminHost : options.host,
                               admin ? options.adminPort : options.port)) {
                std::cerr << "opamp-devserver: " << arg << ": expected HOST:PORT, got \"" << text
                          << "\"\n";
                return 2;
            }
        } else if (arg == "--tls-cert") {
            options.certFile = value("--tls-cert");
        } else if (arg == "--tls-key") {
            options.keyFile = value("--tls-key");
        } else if (arg == "--client-ca") {
            options.clientCaFile = value("--client-ca");
        } else if (arg == "--csr-ca-cert") {
            options.csrCaCertFile = value("--csr-ca-cert");
        } else if (arg == "--csr-ca-key") {
            options.csrCaKeyFile = value("--csr-ca-key");
        } else if (arg == "--csr-validity-days") {
            std::string text = value("--csr-validity-days");
            auto days = positiveNumber(text, kMaxValidityDays);
            if (!days) {
                std::cerr << "opamp-devserver: --csr-validity-days: expected a number of days "
                             "from 1 to "
                          << kMaxValidityDays << ", got \"" << text << "\"\n";
                return 2;
            }
            options.csrValidityDays = *days;
        } else if (arg == "--record-limit") {
            options.recordLimit = std::stoul(value("--record-limit"));
        } else if (arg == "--heartbeat-interval") {
            options.heartbeatIntervalSeconds = std::stoull(value("--heartbeat-interval"));
        } else if (arg == "--quiet") {
            quiet = true;
        } else {
            std::cerr << "opamp-devserver: unknown option " << arg << "\n" << kUsage;
            return 2;
        }
    }
    if (options.csrCaCertFile.empty() != options.csrCaKeyFile.empty()) {
        std::cerr << "opamp-devserver: --csr-ca-cert and --csr-ca-key go together: give both "
                     "to sign agents' CSRs, or neither\n";
        return 2;
    }
    std::mutex logMutex;
    if (!quiet) {
        options.log = [&logMutex](const std::string& line) {
            std::lock_guard<std::mutex> lock(logMutex);
            std::cerr << "opamp-devserver: " << line << "\n";
        };
    }
    if (!isLoopback(options.adminHost)) {
        std::cerr << "opamp-devserver: warning: the admin API on " << options.adminHost
                  << " has no authentication; anyone who reaches it controls your agents\n";
    }

    opampsup::devserver::DevServer server(options);
    try {
        server.start();
    } catch (const std::exception& e) {
        std::cerr << "opamp-devserver: " << e.what() << "\n";
        return 1;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::cout << "opamp-devserver " << opampsup::kVersion << "\n"
              << "  OpAMP:     " << server.endpoint(true) << "  and  " << server.endpoint(false)
              << "\n"
              << "  admin API: " << server.adminUrl() << "/agents\n"
              << "  web page:  " << server.pageUrl() << "\n"
              << std::flush;
    while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    server.stop();
    return 0;
}
