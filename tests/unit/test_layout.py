"""The shape of the code: what importing a part loads, and the frame protocol's one home."""

import ast
import re
import subprocess
import sys
from pathlib import Path

from app.realtime import protocol

ROOT = Path(__file__).resolve().parents[2]


def modules_loaded_by(module):
    script = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_importing_the_auth_service_loads_no_realtime_delivery_or_broker():
    loaded = modules_loaded_by("app.auth.service")
    unwanted = {m for m in loaded if m.startswith(("app.realtime", "app.delivery", "app.node"))}
    assert not unwanted
    assert "app.brokers.kafka" not in loaded and "app.brokers.memory" not in loaded


def test_package_init_files_hold_only_a_docstring():
    for init in (ROOT / "app").rglob("__init__.py"):
        if init.parent == ROOT / "app":
            continue  # create_app lives there
        body = ast.parse(init.read_text()).body
        logic = [
            node for node in body if not isinstance(node, ast.Expr | ast.ImportFrom | ast.Assign)
        ]
        assert not logic, f"{init.relative_to(ROOT)} holds logic"


def frame_types_in_client():
    """The `type`s the browser client reads (`frame.type === "x"`) and sends (`type: "x"`)."""
    read, sent = set(), set()
    for script in (ROOT / "app" / "static" / "js").glob("*.js"):
        text = script.read_text()
        read.update(re.findall(r'frame\.type\s*===?\s*"([^"]+)"', text))
        sent.update(re.findall(r'\btype:\s*"([^"]+)"', text))
    return read, sent


def test_the_browser_client_uses_only_frames_the_protocol_defines():
    read, sent = frame_types_in_client()
    assert read, "the client reads no frame type? (the pattern no longer matches)"
    assert read <= protocol.SERVER_TYPES, read - protocol.SERVER_TYPES
    assert sent <= protocol.CLIENT_TYPES, sent - protocol.CLIENT_TYPES


def test_the_readme_tables_list_exactly_the_protocol_frames():
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(\{\"type\"[^|]*\})` \|", readme, flags=re.MULTILINE))
    assert rows == {kind.shape for kind in protocol.SERVER_FRAMES + protocol.CLIENT_FRAMES}


def test_the_api_description_lists_every_frame():
    from app.openapi import API_DESCRIPTION

    for kind in protocol.SERVER_FRAMES + protocol.CLIENT_FRAMES:
        assert kind.shape in API_DESCRIPTION
