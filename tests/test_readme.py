"""The README's example is code a user will paste: it must run as written."""
import pathlib
import re

import jax.numpy as jnp

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert (tmp_path / "map.png").stat().st_size > 0
    assert namespace["result"].status.shape == (256 * 256,)
    assert namespace["grid"].status.shape == (64 * 64, 16)
    assert jnp.all(namespace["result"].steps >= -1)


def test_readme_quick_start_is_two_commands():
    text = README.read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick_start, re.S)
    assert len(commands) == 2 and all(len(c.strip().splitlines()) == 1 for c in commands)
    assert "jaxopt-lab map" in commands[0] and "pytest" in commands[1]
