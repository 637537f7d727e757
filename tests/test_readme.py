"""The README's example is code a user will paste: it must run as written."""
import pathlib
import re

import numpy as np

import jaxopt_lab as jl

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
    # What the example promises per point: an outcome, a minimum, a speed. Momentum at this
    # small rate brings every start of Himmelblau's box into one of its four minima.
    result, surface = namespace["result"], namespace["surface"]
    status, basin = np.asarray(result.status), np.asarray(result.basin)
    assert np.all(status == jl.Status.CONVERGED)
    assert sorted(set(basin.tolist())) == list(range(len(surface.minima)))
    distance = np.linalg.norm(np.asarray(result.params) - surface.minima_array[basin], axis=-1)
    assert np.all(distance <= result.metadata["basin_radius"])
    assert np.all((np.asarray(result.steps) >= 1) & (np.asarray(result.steps) <= 500))


def test_readme_quick_start_is_two_commands():
    text = README.read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick_start, re.S)
    assert len(commands) == 2 and all(len(c.strip().splitlines()) == 1 for c in commands)
    assert "jaxopt-lab map" in commands[0] and "pytest" in commands[1]
