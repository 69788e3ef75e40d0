"""Turns bench.py's results into docs/benchmarks.md."""

import statistics

# The figures, in order: result key, what it is, the target from the benchmarks issue.
FIGURES = [
    ("idle_rss_mib", "Supervisor RSS, idle, collector running (5 s after healthy)", ("<", 8)),
    ("idle_rss_anon_mib", "... of which private (anonymous) memory", None),
    ("idle_pss_mib", "... PSS (shared library pages divided among their users)", None),
    ("peak_rss_applying_10mib_config_mib", "Supervisor peak RSS (VmHWM) after applying a 10 MiB remote config", None),
    ("idle_cpu_percent", "Supervisor CPU, idle with heartbeats (30 s) on", ("<", 0.05)),
    ("idle_wakeups_per_second", "Supervisor context switches per second, idle (all threads)", None),
    ("size_stripped_mib", "opampsupervisor, stripped", ("<", 4)),
    ("size_with_shared_libraries_mib", "... with the shared libraries it loads", None),
    ("startup_without_bootstrap_cache_ms", "Start to collector healthy at the server, first start (bootstrap run)", None),
    ("startup_with_bootstrap_cache_ms", "Start to collector healthy at the server, with the bootstrap cache", None),
    ("apply_push_to_applied_ms", "Remote config: server push to APPLIED at the server", None),
    ("apply_collector_restart_ms", "... of which the stand-in collector's own stop, start and first healthy report", None),
    ("apply_supervisor_overhead_ms", "... the supervisor's overhead (the difference)", ("<", 20)),
    ("compose_1mib_ms", "Compose effective.yaml from a 1 MiB remote config", None),
    ("compose_10mib_ms", "Compose effective.yaml from a 10 MiB remote config", None),
    ("reconnect_after_server_restart_ms", "Server restarted: its process spawned to the supervisor's first message", None),
    ("custom_message_round_trips_per_second", "Custom messages server -> collector -> server", None),
]


def fmt(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def markdown(report):
    m = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Measured by the harness in `bench/` (`bench/run.sh`), never by the test suite. It runs",
        "`opamp-devserver`, `opampsupervisor` (Release build) and the stand-in collector on",
        "loopback and measures the supervisor from outside: `/proc/<pid>` for memory, CPU time",
        "and context switches, the supervisor's JSON log and the dev server's record of",
        "messages for times. Regenerate this page with the command below.",
        "",
        f"- Date: {report['date']}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}, kernel {m['kernel']}",
        f"- Command: `{report['command']}`",
        f"- Repeats: {report['repeats']} (each figure is the median, with min and max); idle "
        f"CPU over {report['idle_seconds']:.0f} s; {report['relay_messages']} custom messages per relay run",
        "",
        "| Figure | Median | Min | Max | Unit | Target |",
        "|---|---|---|---|---|---|",
    ]
    for key, what, target in FIGURES:
        result = report["results"].get(key)
        if not result:
            continue
        values = result["values"]
        median = statistics.median(values)
        goal = ""
        if target:
            op, bound = target
            met = median < bound if op == "<" else median > bound
            goal = f"{op} {bound} {result['unit']}: {'met' if met else 'missed'}"
        lines.append(f"| {what} | {fmt(median)} | {fmt(min(values))} | {fmt(max(values))} | "
                     f"{result['unit']} | {goal} |")
    lines += ["", "Shared libraries loaded: " + ", ".join(report.get("shared_libraries", [])), ""]
    breakdown = report.get("rss_breakdown", [])
    if breakdown:
        lines += ["Idle RSS by mapping (one run, KiB): " +
                  ", ".join(f"{name} {kb}" for name, kb in breakdown[:12]), ""]
    lines += NOTES.splitlines()
    return "\n".join(lines) + "\n"


NOTES = """## How to read these figures

- **Side by side.** The issue asks for the Go supervisor next to ours. It cannot be built
  or downloaded on the machine these runs come from (no Go toolchain, no internet), so
  only our figures are here, against the issue's targets. The comparison needs a machine
  with the Go binary and a harness option to run it; it is not claimed here.
- **RSS.** Most of the idle RSS is file-backed pages of shared libraries (protobuf,
  libstdc++, libc, OpenSSL's libcrypto, Poco), counted in every process that maps them
  and shared with any other process that uses them; the supervisor's private memory is
  the "private (anonymous)" line, and PSS divides the shared pages among their users.
  The 8 MiB RSS target is missed on that account only: what the supervisor owns is a
  small part of it. The libraries are the ones the design fixes; Debian's Poco NetSSL
  alone brings Poco Util, XML, JSON and expat with it. Ways further down, not taken:
  protobuf-lite (the supervisor compares descriptions with protobuf's reflection, and
  the dev server prints messages as JSON) and loading the TLS libraries only for
  `wss://`/`https://` endpoints.
- **Peak RSS for a 10 MiB config.** Profiled with heaptrack (`heaptrack
  opampsupervisor ...` during the apply part, `heaptrack_print --print-peaks`). The peak
  heap was 141 MiB: the config held about fourteen times at once. Since then the
  WebSocket readers read a one-frame message where it lies and give back buffers over
  1 MiB, the client drops the received bytes once parsed and moves the config out of
  the message, the candidate composition goes before the apply composes again, and the
  composed text is copied once: 83 MiB of heap at the peak. The RSS peak was higher
  than the heap's for another reason: after the first large buffer is freed, glibc
  raises its mmap threshold to that size, so later buffers come from the heap and
  their pages stay resident; the supervisor fixes the threshold at 1 MiB on Linux
  (176 MiB peak RSS before these changes). What remains is the parsed
  YAML and its merged copy (yaml-cpp nodes, about twice the text), the emitter's
  buffer, the composed text, and the config kept as received, as applying and as last
  working, which the supervisor needs. A supervisor applying 10 MiB configs needs
  about a hundred MiB for the seconds the apply takes; idle afterwards it keeps the
  config about four times (received, working, running text, reported effective).
- **Idle CPU** is read from the kernel's tick-based counters (10 ms resolution) over the
  idle window; wake-ups are context switches of all the supervisor's threads. The local
  listeners (the collector's OpAMP server, the status endpoint) run an accept loop of
  our own that sleeps until a peer connects; Poco's TCP server polled every 250 ms in
  each, which was most of the 0.105 % and 13 wake-ups/s of the first run. What is left
  are the heartbeats to the server, the collector's own messages and the timers the
  supervisor sets (restart backoff, certificate checks), each seconds to hours apart.
- **Apply.** "Collector restart" is from the supervisor's "Stopping the collector" log
  line to "Remote config applied" (the collector's first healthy report on the new
  config); the overhead is the rest of push-to-APPLIED: the dev server, both OpAMP hops,
  persisting, the restriction check and composing. `validate_config` is off here: with it
  each apply runs `otelcol validate` once more, which is the collector's time.
- **Reconnect** depends on where the supervisor's reconnect backoff (exponential, with
  jitter) stands when the server comes back: from a few milliseconds to the current
  backoff interval, hence the spread.
- **Compose** is bound by yaml-cpp's parser and emitter (about 0.2 s per MiB each way on
  this machine); the supervisor's own merge is a small part.
- **Custom messages** go server -> supervisor -> collector (echo) -> supervisor -> server,
  sent one admin API request at a time; the figure is end to end, dev server included.
"""
