#include "core/packages/PackageManager.h"

#include <cctype>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include <Poco/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/SHA2Engine.h>
#include <Poco/URI.h>

#include "core/config/Duration.h"
#include "core/opamp/Hex.h"
#include "core/packages/TarArchive.h"
#include "core/packages/Version.h"
#include "platform/fs.h"

namespace opampsup::packages {

namespace {

namespace pb = ::opamp::proto;
namespace fs = std::filesystem;
using Step = PendingInstall::Step;

// A trial the supervisor did not live to finish is tried again, but not forever: a binary
// that takes the host down with it must not do so at every start.
constexpr int kMaxTrials = 3;
constexpr const char* kDownloadsDirectory = "downloads";
constexpr const char* kAgentDirectory = "agent";
constexpr const char* kAddonsDirectory = "addons";

// A failure that says the package itself is bad (its bytes, signature or archive), not the
// network: the same package is never tried again.
class BadPackage : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::string sha256Of(const fs::path& file, Downloader& cancellation) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + file.string());
    }
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    std::vector<char> buffer(64 * 1024);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.gcount() > 0) {
            sha.update(buffer.data(), static_cast<unsigned>(in.gcount()));
        }
        if (cancellation.cancelled()) {
            throw DownloadCancelled();
        }
    }
    const Poco::DigestEngine::Digest& digest = sha.digest();
    return std::string(digest.begin(), digest.end());
}

bool isPlainName(const std::string& name) {
    if (name.empty() || name == "." || name == "..") {
        return false;
    }
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

// An addon's directory: its name when that is a plain file name, else "%" and the name in
// hex. Neither can end in "#staging" or "#old", the names of a swap in progress.
std::string addonDirectoryName(const std::string& name) {
    return isPlainName(name) ? name : "%" + opamp::hex(name);
}

// Whether the downloader can fetch `url`: it parses, and names an http:// or https:// host.
// A URL Poco cannot parse must not get further: Poco::URI throws on it.
bool isDownloadableUrl(const std::string& url) {
    try {
        Poco::URI uri(url);
        return (uri.getScheme() == "http" || uri.getScheme() == "https") && !uri.getHost().empty();
    } catch (const Poco::Exception&) {
        return false;
    }
}

// The file name an addon keeps: the last segment of its URL when plain.
std::string addonFileName(const std::string& url) {
    std::string path = Poco::URI(url).getPath();
    std::string last = path.substr(path.find_last_of('/') + 1);
    return isPlainName(last) ? last : "package";
}

// What names a package's files and marks it bad: its hash (an offer without one is refused).
std::string packageKey(const pb::PackageAvailable& package) {
    return package.hash();
}

void removeQuietly(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
}

// What the worker needs, copied: it never touches the manager's state.
struct WorkerJob {
    Downloader::Request request;
    std::string contentHash;
    std::string signature;
    bool topLevel;
    fs::path agentDirectory;  // packages/agent/<hash>
    fs::path addonDirectory;  // packages/addons/<name>
    std::string addonFile;
    std::string binaryName;
    std::string archiveMember;
    bool tarGz;
    storage::StateStore store;  // the packages directory, to share what the collector runs
};

void throwIfCancelled(Downloader& cancellation) {
    if (cancellation.cancelled()) {
        throw DownloadCancelled();
    }
}

void stageBinary(const WorkerJob& job) {
    fs::path staging = job.agentDirectory.string() + "#staging";
    removeQuietly(staging);
    fs::create_directories(staging);
    fs::path binary = staging / job.binaryName;
    if (job.tarGz) {
        try {
            extractMember(
                job.request.partFile, job.archiveMember, binary,
                ArchiveLimits{job.request.maxBytes * 4, job.request.maxBytes * 4, 100000});
        } catch (const ArchiveError& e) {
            throw BadPackage(std::string("the archive is refused: ") + e.what());
        }
    } else {
        fs::copy_file(job.request.partFile, binary, fs::copy_options::overwrite_existing);
    }
    fs::permissions(binary,
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    fs::perm_options::replace);
    for (const fs::path& path : {job.agentDirectory.parent_path(), staging, binary}) {
        job.store.shareWithCollector(path);
    }
    platform::flushToDisk(binary);
    removeQuietly(job.agentDirectory);
    fs::rename(staging, job.agentDirectory);
}

void stageAddon(const WorkerJob& job) {
    fs::path staging = job.addonDirectory.string() + "#staging";
    fs::path old = job.addonDirectory.string() + "#old";
    removeQuietly(staging);
    removeQuietly(old);
    fs::create_directories(staging);
    fs::copy_file(job.request.partFile, staging / job.addonFile,
                  fs::copy_options::overwrite_existing);
    for (const fs::path& path :
         {job.addonDirectory.parent_path(), staging, staging / job.addonFile}) {
        job.store.shareWithCollector(path);
    }
    platform::flushToDisk(staging / job.addonFile);
    if (fs::exists(job.addonDirectory)) {
        fs::rename(job.addonDirectory, old);
    }
    fs::rename(staging, job.addonDirectory);
    removeQuietly(old);
}

// Download, check, unpack. Throws BadPackage when the package itself is at fault,
// DownloadCancelled when stopped (checked between the steps and while hashing).
void prepareInWorker(const WorkerJob& job, Downloader& downloader,
                     const SignatureVerifier* verifier,
                     const std::function<void(const DownloadProgress&)>& progress) {
    fs::create_directories(job.request.partFile.parent_path());
    const bool lengthKnown = downloader.run(job.request, progress);
    if (std::string actual = sha256Of(job.request.partFile, downloader);
        actual != job.contentHash) {
        fs::remove(job.request.partFile);
        std::string what = "the downloaded file's SHA-256 is " + opamp::hex(actual) +
                           ", not the offered content_hash " + opamp::hex(job.contentHash);
        // Without a length, a cut connection looks like the end of the file: that is the
        // network's fault, not the package's.
        if (!lengthKnown) {
            throw std::runtime_error(what +
                                     " (the server sent no length: the download may "
                                     "have been cut)");
        }
        throw BadPackage(what);
    }
    throwIfCancelled(downloader);
    if (verifier != nullptr) {
        try {
            verifier->verify(job.request.partFile, job.signature);
        } catch (const VerificationError& e) {
            throw BadPackage(std::string("signature check failed: ") + e.what());
        }
    }
    // Nothing installed is touched once stopped: the journal still says where it was.
    throwIfCancelled(downloader);
    if (job.topLevel) {
        stageBinary(job);
    } else {
        stageAddon(job);
    }
}

}  // namespace

PackageManager::PackageManager(supervisor::Scheduler& loop, const config::SupervisorConfig& config,
                               const storage::StateStore& storage,
                               Downloader::Connection connection, Collector collector,
                               telemetry::Logger logger)
    : loop_(loop),
      config_(config),
      store_(storage.subdirectory(kPackagesDirectory)),
      connection_(std::move(connection)),
      collector_(std::move(collector)),
      logger_(std::move(logger)) {
    const config::PackageSettings& p = config.agent.package;
    const std::uint64_t inMemoryLimit = p.maxDownloadSizeMib << 20;
    if (p.verifierType == "public_key") {
        verifier_ = makePublicKeyVerifier(p.publicKeys, inMemoryLimit);
    } else if (p.verifierType == "cosign") {
        verifier_ = makeCertificateVerifier(p.cosignRootCertificates, p.cosignIdentities,
                                            p.cosignGithubWorkflowRepository, inMemoryLimit);
    }
}

PackageManager::~PackageManager() {
    *alive_ = false;
    stop();
}

void PackageManager::stop() {
    if (downloader_) {
        downloader_->cancel();
    }
    joinWorker();
    ++generation_;  // what the stopped worker posted is dropped
}

void PackageManager::joinWorker() {
    if (worker_.joinable()) {
        worker_.join();
    }
}

void PackageManager::load() {
    store_.prepare();
    for (const std::string& name : store_.removeLeftovers({})) {
        logger_.info("Removed what an interrupted run left in storage",
                     {{"files", (std::filesystem::path("packages") / name).string()}});
    }
    std::optional<std::string> text = store_.read(kJournalFile);
    if (!text) {
        return;
    }
    try {
        journal_ = parseJournal(*text);
    } catch (const std::exception& e) {
        fs::path aside = store_.setAside(kJournalFile);
        logger_.error("The package journal cannot be read; set aside, starting without it",
                      {{"error", e.what()}, {"moved_to", aside.string()}});
        journal_ = PackageJournal{};
        return;
    }
    if (journal_.agent && !fs::exists(store_.pathOf(journal_.agent->path))) {
        logger_.error("The installed collector binary is missing; running agent.executable",
                      {{"path", store_.pathOf(journal_.agent->path).string()}});
        journal_.agent.reset();
    }
}

fs::path PackageManager::activeExecutable() const {
    return journal_.agent ? store_.pathOf(journal_.agent->path) : config_.agent.executable;
}

const pb::PackageAvailable* PackageManager::offered(const std::string& name) const {
    if (!journal_.offer) {
        return nullptr;
    }
    auto it = journal_.offer->packages().find(name);
    return it == journal_.offer->packages().end() ? nullptr : &it->second;
}

std::string PackageManager::installedVersion(const std::string& name) const {
    if (name.empty()) {
        return journal_.agent ? journal_.agent->version : collector_.runningVersion();
    }
    auto it = journal_.addons.find(name);
    return it == journal_.addons.end() ? "" : it->second.version;
}

std::string PackageManager::installedHash(const std::string& name) const {
    if (name.empty()) {
        return journal_.agent ? journal_.agent->hash : "";
    }
    auto it = journal_.addons.find(name);
    return it == journal_.addons.end() ? "" : it->second.hash;
}

pb::PackageStatus& PackageManager::statusOf(const std::string& name) {
    pb::PackageStatus& status = (*journal_.statuses.mutable_packages())[name];
    status.set_name(name);
    return status;
}

void PackageManager::save() {
    try {
        store_.write(kJournalFile, serializeJournal(journal_));
    } catch (const std::exception& e) {
        // The install goes on; a restart would redo what this write would have saved.
        logger_.error("Cannot write the package journal", {{"error", e.what()}});
    }
}

void PackageManager::report() {
    if (collector_.report) {
        collector_.report(journal_.statuses);
    }
}

void PackageManager::shutdown() {
    stopped_ = true;
    stop();
}

void PackageManager::onPackagesAvailable(const pb::PackagesAvailable& offer) {
    if (stopped_) {
        return;
    }
    if (!config_.capabilities.acceptsPackages) {
        logger_.warn("Ignored a packages offer: capabilities.accepts_packages is off");
        return;
    }
    if (busy_ && journal_.pending) {
        if (journal_.pending->step == Step::Trial) {
            // A collector binary is on trial: the offer waits for the verdict.
            deferredOffer_ = offer;
            return;
        }
        const pb::PackageAvailable* current = offered(journal_.pending->name);
        auto next = offer.packages().find(journal_.pending->name);
        if (current == nullptr || next == offer.packages().end() ||
            next->second.hash() != current->hash()) {
            logger_.info("The package being downloaded is no longer offered; stopping",
                         {{"package", journal_.pending->name}});
            stop();
            busy_ = false;
            journal_.pending.reset();
        }
    }
    journal_.offer = offer;
    journal_.statuses.set_server_provided_all_packages_hash(offer.all_packages_hash());
    journal_.statuses.clear_error_message();
    removeAddonsNotOffered();
    for (auto it = journal_.statuses.mutable_packages()->begin();
         it != journal_.statuses.mutable_packages()->end();) {
        it = offer.packages().count(it->first) == 0
                 ? journal_.statuses.mutable_packages()->erase(it)
                 : std::next(it);
    }
    for (const auto& [name, package] : offer.packages()) {
        if (busy_ && journal_.pending && journal_.pending->name == name) {
            continue;  // in progress, and still offered as it was
        }
        assess(name, package);
    }
    save();
    report();
    startNext();
}

// Decides what an offered package needs, and says so in its status.
void PackageManager::assess(const std::string& name, const pb::PackageAvailable& offered) {
    pb::PackageStatus& status = statusOf(name);
    const bool wasBad = status.status() == pb::PackageStatusEnum_InstallFailed &&
                        status.server_offered_hash() == offered.hash() &&
                        journal_.badHashes.count(packageKey(offered)) > 0;
    status.set_agent_has_version(installedVersion(name));
    status.set_agent_has_hash(installedHash(name));
    status.set_server_offered_version(offered.version());
    status.set_server_offered_hash(offered.hash());
    status.clear_download_details();
    auto refuse = [&status](const std::string& why) {
        status.set_status(pb::PackageStatusEnum_InstallFailed);
        status.set_error_message(why);
    };
    if (wasBad) {
        return;  // keeps the reason it failed with
    }
    status.clear_error_message();
    const bool topLevel = name.empty();
    if (topLevel != (offered.type() == pb::PackageType_TopLevel)) {
        refuse(topLevel ? "the package named \"\" is the collector itself and must be TopLevel"
                        : "only the package named \"\" may be TopLevel; this one must be Addon");
        return;
    }
    if (offered.hash().empty()) {
        refuse("the offer has no hash: the package could not be told apart from others");
        return;
    }
    if (offered.hash() == installedHash(name)) {
        status.set_status(pb::PackageStatusEnum_Installed);
        return;
    }
    if (journal_.badHashes.count(packageKey(offered)) > 0) {
        refuse("this package failed to install before and is not tried again");
        return;
    }
    if (offered.file().download_url().empty()) {
        refuse("the offer has no file.download_url");
        return;
    }
    if (!isDownloadableUrl(offered.file().download_url())) {
        refuse("the offer's file.download_url is not an http:// or https:// URL");
        return;
    }
    if (offered.file().content_hash().size() != 32) {
        refuse(
            "the offer's file.content_hash is not a SHA-256 (32 bytes): the file could "
            "not be checked");
        return;
    }
    if (offered.file().signature().empty() && !config_.agent.package.allowUnsigned) {
        refuse("the package is not signed, and agent.package.allow_unsigned is off");
        return;
    }
    if (topLevel && !config_.agent.package.allowDowngrade) {
        // Not knowing what runs (a collector that never described itself) does not stop an
        // upgrade, which may be the cure; an offer that cannot be ordered does.
        const std::string running = installedVersion("");
        std::optional<int> order = compareVersions(offered.version(), running);
        if (order && *order < 0) {
            refuse("version " + offered.version() + " is older than the running " + running +
                   ", and agent.package.allow_downgrade is off");
            return;
        }
        if (!order && !running.empty()) {
            refuse("cannot tell whether version \"" + offered.version() +
                   "\" is older than the "
                   "running " +
                   running + ", and agent.package.allow_downgrade is off");
            return;
        }
    }
    status.set_status(pb::PackageStatusEnum_InstallPending);
}

void PackageManager::removeAddonsNotOffered() {
    for (auto it = journal_.addons.begin(); it != journal_.addons.end();) {
        if (offered(it->first) != nullptr) {
            ++it;
            continue;
        }
        logger_.info("Removing an addon the server no longer offers", {{"package", it->first}});
        removeQuietly(store_.pathOf(kAddonsDirectory) / addonDirectoryName(it->first));
        journal_.statuses.mutable_packages()->erase(it->first);
        it = journal_.addons.erase(it);
    }
}

void PackageManager::startNext() {
    if (busy_ || stopped_) {
        return;
    }
    if (deferredOffer_) {
        pb::PackagesAvailable offer = std::move(*deferredOffer_);
        deferredOffer_.reset();
        onPackagesAvailable(offer);
        return;
    }
    if (!journal_.offer) {
        return;
    }
    // Addons first: the collector binary's trial restarts the collector, which may use them.
    for (bool topLevel : {false, true}) {
        for (const auto& [name, package] : journal_.offer->packages()) {
            if (name.empty() == topLevel &&
                statusOf(name).status() == pb::PackageStatusEnum_InstallPending) {
                startInstall(name, false);
                return;
            }
        }
    }
}

void PackageManager::resume() {
    if (!journal_.pending) {
        startNext();
        return;
    }
    PendingInstall& pending = *journal_.pending;
    const pb::PackageAvailable* package = offered(pending.name);
    if (!config_.capabilities.acceptsPackages || package == nullptr) {
        // The config changed since (or the journal lost its offer): nothing goes on.
        logger_.warn("Dropping an interrupted package install",
                     {{"package", pending.name},
                      {"reason", package == nullptr ? "its offer is gone"
                                                    : "capabilities.accepts_packages is off"}});
        journal_.pending.reset();
        save();
        startNext();
        return;
    }
    // The config may have changed since (allow_unsigned, allow_downgrade...).
    assess(pending.name, *package);
    if (statusOf(pending.name).status() != pb::PackageStatusEnum_InstallPending) {
        journal_.pending.reset();
        save();
        report();
        startNext();
        return;
    }
    if (pending.step == Step::Trial) {
        if (pending.trials >= kMaxTrials) {
            busy_ = true;
            failed(pending.name,
                   "the supervisor stopped " + std::to_string(pending.trials) +
                       " times while this collector binary was on trial; the previous binary "
                       "runs",
                   true);
            return;
        }
        logger_.warn(
            "A restart interrupted a collector binary's trial; the installed binary "
            "runs, and the trial starts again",
            {{"trial", std::to_string(pending.trials + 1)}});
        busy_ = true;
        startTrial();
        return;
    }
    if (pending.step == Step::Staged && pending.name.empty() &&
        fs::exists(store_.pathOf(pending.stagedPath))) {
        busy_ = true;
        startTrial();
        return;
    }
    logger_.info("Resuming an interrupted package install", {{"package", pending.name}});
    startInstall(pending.name, true);
}

void PackageManager::startInstall(const std::string& name, bool resuming) {
    const pb::PackageAvailable* package = offered(name);
    if (package == nullptr) {
        return;
    }
    busy_ = true;
    if (!resuming || !journal_.pending) {
        journal_.pending = PendingInstall{name, Step::Downloading, "", 0};
    }
    pb::PackageStatus& status = statusOf(name);
    status.set_status(pb::PackageStatusEnum_Downloading);
    status.mutable_download_details()->set_download_percent(0);
    save();
    report();
    logger_.info("Downloading a package", {{"package", name},
                                           {"version", package->version()},
                                           {"url", package->file().download_url()}});
    prepare(name, *package);
}

// The worker: download, check, unpack. Its results come back to the loop.
void PackageManager::prepare(const std::string& name, const pb::PackageAvailable& offered) {
    joinWorker();
    const std::uint64_t generation = ++generation_;
    const fs::path root = store_.directory();
    const std::string hashHex = opamp::hex(packageKey(offered));
    Downloader::Request request;
    request.url = offered.file().download_url();
    for (const auto& header : offered.file().headers().headers()) {
        request.headers.emplace_back(header.key(), header.value());
    }
    request.partFile = root / kDownloadsDirectory / (hashHex + ".part");
    request.maxBytes = config_.agent.package.maxDownloadSizeMib << 20;
    downloader_ = std::make_shared<Downloader>(connection_);
    const config::PackageSettings& settings = config_.agent.package;
    WorkerJob job{request,
                  offered.file().content_hash(),
                  offered.file().signature(),
                  name.empty(),
                  root / kAgentDirectory / hashHex,
                  root / kAddonsDirectory / addonDirectoryName(name),
                  addonFileName(request.url),
                  fs::path(settings.agentBinary).filename().string(),
                  settings.agentBinary,
                  settings.archive == "tar.gz",
                  store_};
    const SignatureVerifier* verifier = verifier_.get();
    auto post = [this, alive = std::weak_ptr<bool>(alive_)](std::function<void()> task) {
        loop_.post([alive, task = std::move(task)] {
            if (alive.lock()) {
                task();
            }
        });
    };
    worker_ = std::thread([this, job, generation, verifier, post, downloader = downloader_] {
        std::optional<std::string> failure;
        bool bad = false;
        try {
            prepareInWorker(
                job, *downloader, verifier,
                [post, this, generation](const DownloadProgress& progress) {
                    post([this, generation, progress] { onProgress(generation, progress); });
                });
        } catch (const DownloadCancelled&) {
            return;  // stop(): nothing to report, the journal still says where it was
        } catch (const BadPackage& e) {
            failure = e.what();
            bad = true;
        } catch (const std::exception& e) {
            failure = e.what();
        }
        post([this, generation, failure, bad] { onPrepared(generation, failure, bad); });
    });
}

void PackageManager::onProgress(std::uint64_t generation, const DownloadProgress& progress) {
    if (generation != generation_ || !journal_.pending ||
        journal_.pending->step != Step::Downloading) {
        return;  // from a download that was stopped
    }
    pb::PackageDownloadDetails* details =
        statusOf(journal_.pending->name).mutable_download_details();
    details->set_download_percent(progress.total > 0
                                      ? 100.0 * static_cast<double>(progress.received) /
                                            static_cast<double>(progress.total)
                                      : 0);
    details->set_download_bytes_per_second(progress.bytesPerSecond);
    report();
}

void PackageManager::onPrepared(std::uint64_t generation, std::optional<std::string> failure,
                                bool bad) {
    if (generation != generation_ || !journal_.pending) {
        return;  // from a worker that was stopped; another may run now
    }
    joinWorker();
    downloader_.reset();
    const std::string name = journal_.pending->name;
    if (failure) {
        failed(name, *failure, bad);
        return;
    }
    const pb::PackageAvailable* package = offered(name);
    if (name.empty()) {
        const std::string hashHex = opamp::hex(packageKey(*package));
        journal_.pending->step = Step::Staged;
        journal_.pending->stagedPath =
            std::string(kAgentDirectory) + "/" + hashHex + "/" +
            fs::path(config_.agent.package.agentBinary).filename().string();
        save();
        startTrial();
        return;
    }
    installed(name,
              InstalledPackage{package->version(), package->hash(),
                               std::string(kAddonsDirectory) + "/" + addonDirectoryName(name) +
                                   "/" + addonFileName(package->file().download_url())});
}

void PackageManager::startTrial() {
    PendingInstall& pending = *journal_.pending;
    pending.step = Step::Trial;
    pending.trials += 1;
    pb::PackageStatus& status = statusOf(pending.name);
    status.set_status(pb::PackageStatusEnum_Installing);
    status.clear_download_details();
    save();
    report();
    const fs::path binary = store_.pathOf(pending.stagedPath);
    logger_.info("Trying the new collector binary",
                 {{"path", binary.string()},
                  {"healthy_within", config::formatGoDuration(config_.agent.package.healthTimeout)},
                  {"soak_period", config::formatGoDuration(config_.agent.package.soakPeriod)}});
    collector_.tryExecutable(binary, [this, alive = std::weak_ptr<bool>(alive_)](
                                         std::optional<std::string> failure, bool binaryAtFault) {
        if (alive.lock()) {
            onTrialDone(std::move(failure), binaryAtFault);
        }
    });
}

void PackageManager::onTrialDone(std::optional<std::string> failure, bool binaryAtFault) {
    if (!journal_.pending || journal_.pending->step != Step::Trial) {
        return;
    }
    const std::string name = journal_.pending->name;
    const std::string stagedPath = journal_.pending->stagedPath;
    if (failure) {
        collector_.useExecutable(activeExecutable());
        removeQuietly(store_.pathOf(stagedPath).parent_path());
        failed(name,
               (binaryAtFault ? "the new collector binary failed its trial ("
                              : "the new collector binary could not be tried (") +
                   *failure + "); the previous binary runs again",
               binaryAtFault);
        return;
    }
    const pb::PackageAvailable* package = offered(name);
    journal_.previousAgent = journal_.agent;
    const InstalledPackage binary{package->version(), package->hash(), stagedPath};
    journal_.agent = binary;
    removeUnusedBinaries();
    installed(name, binary);
}

void PackageManager::installed(const std::string& name, const InstalledPackage& package) {
    if (name.empty()) {
        journal_.agent = package;
    } else {
        journal_.addons[name] = package;
    }
    const pb::PackageAvailable* offer = offered(name);
    if (offer != nullptr) {
        removeQuietly(store_.pathOf(kDownloadsDirectory) /
                      (opamp::hex(packageKey(*offer)) + ".part"));
    }
    pb::PackageStatus& status = statusOf(name);
    status.set_status(pb::PackageStatusEnum_Installed);
    status.set_agent_has_version(package.version);
    status.set_agent_has_hash(package.hash);
    status.clear_error_message();
    status.clear_download_details();
    journal_.pending.reset();
    busy_ = false;
    save();
    report();
    logger_.info("Package installed", {{"package", name}, {"version", package.version}});
    if (collector_.finished) {
        collector_.finished(true);
    }
    startNext();
}

void PackageManager::failed(const std::string& name, const std::string& reason, bool markBad) {
    const pb::PackageAvailable* offer = offered(name);
    if (markBad && offer != nullptr) {
        const std::string hash = packageKey(*offer);
        journal_.badHashes.insert(hash);
        removeQuietly(store_.pathOf(kDownloadsDirectory) / (opamp::hex(hash) + ".part"));
    }
    pb::PackageStatus& status = statusOf(name);
    status.set_status(pb::PackageStatusEnum_InstallFailed);
    status.set_error_message(reason);
    status.clear_download_details();
    journal_.pending.reset();
    busy_ = false;
    save();
    report();
    logger_.error("Package install failed", {{"package", name}, {"error", reason}});
    if (collector_.finished) {
        collector_.finished(false);
    }
    startNext();
}

// Keeps the installed collector binary and the one before it; earlier ones go.
void PackageManager::removeUnusedBinaries() const {
    std::error_code ec;
    const fs::path agents = store_.pathOf(kAgentDirectory);
    auto keep = [](const std::optional<InstalledPackage>& p) {
        return p ? fs::path(p->path).parent_path().filename().string() : std::string();
    };
    const std::string current = keep(journal_.agent);
    const std::string previous = keep(journal_.previousAgent);
    for (const auto& entry : fs::directory_iterator(agents, ec)) {
        const std::string dir = entry.path().filename().string();
        if (dir != current && dir != previous) {
            removeQuietly(entry.path());
        }
    }
}

}  // namespace opampsup::packages
