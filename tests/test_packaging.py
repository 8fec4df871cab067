"""The distribution Herald builds holds what an installed Herald imports."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_settings_the_entry_point_and_every_package(tmp_path):
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path)]
    subprocess.run([*command, str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("herald-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"config.py", "wsgi.py", "app/__init__.py"} <= names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py")}
    missing = {p for p in packages if f"{p}/__init__.py" not in names}
    assert not missing, f"left out of the distribution: {sorted(missing)}"
    assert "app/static/index.html" in names
