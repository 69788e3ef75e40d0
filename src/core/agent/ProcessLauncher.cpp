#include "core/agent/ProcessLauncher.h"

#include "platform/child_process.h"

namespace opampsup::agent {
namespace {

class RunningProcess : public RunningCollector {
  public:
    explicit RunningProcess(std::unique_ptr<platform::ChildProcess> process)
        : process_(std::move(process)) {}
    long pid() const override { return process_->pid(); }
    void requestStop() override { process_->requestStop(); }
    void kill() override { process_->kill(); }
    void requestReload() override { process_->requestReload(); }

  private:
    std::unique_ptr<platform::ChildProcess> process_;
};

}  // namespace

std::unique_ptr<RunningCollector> ProcessLauncher::launch(const LaunchSpec& spec,
                                                          LaunchCallbacks callbacks) {
    platform::ProcessOptions options;
    options.executable = spec.executable;
    options.args = spec.args;
    options.environment = spec.environment;
    options.workingDirectory = spec.workingDirectory;
    options.runAs = runAs_;
    options.onOutput = [output = std::move(callbacks.output)](platform::ProcessStream stream,
                                                              std::string_view line) {
        if (output) {
            output(stream == platform::ProcessStream::Stderr ? OutputStream::Stderr
                                                             : OutputStream::Stdout,
                   line);
        }
    };
    options.onExit = [exited = std::move(callbacks.exited)](const platform::ProcessExit& exit) {
        if (exited) {
            ExitStatus status;
            status.signaled = exit.signaled;
            status.code = exit.code;
            status.signal = exit.signal;
            status.signalName = exit.signalName;
            exited(status);
        }
    };
    return std::make_unique<RunningProcess>(platform::ChildProcess::spawn(std::move(options)));
}

}  // namespace opampsup::agent
