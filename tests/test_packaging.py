"""The distribution Herald builds holds what an installed Herald imports."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_copy(destination):
    """The files git tracks, copied: what a release is built from (setuptools writes
    build/ into the tree it builds, which must not be the working tree)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def test_the_wheel_holds_the_settings_the_entry_point_and_every_package(tmp_path):
    source = tracked_copy(tmp_path / "source")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path)]
    subprocess.run([*command, str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("herald-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"config.py", "wsgi.py", "app/__init__.py"} <= names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py")}
    missing = {p for p in packages if f"{p}/__init__.py" not in names}
    assert not missing, f"left out of the distribution: {sorted(missing)}"
    assert "app/static/index.html" in names
