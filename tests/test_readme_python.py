"""The README's "Use from Python" example runs as written (after `evalkit make-data --output data`)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_training_loop_example_runs_as_written(synthetic_data, tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use from Python", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "data").symlink_to(synthetic_data)
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout.splitlines()
    assert printed[0].startswith("1 ") and printed[1].startswith("2 ")
    assert "| step 2 [--limit 8] | vqav2 |" in done.stdout
