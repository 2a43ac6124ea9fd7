"""A real single-node Elasticsearch for the adapter tests, unpacked from the integ-test-zip.

The integ-test-zip (``org.elasticsearch.distribution.integ-test-zip:elasticsearch``) is the
smallest official distribution on Maven Central: no bundled JDK and four modules only
(transport-netty4, apm, x-pack-core, x-pack-security). So it has no ``analysis-common``
(asciifolding), no ``percolator`` and no ``rest-root`` (``GET /``). Maven unpacks it once into
``<cache>/elasticsearch/<version>/home``, the same route as `indexer.engine.maven`.

Elasticsearch refuses to run as root. Under root the JVM runs as an unprivileged user
(``nobody``) from a hard-linked copy of the distribution in the work folder, because the cache
under /root is not readable to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from indexer.engine.java import JavaNotFound, JavaRuntime, find_java

# the newest 8.19.x and 9.x integ-test-zips on Maven Central that resolve (November 2026)
DEFAULT_VERSION = "8.19.21"
ES9_VERSION = "9.2.8"
CLUSTER_NAME = "diemnong-es-test"
_POM_TEMPLATE = Path(__file__).with_name("elasticsearch-pom.xml")


class ElasticsearchNodeError(RuntimeError):
    """The node could not be fetched, started or stopped; the message says why."""


def minimum_java(version: str) -> int:
    """Elasticsearch 9 needs Java 21; 8.x runs on 17."""
    return 21 if int(version.split(".", 1)[0]) >= 9 else 17


def java_for(version: str, explicit: Path | None = None) -> JavaRuntime:
    """An explicit JDK when it is new enough, else the oldest installed one that is.

    A JDK newer than a release line knows (Java 25 for 8.19) is the likelier one to break it.
    """
    minimum = minimum_java(version)
    runtimes = find_java(explicit, None, minimum=minimum)
    if not runtimes:
        raise JavaNotFound(
            f"Elasticsearch {version} needs Java {minimum}+ and none was found in /usr/lib/jvm: "
            f"install one (e.g. 'apt-get install openjdk-{minimum}-jdk-headless')"
        )
    if explicit is not None and runtimes[0].origin == "DIEMNONG_JAVA_HOME":
        return runtimes[0]
    return min(runtimes, key=lambda runtime: runtime.major)


def distribution_home(cache_dir: Path, version: str) -> Path:
    return cache_dir / "elasticsearch" / version / "home"


def install_distribution(cache_dir: Path, version: str, timeout_s: float = 900.0) -> Path:
    """Unpack the integ-test-zip into the cache (once); returns its ES_HOME."""
    folder = cache_dir / "elasticsearch" / version
    home = distribution_home(cache_dir, version)
    marker = folder / ".complete"
    if marker.is_file():
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ElasticsearchNodeError(
            "Maven (mvn) not found: install it with 'apt-get install maven' "
            "(the Elasticsearch test distribution comes from Maven Central)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    pom = _POM_TEMPLATE.read_text("utf-8").replace("@ES_VERSION@", version)
    (folder / "pom.xml").write_text(pom, "utf-8")
    partial = folder / f"unpack.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    command = [mvn, "-B", "-q", "-Dstyle.color=never", "dependency:unpack"]
    command.append(f"-DoutputDirectory={partial}")
    try:
        proc = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ElasticsearchNodeError(
            f"Maven did not fetch Elasticsearch {version} in {timeout_s:.0f}s: is Maven Central "
            "reachable (proxy settings in ~/.m2/settings.xml)?"
        ) from exc
    unpacked = partial / f"elasticsearch-{version}"
    if proc.returncode != 0 or not (unpacked / "bin" / "elasticsearch").is_file():
        shutil.rmtree(partial, ignore_errors=True)
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        errors = [line for line in lines if "[ERROR]" in line and line.strip() != "[ERROR]"]
        tail = "\n".join(errors[:2] or lines[-8:])
        raise ElasticsearchNodeError(
            f"Maven could not fetch org.elasticsearch.distribution.integ-test-zip:elasticsearch:"
            f"{version} (run 'mvn -B dependency:unpack' in {folder} to see why):\n{tail}"
        )
    if not marker.is_file():
        shutil.rmtree(home, ignore_errors=True)
        unpacked.rename(home)
        marker.write_text(version, "utf-8")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(folder / "target", ignore_errors=True)
    return home


def free_ports(count: int) -> list[int]:
    """Distinct ports the OS calls free on 127.0.0.1 (held open together, so never repeated)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group: the CLI launcher and the server JVM."""
    found: list[int] = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except OSError:
            continue
    return found


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid)


class ElasticsearchNode:
    """One Elasticsearch node on 127.0.0.1 whose config, data and logs live in ``workdir``."""

    def __init__(
        self,
        version: str,
        java_home: Path,
        workdir: Path,
        *,
        cache_dir: Path | None = None,
        heap_mb: int = 512,
        start_timeout_s: float = 120.0,
        unprivileged_user: str = "nobody",
    ) -> None:
        self.version = version
        self.java_home = java_home
        self.workdir = workdir.resolve()
        self.cache_dir = cache_dir or Path.home() / ".cache" / "diemnong"
        self.heap_mb = heap_mb
        self.start_timeout_s = start_timeout_s
        self.unprivileged_user = unprivileged_user
        self.url: str | None = None
        self.pgid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    def last_log_lines(self, count: int = 20) -> str:
        try:
            with self.console_log.open(encoding="utf-8", errors="replace") as handle:
                return "\n".join(line.rstrip() for line in deque(handle, maxlen=count))
        except FileNotFoundError:
            return "(no log)"

    def _account(self) -> pwd.struct_passwd | None:
        """The user to run as: None (ourselves) unless we are root."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.unprivileged_user)
        except KeyError as exc:
            raise ElasticsearchNodeError(
                f"Elasticsearch refuses to run as root and user {self.unprivileged_user!r} "
                "does not exist: run the tests as another user"
            ) from exc

    def _check_reachable(self, account: pwd.struct_passwd) -> None:
        for parent in self.workdir.parents:
            info = parent.stat()
            if not (info.st_mode & 0o001 or info.st_uid == account.pw_uid):
                raise ElasticsearchNodeError(
                    f"{parent} is not reachable by user {account.pw_name}, who runs Elasticsearch "
                    "because it refuses to run as root: use a work folder from tempfile.mkdtemp()"
                )

    def _prepare(self, home: Path, account: pwd.struct_passwd | None) -> Path:
        """Create the work folder; under root also the linked distribution and ownership."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in ("data", "logs", "tmp"):
            (self.workdir / name).mkdir(exist_ok=True)
        if not (self.workdir / "config").is_dir():
            shutil.copytree(home / "config", self.workdir / "config")
        if account is None:
            return home
        self._check_reachable(account)
        linked = self.workdir / "home"
        if not linked.is_dir():
            shutil.copytree(home, linked, symlinks=True, copy_function=_link_or_copy)
        os.chown(self.workdir, account.pw_uid, account.pw_gid)
        for name in ("config", "data", "logs", "tmp"):
            _chown_tree(self.workdir / name, account.pw_uid, account.pw_gid)
        return linked

    def start(self) -> str:
        """Start the node (no-op when running) and wait for health yellow; returns its URL."""
        if self._proc is not None and self._proc.poll() is None and self.url:
            return self.url
        account = self._account()
        home = self._prepare(install_distribution(self.cache_dir, self.version), account)
        http_port, transport_port = free_ports(2)
        settings = {
            "cluster.name": CLUSTER_NAME,
            "node.name": "diemnong-es",
            "network.host": "127.0.0.1",
            "http.port": str(http_port),
            "transport.port": str(transport_port),
            "discovery.type": "single-node",
            "path.data": str(self.workdir / "data"),
            "path.logs": str(self.workdir / "logs"),
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        if (home / "modules" / "x-pack-security").is_dir():
            settings["xpack.security.enabled"] = "false"
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "ES_JAVA_HOME": str(self.java_home),
            "ES_PATH_CONF": str(self.workdir / "config"),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap_mb}m -Xmx{self.heap_mb}m",
        }
        command = [str(home / "bin" / "elasticsearch")]
        command += [f"-E{key}={value}" for key, value in settings.items()]
        with self.console_log.open("ab") as log:
            self._proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
                user=account.pw_uid if account else None,
                group=account.pw_gid if account else None,
                extra_groups=[] if account else None,
            )
        self.pgid = self._proc.pid
        self.url = f"http://127.0.0.1:{http_port}"
        self._wait_until_healthy(self._proc, self.url)
        return self.url

    def _wait_until_healthy(self, proc: subprocess.Popen[bytes], url: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        params = {"wait_for_status": "yellow", "timeout": "1s"}
        with httpx.Client(timeout=10.0) as client:
            while time.monotonic() < deadline:
                code = proc.poll()
                if code is not None:
                    raise ElasticsearchNodeError(
                        f"Elasticsearch {self.version} exited during start (code {code}); "
                        f"last lines of {self.console_log}:\n{self.last_log_lines()}"
                    )
                try:
                    resp = client.get(f"{url}/_cluster/health", params=params)
                except httpx.HTTPError:
                    time.sleep(0.25)
                    continue
                if resp.status_code == 200 and resp.json().get("status") in ("yellow", "green"):
                    return
                if resp.status_code != 408:
                    time.sleep(0.25)
        self.stop()
        raise ElasticsearchNodeError(
            f"Elasticsearch {self.version} was not healthy after {self.start_timeout_s:.0f}s; "
            f"last lines of {self.console_log}:\n{self.last_log_lines()}"
        )

    def running_pids(self) -> list[int]:
        """The node's live processes; empty once stopped (no orphan JVM)."""
        return group_pids(self.pgid) if self.pgid is not None else []

    def _wait_gone(self, proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            proc.poll()
            if not self.running_pids():
                return True
            time.sleep(0.1)
        return False

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pgid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, sig)

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``timeout_s``; verify it is gone."""
        proc = self._proc
        if proc is None:
            return
        self._signal_group(signal.SIGTERM)
        if not self._wait_gone(proc, timeout_s):
            self._signal_group(signal.SIGKILL)
            if not self._wait_gone(proc, 30.0):
                raise ElasticsearchNodeError(
                    f"Elasticsearch processes {self.running_pids()} survived SIGKILL"
                )
        proc.wait(timeout=5)
        self._proc = None

    def __enter__(self) -> ElasticsearchNode:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
