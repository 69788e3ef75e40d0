#!/usr/bin/env python3
"""The benchmark harness (run it through bench/run.sh, which builds what it needs).

Runs opamp-devserver, opampsupervisor and the stand-in collector on loopback, measures the
supervisor from outside (/proc, the supervisor's log, the dev server's record of messages)
and writes docs/benchmarks.md: the machine, the command, and the median, min and max of
each figure over repeated runs. No figure comes from the test suite.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=30.0, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError("timed out waiting for " + getattr(condition, "__name__", "a condition"))


def iso_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class DevServer:
    def __init__(self, bindir, work, opamp_port=None, admin_port=None):
        self.opamp_port = opamp_port or free_port()
        self.admin_port = admin_port or free_port()
        self.log = open(os.path.join(work, "devserver.log"), "ab")
        self.spawned = time.time()
        self.process = subprocess.Popen(
            [os.path.join(bindir, "opamp-devserver"), "--quiet",
             "--listen", f"127.0.0.1:{self.opamp_port}",
             "--admin-listen", f"127.0.0.1:{self.admin_port}", "--record-limit", "100000"],
            stdout=self.log, stderr=self.log)
        wait_for(lambda: self._up(), timeout=10)
        self.started = time.time()

    def _up(self):
        try:
            self.api("GET", "/api/agents")
            return True
        except OSError:
            return False

    def api(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=data,
                                         method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def agent(self, uid):
        try:
            return self.api("GET", f"/api/agents/{uid}")
        except urllib.error.HTTPError:
            return None

    def messages(self, uid, since=0):
        return self.api("GET", f"/api/messages?agent={uid}&since={since}")["messages"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


COLLECTOR_YAML = """receivers:
  standin:
    interval: 1s
exporters:
  file:
    path: {work}/data.jsonl
service:
  pipelines:
    metrics:
      receivers: [standin]
      exporters: [file]
"""

SUPERVISOR_YAML = """server:
  endpoint: ws://127.0.0.1:{port}/v1/opamp
capabilities:
  reports_effective_config: true
  reports_health: true
  reports_heartbeat: true
  accepts_remote_config: true
agent:
  executable: {bindir}/otelcol-standin
  config_files: [{work}/collector.yaml]
  validate_config: {validate}
  # The stand-in collector (yaml-cpp) takes seconds to load a 10 MiB config.
  config_apply_timeout: 120s
storage:
  directory: {work}/storage
telemetry:
  logs:
    output_paths: [{work}/supervisor.log]
"""


class Supervisor:
    def __init__(self, bindir, work, server, validate=False, extra=""):
        self.work = work
        with open(os.path.join(work, "collector.yaml"), "w") as f:
            f.write(COLLECTOR_YAML.format(work=work))
        self.config = os.path.join(work, "supervisor.yaml")
        with open(self.config, "w") as f:
            f.write(SUPERVISOR_YAML.format(port=server.opamp_port, bindir=bindir, work=work,
                                           validate="true" if validate else "false") + extra)
        self.bindir = bindir
        self.process = None

    def start(self):
        self.spawned = time.time()
        self.process = subprocess.Popen(
            [os.path.join(self.bindir, "opampsupervisor"), "--config", self.config],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def uid(self):
        path = os.path.join(self.work, "storage", "persistent_state.yaml")

        def read():
            try:
                for line in open(path):
                    if line.startswith("instance_id:"):
                        return line.split(":", 1)[1].strip()
            except OSError:
                return None
        return wait_for(read)

    def log_lines(self):
        lines = []
        try:
            for line in open(os.path.join(self.work, "supervisor.log")):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        except OSError:
            pass
        return lines

    def status(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def rollup(self, field):
        """A field of /proc/<pid>/smaps_rollup (Pss, Rss), in kB."""
        with open(f"/proc/{self.process.pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def rss_by_mapping(self):
        """Resident kB per mapped file (and [anon] for the rest), largest first."""
        totals = {}
        name = "[anon]"
        with open(f"/proc/{self.process.pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if not fields:
                    continue
                if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                    name = os.path.basename(fields[5]) if len(fields) >= 6 else "[anon]"
                elif fields[0] == "Rss:":
                    totals[name] = totals.get(name, 0) + int(fields[1])
        return sorted(totals.items(), key=lambda item: -item[1])

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def context_switches(self):
        total = 0
        for task in os.listdir(f"/proc/{self.process.pid}/task"):
            with open(f"/proc/{self.process.pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        return total

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def healthy(server, uid):
    agent = server.agent(uid)
    return agent and agent.get("connected") and \
        agent.get("status", {}).get("health", {}).get("healthy", False)


def first_healthy_time(server, uid):
    for m in server.messages(uid):
        health = m["message"].get("health")
        if m["direction"] == "agent_to_server" and health and health.get("healthy"):
            return iso_time(m["time"])
    return None


def status_time(server, uid, hash_hex, status):
    for m in server.messages(uid):
        rcs = m["message"].get("remote_config_status")
        if m["direction"] == "agent_to_server" and rcs and rcs.get("status") == status and \
                base64.b64decode(rcs.get("last_remote_config_hash", "")).hex() == hash_hex:
            return iso_time(m["time"])
    return None


def log_time(entry):
    return iso_time(entry["ts"])


def push(server, uid, yaml):
    answer = server.api("POST", f"/api/agents/{uid}/config", {"config": {"": yaml}})
    return answer["config_hash"]


def pipeline(out, interval="1s", extra=""):
    return (f"receivers:\n  standin:\n    interval: {interval}\n{extra}exporters:\n  file:\n"
            f"    path: {out}\nservice:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
            "      exporters: [file]\n")


def big_config(out, size):
    parts = ["receivers:\n  standin:\n    interval: 1s\nprocessors:\n"]
    total = len(parts[0])
    i = 0
    while total < size:
        # A thousand components with long values: the stand-in collector (yaml-cpp) would
        # take minutes over a hundred thousand small ones; the supervisor handles bytes.
        part = (f"  attributes/{i}:\n    actions:\n      - key: key-{i}\n        action: insert\n"
                f"        value: \"{'v' * 10000}\"\n")
        parts.append(part)
        total += len(part)
        i += 1
    parts.append(f"exporters:\n  file:\n    path: {out}\nservice:\n  pipelines:\n    traces:\n"
                 "      receivers: [standin]\n      exporters: [file]\n")
    return "".join(parts)


class Bench:
    def __init__(self, args):
        self.args = args
        self.bindir = args.bin
        self.results = {}
        self.root = tempfile.mkdtemp(prefix="opampsup-bench-")

    def workdir(self, name):
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        return path

    def record(self, name, values, unit):
        self.results[name] = {"values": values, "unit": unit}
        print(f"{name}: median {statistics.median(values):.3f} {unit} "
              f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})", flush=True)

    def run_supervisor(self, name, validate=False, extra=""):
        work = self.workdir(name)
        server = DevServer(self.bindir, work)
        supervisor = Supervisor(self.bindir, work, server, validate, extra).start()
        uid = supervisor.uid()
        wait_for(lambda: healthy(server, uid), timeout=60)
        return server, supervisor, uid

    # --- the figures ---------------------------------------------------------------------

    def sizes(self):
        binary = os.path.join(self.bindir, "opampsupervisor")
        stripped = os.path.join(self.root, "opampsupervisor.stripped")
        subprocess.run(["strip", "--strip-all", "-o", stripped, binary], check=True)
        libs = 0
        names = []
        for line in subprocess.run(["ldd", stripped], capture_output=True, text=True).stdout.splitlines():
            if "=>" in line and "/" in line.split("=>")[1]:
                path = line.split("=>")[1].split("(")[0].strip()
                libs += os.path.getsize(os.path.realpath(path))
                names.append(os.path.basename(path))
        size = os.path.getsize(stripped)
        self.record("size_stripped_mib", [size / 2**20], "MiB")
        self.record("size_with_shared_libraries_mib", [(size + libs) / 2**20], "MiB")
        self.shared_libraries = names

    def idle_and_startup(self):
        rss, anon, pss, startup_cold, startup_cached = [], [], [], [], []
        for i in range(self.args.repeats):
            server, supervisor, uid = self.run_supervisor(f"idle-{i}")
            startup_cold.append((first_healthy_time(server, uid) - supervisor.spawned) * 1000)
            time.sleep(5)
            rss.append(supervisor.status("VmRSS") / 1024)
            anon.append(supervisor.status("RssAnon") / 1024)
            pss.append(supervisor.rollup("Pss") / 1024)
            self.rss_breakdown = supervisor.rss_by_mapping()
            supervisor.stop()
            # Again with what the first run persisted: the bootstrap cache.
            supervisor.start()
            before = len(server.messages(uid))
            wait_for(lambda: any(m["direction"] == "agent_to_server" and
                                 m["message"].get("health", {}).get("healthy")
                                 for m in server.messages(uid)[before:]), timeout=60)
            healthy_at = next(iso_time(m["time"]) for m in server.messages(uid)[before:]
                              if m["direction"] == "agent_to_server" and
                              m["message"].get("health", {}).get("healthy"))
            startup_cached.append((healthy_at - supervisor.spawned) * 1000)
            supervisor.stop()
            server.stop()
        self.record("idle_rss_mib", rss, "MiB")
        self.record("idle_rss_anon_mib", anon, "MiB")
        self.record("idle_pss_mib", pss, "MiB")
        self.record("startup_without_bootstrap_cache_ms", startup_cold, "ms")
        self.record("startup_with_bootstrap_cache_ms", startup_cached, "ms")

    def idle_cpu(self):
        server, supervisor, uid = self.run_supervisor("cpu")
        time.sleep(5)
        cpu0, switches0, t0 = supervisor.cpu_seconds(), supervisor.context_switches(), time.monotonic()
        time.sleep(self.args.idle_seconds)
        cpu1, switches1, t1 = supervisor.cpu_seconds(), supervisor.context_switches(), time.monotonic()
        supervisor.stop()
        server.stop()
        self.record("idle_cpu_percent", [100 * (cpu1 - cpu0) / (t1 - t0)], "%")
        self.record("idle_wakeups_per_second", [(switches1 - switches0) / (t1 - t0)], "/s")
        self.idle_window = t1 - t0

    def apply(self):
        server, supervisor, uid = self.run_supervisor("apply")
        end_to_end, collector_part, overhead = [], [], []
        for i in range(self.args.repeats):
            out = os.path.join(supervisor.work, f"apply-{i}.jsonl")
            log_before = len(supervisor.log_lines())
            pushed = time.time()
            hash_hex = push(server, uid, pipeline(out, interval=f"{100 + i}ms"))
            applied = wait_for(lambda: status_time(server, uid, hash_hex,
                                                   "RemoteConfigStatuses_APPLIED"), timeout=60)
            lines = supervisor.log_lines()[log_before:]
            stopping = next(log_time(e) for e in lines if e.get("msg") == "Stopping the collector")
            done = next(log_time(e) for e in lines if e.get("msg") == "Remote config applied")
            total = (applied - pushed) * 1000
            own = (done - stopping) * 1000
            end_to_end.append(total)
            collector_part.append(own)
            overhead.append(total - own)
        self.record("apply_push_to_applied_ms", end_to_end, "ms")
        self.record("apply_collector_restart_ms", collector_part, "ms")
        self.record("apply_supervisor_overhead_ms", overhead, "ms")

        # Peak RSS while applying a 10 MiB config. The messages after it carry a 10 MiB
        # effective config: read each once (a cursor), and not too often.
        before = supervisor.status("VmHWM") / 1024
        cursor = server.api("GET", f"/api/messages?agent={uid}&since=0")["last_index"]
        hash_hex = push(server, uid, big_config(os.path.join(supervisor.work, "big.jsonl"),
                                                10 * 2**20))
        outcome = {}

        def settled():
            nonlocal cursor
            for m in server.messages(uid, cursor):
                cursor = max(cursor, m["index"])
                rcs = m["message"].get("remote_config_status")
                if m["direction"] == "agent_to_server" and rcs and \
                        base64.b64decode(rcs.get("last_remote_config_hash", "")).hex() == hash_hex \
                        and rcs.get("status") in ("RemoteConfigStatuses_APPLIED",
                                                  "RemoteConfigStatuses_FAILED"):
                    outcome.update(rcs)
            return outcome
        wait_for(settled, timeout=300, step=0.5)
        if outcome["status"] != "RemoteConfigStatuses_APPLIED":
            raise RuntimeError("the 10 MiB config failed: " + outcome.get("error_message", ""))
        self.record("peak_rss_applying_10mib_config_mib", [supervisor.status("VmHWM") / 1024],
                    "MiB")
        self.hwm_before_big = before
        supervisor.stop()
        server.stop()

    def compose(self):
        for size, name in ((2**20, "compose_1mib_ms"), (10 * 2**20, "compose_10mib_ms")):
            runs = []
            for _ in range(self.args.repeats):
                out = subprocess.run([os.path.join(self.bindir, "compose-bench"), "--bytes",
                                      str(size), "--runs", "1"], capture_output=True, text=True,
                                     check=True).stdout
                runs.append(json.loads(out)["median_ms"])
            self.record(name, runs, "ms")

    def reconnect(self):
        work = self.workdir("reconnect")
        server = DevServer(self.bindir, work)
        supervisor = Supervisor(self.bindir, work, server).start()
        uid = supervisor.uid()
        wait_for(lambda: healthy(server, uid), timeout=60)
        times = []
        for _ in range(self.args.repeats):
            ports = (server.opamp_port, server.admin_port)
            server.stop()
            server = DevServer(self.bindir, work, *ports)
            # From the spawn: the supervisor may be in before the admin API answers.
            started = server.spawned
            wait_for(lambda: (server.agent(uid) or {}).get("connected"), timeout=120, step=0.002)
            first = min(iso_time(m["time"]) for m in server.messages(uid))
            times.append((first - started) * 1000)
        supervisor.stop()
        server.stop()
        self.record("reconnect_after_server_restart_ms", times, "ms")

    def relay(self):
        extra_collector = ""
        server, supervisor, uid = self.run_supervisor("relay")
        # The stand-in echoes custom messages of this capability back (echo_custom_capability).
        capability = "io.opentelemetry.bench"
        hash_hex = push(server, uid, pipeline(os.path.join(supervisor.work, "relay.jsonl"),
                                              extra=f"    echo_custom_capability: {capability}\n"))
        wait_for(lambda: status_time(server, uid, hash_hex, "RemoteConfigStatuses_APPLIED"), 60)
        wait_for(lambda: capability in json.dumps(server.agent(uid)), 30)
        rates = []
        count = self.args.relay_messages
        for run in range(self.args.repeats):
            since = server.api("GET", f"/api/messages?agent={uid}&since=0")["last_index"]
            start = time.time()
            for n in range(count):
                server.api("POST", f"/api/agents/{uid}/custom-message",
                           {"capability": capability, "type": "ping", "data": f"{run}-{n}"})

            def echoed():
                got = [m for m in server.messages(uid, since)
                       if m["direction"] == "agent_to_server" and "custom_message" in m["message"]]
                return got if len(got) >= count else None
            got = wait_for(echoed, timeout=120, step=0.05)
            last = max(iso_time(m["time"]) for m in got)
            rates.append(count / (last - start))
        supervisor.stop()
        server.stop()
        self.record("custom_message_round_trips_per_second", rates, "/s")


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    osname = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "os": osname,
            "kernel": platform.release()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="directory with the three binaries")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=600)
    parser.add_argument("--relay-messages", type=int, default=200)
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--markdown", help="write the report here (docs/benchmarks.md)")
    parser.add_argument("--command", default="bench/run.sh")
    parser.add_argument("--only", nargs="*", help="run only these parts")
    args = parser.parse_args()

    bench = Bench(args)
    parts = ["sizes", "compose", "idle_and_startup", "apply", "reconnect", "relay", "idle_cpu"]
    try:
        for part in parts:
            if not args.only or part in args.only:
                getattr(bench, part)()
    finally:
        shutil.rmtree(bench.root, ignore_errors=True)
    report = {"machine": machine(), "date": datetime.date.today().isoformat(),
              "repeats": args.repeats, "idle_seconds": args.idle_seconds,
              "relay_messages": args.relay_messages, "command": args.command,
              "results": bench.results,
              "shared_libraries": getattr(bench, "shared_libraries", []),
              "rss_breakdown": getattr(bench, "rss_breakdown", [])}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        import report as writer
        with open(args.markdown, "w") as f:
            f.write(writer.markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
