#pragma once

// Installs the packages the OpAMP server offers (PackagesAvailable): the collector binary
// itself (the top-level package, name "") and addons. Runs on the supervisor's loop; the
// slow parts (download, hashing, signature, unpacking) run on one worker thread that posts
// its results back.
//
// One package at a time, addons first:
//   InstallPending -> Downloading (with progress) -> verify (SHA-256 content_hash always,
//   the signature with the configured verifier) -> Installing (unpacked into
//   packages/agent/<hash>/ or packages/addons/<name>/) -> for the collector binary, a
//   trial: the supervisor runs it and it must turn healthy within health_timeout and stay
//   so for soak_period -> Installed; any failure -> InstallFailed with the reason, the
//   previous binary running again, and the package's hash never tried again.
// Every step is journaled first (PackageJournal.h), so a restart resumes or reverts.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/config/SupervisorConfig.h"
#include "core/packages/Downloader.h"
#include "core/packages/PackageJournal.h"
#include "core/packages/SignatureVerifier.h"
#include "core/storage/StateStore.h"
#include "core/supervisor/Scheduler.h"
#include "core/telemetry/Logger.h"
#include "opamp.pb.h"

namespace opampsup::packages {

class PackageManager {
  public:
    // What the manager needs from the supervisor; called on the loop thread.
    struct Collector {
        // Put `executable` on trial: stop the collector, learn the new one's description,
        // run it, and call `done` with nullopt once it was healthy through the soak period,
        // or with the reason it failed and whether the binary is to blame (not when the
        // collector could not run for another reason, such as a config that does not
        // compose). `done` is called once, unless the supervisor shuts down first.
        using TrialDone =
            std::function<void(std::optional<std::string> failure, bool binaryAtFault)>;
        std::function<void(const std::filesystem::path& executable, TrialDone done)> tryExecutable;
        // Go back to `executable` after a failed trial, without one.
        std::function<void(const std::filesystem::path& executable)> useExecutable;
        // service.version as the running collector reports it; "" when unknown.
        std::function<std::string()> runningVersion;
        // New statuses for the server.
        std::function<void(const ::opamp::proto::PackageStatuses&)> report;
        // An install ended: Installed (true) or InstallFailed (false). For the metrics.
        std::function<void(bool installed)> finished;
    };

    // Throws std::runtime_error when the verifier's keys or roots cannot be loaded.
    PackageManager(supervisor::Scheduler& loop, const config::SupervisorConfig& config,
                   const storage::StateStore& storage, Downloader::Connection connection,
                   Collector collector, telemetry::Logger logger);
    ~PackageManager();
    PackageManager(const PackageManager&) = delete;
    PackageManager& operator=(const PackageManager&) = delete;

    // Reads the journal: a corrupt one is set aside. The temporaries of writes a killed
    // run left are removed. Throws std::system_error when the packages directory cannot
    // be created or cleaned.
    void load();
    // The collector binary to run: the one a package installed, else agent.executable.
    std::filesystem::path activeExecutable() const;
    // Goes on with an install a restart interrupted. Call once the collector runs.
    void resume();
    void onPackagesAvailable(const ::opamp::proto::PackagesAvailable& offer);
    const ::opamp::proto::PackageStatuses& statuses() const { return journal_.statuses; }
    // Cancels a download or verification in progress and waits for the worker; then no
    // offer is taken any more.
    void shutdown();

  private:
    ::opamp::proto::PackageStatus& statusOf(const std::string& name);
    void assess(const std::string& name, const ::opamp::proto::PackageAvailable& offered);
    void removeAddonsNotOffered();
    void startNext();
    void startInstall(const std::string& name, bool resuming);
    void prepare(const std::string& name, const ::opamp::proto::PackageAvailable& offered);
    // Both carry the worker's generation: results of a stopped worker are dropped.
    void onProgress(std::uint64_t generation, const DownloadProgress& progress);
    void onPrepared(std::uint64_t generation, std::optional<std::string> failure, bool bad);
    void startTrial();
    void onTrialDone(std::optional<std::string> failure, bool binaryAtFault);
    // Cancels the worker's download or checks and waits for it.
    void stop();
    void installed(const std::string& name, const InstalledPackage& package);
    void failed(const std::string& name, const std::string& reason, bool markBad);
    void removeUnusedBinaries() const;
    std::string installedVersion(const std::string& name) const;
    std::string installedHash(const std::string& name) const;
    const ::opamp::proto::PackageAvailable* offered(const std::string& name) const;
    void save();
    void report();
    void joinWorker();

    supervisor::Scheduler& loop_;
    const config::SupervisorConfig& config_;
    storage::StateStore store_;  // the packages directory
    Downloader::Connection connection_;
    Collector collector_;
    telemetry::Logger logger_;
    std::unique_ptr<SignatureVerifier> verifier_;
    PackageJournal journal_;
    // The worker: one download-verify-unpack at a time.
    std::thread worker_;
    std::shared_ptr<Downloader> downloader_;
    std::uint64_t generation_ = 0;
    bool busy_ = false;
    bool stopped_ = false;  // from the worker's start to the end of the install (trial included)
    // An offer that came during a trial, handled when it ends.
    std::optional<::opamp::proto::PackagesAvailable> deferredOffer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::packages
