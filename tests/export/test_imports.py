"""The server does not load pandas/pyarrow (about 130 MB of RSS) until something exports."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_does_not_load_the_table_libraries():
    code = (
        "import sys, lrs.app, lrs.cli, lrs.http.export, lrs.export\n"
        "lrs.app.create_app\n"
        "loaded = [m for m in ('pandas', 'pyarrow') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "from lrs.export import export\n"
        "assert 'pandas' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
