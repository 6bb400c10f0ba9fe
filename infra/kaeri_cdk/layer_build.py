"""Build the Lambda layer directories with pip's cross-platform options: no Docker, cached under build/.

The dependency install is keyed by a hash of (requirements, platform, Python version); the common layer
adds a copy of layers/common/kaeri and is keyed by that hash plus a hash of the package's files, so a
repeated synth with nothing changed does no work, and a code change only re-links the directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kaeri_cdk import constants as c

# Build litter only: the runtime package is shipped whole (the operator tooling is a separate package, tools/).
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")
_STALE_AFTER_SECONDS = 3600


def runtime_requirements(pyproject: Path = c.REPO_ROOT / "pyproject.toml") -> list[str]:
    """The layer's packages: pyproject's [project.dependencies], the single source of truth."""
    with pyproject.open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def _digest(parts: Iterable[str | bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _tree_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def tree_digest(root: Path) -> str:
    def parts() -> Iterator[bytes]:
        for path in _tree_files(root):
            yield path.relative_to(root).as_posix().encode()
            yield path.read_bytes()

    return _digest(parts())


@contextmanager
def _build_lock() -> Iterator[None]:
    """Parallel test workers and synths share build/; one builds while the others wait."""
    c.BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (c.BUILD_DIR / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_install(requirements: list[str], target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(target), "--only-binary=:all:", "--implementation", "cp"]
    cmd += ["--python-version", c.PYTHON_VERSION]
    for platform in c.PIP_PLATFORMS:
        cmd += ["--platform", platform]
    subprocess.run([*cmd, *requirements], check=True)


def _dependencies(name: str, requirements: list[str]) -> Path:
    """site-packages for requirements, installed once per distinct set of inputs."""
    key = _digest([*requirements, *c.PIP_PLATFORMS, c.PYTHON_VERSION])
    done = c.BUILD_DIR / "deps" / f"{name}-{key}"
    if not done.is_dir():
        staging = done.with_name(done.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        _pip_install(requirements, staging / "python")
        staging.rename(done)
    return done


def _remove_stale(keep: Path) -> None:
    now = time.time()
    for other in keep.parent.glob(keep.name.split("-")[0] + "-*"):
        if other != keep and other.is_dir() and now - other.stat().st_mtime > _STALE_AFTER_SECONDS:
            shutil.rmtree(other, ignore_errors=True)


def _link_tree(src: Path, dst: Path) -> None:
    """Hard links where the filesystem allows them: the dependency tree is large and never edited."""
    try:
        shutil.copytree(src, dst, copy_function=os.link, ignore=_IGNORED)
    except OSError:
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=_IGNORED)


def build_common_layer(placeholder: bool = False) -> Path:
    """Directory whose python/ holds the runtime dependencies and the kaeri package.

    placeholder=True skips the dependencies (a quick synth for template-only work); the deployable
    build is the default.
    """
    package = c.COMMON_LAYER_SOURCE / "kaeri"
    with _build_lock():
        if placeholder:
            key = "placeholder-" + tree_digest(package)
            deps = None
        else:
            deps = _dependencies("common", runtime_requirements())
            key = deps.name.split("-", 1)[1] + tree_digest(package)
        out = c.BUILD_DIR / f"common-{key}"
        if not out.is_dir():
            staging = out.with_name(out.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            if deps is not None:
                _link_tree(deps / "python", staging / "python")
            shutil.copytree(package, staging / "python" / "kaeri", ignore=_IGNORED, dirs_exist_ok=True)
            staging.rename(out)
        _remove_stale(out)
        return out


def build_numpy_layer(placeholder: bool = False) -> Path:
    """Directory whose python/ holds numpy, for the functions that declare numpy=True."""
    with _build_lock():
        if placeholder:
            out = c.BUILD_DIR / "numpy-placeholder"
            (out / "python").mkdir(parents=True, exist_ok=True)
            (out / "python" / "PLACEHOLDER.txt").write_text("numpy is not installed in placeholder mode\n")
            return out
        return _dependencies("numpy", [c.NUMPY_REQUIREMENT])


def directory_size(path: Path) -> int:
    """Bytes on disk once unzipped, as Lambda counts them against the 250 MB limit."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


if __name__ == "__main__":
    for built in (build_common_layer(), build_numpy_layer()):
        print(built, directory_size(built) // 1024 // 1024, "MB")
