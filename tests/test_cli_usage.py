"""The `jaxopt-lab` command in-process: bad input, JSON output, saved results that redraw."""
from __future__ import annotations

import json

import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import cli

MAP = ["map", "--optimizer", "sgd", "--surface", "himmelblau", "-o", "x.png"]
GRID = ["grid", "--optimizer", "momentum", "--surface", "himmelblau", "-o", "g.png"]
RACE = ["race", "--optimizers", "sgd,adam", "--surface", "beale", "-o", "r.gif"]

# (arguments, text the one line must hold): each subcommand, each kind of mistake.
BAD_INPUT = [
    (MAP + ["--param", "learning_rate=fast"], "learning_rate must be a number, got 'fast'"),
    (MAP + ["--resolution", "1"], "--resolution must be an integer >= 2, got 1"),
    (MAP + ["--steps", "0"], "--steps must be an integer >= 1"),
    (MAP + ["--param", "learning_rate=-1"], "learning_rate must be in (0, inf)"),
    (MAP + ["--colour", "rainbow"], "--colour"),
    (MAP + ["--json", "out.txt"], "argument --json: file name must end in .json or '-'"),
    (["map", "--optimizer", "sgd", "--surface", "zakharov", "-o", "x.png"], "--surface"),
    (GRID + ["--param", "learning_rate=1e-4:1:log64"], "grid needs two ranges"),
    (GRID + ["--param", "learning_rate=0:1:log8", "--param", "momentum=0:0.9:8"],
     "a log range needs START > 0"),
    (GRID + ["--param", "learning_rate=1:2:x", "--param", "momentum=0:0.9:8"],
     "KEY=START:STOP:N"),
    (GRID + ["--param", "learning_rate=0.1:0.2:4", "--param", "dampening=0:0.9:8"],
     "momentum has no parameter 'dampening'"),
    (GRID + ["--param", "learning_rate=0.1:0.2:4", "--param", "momentum=0:0.9:4",
             "--starts", "0"], "--starts"),
    (RACE + ["--start", "-1,1,2"], "argument --start: expected 2 comma-separated numbers"),
    (RACE + ["--start", "9,9"], "outside the surface's box"),
    (["race", "--optimizers", "sgd,nope", "--surface", "beale", "--start", "1,1", "-o",
      "r.gif"], "argument --optimizers"),
    (["race", "--optimizers", "sgd", "--surface", "beale", "--start", "1,1", "-o", "r.avi"],
     "-o/--output"),
    (["plot", "missing.npz", "-o", "p.png"], "argument RESULT: no file 'missing.npz'"),
    (["plot", "not-a-result.npz", "-o", "p.png"], "argument RESULT"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--param", "learning_rate=x"],
     "learning_rate must be a number"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--json", "b.csv"], "--json"),
    (["list", "--json", "listing.txt"], "--json"),
    (["nope"], "invalid choice"),
]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative output names land in the test's own directory


def run(arguments, capsys, _cwd=None):
    code = cli.main(arguments)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("arguments, named", BAD_INPUT, ids=[" ".join(a[:1] + a[-2:])
                                                             for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line_naming_the_flag(arguments, named, capsys, tmp_path):
    (tmp_path / "not-a-result.npz").write_text("plain text")
    code, out, err = run(arguments, capsys, tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jaxopt-lab") and named in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-result.npz"]


def test_version(capsys, tmp_path):
    code, out, _ = run(["--version"], capsys, tmp_path)
    assert code == 0 and out.strip() == f"jaxopt-lab {jl.__version__}"


def test_list_json_to_stdout_has_whole_plain_descriptions(capsys, tmp_path):
    code, out, _ = run(["list", "--json", "-"], capsys, tmp_path)
    assert code == 0
    listing = json.loads(out)
    assert set(listing) == {"optimizers", "surfaces", "schedules"}
    for group in listing.values():
        for entry in group.values():
            assert "`" not in entry["description"] and entry["description"]
    # a whole first paragraph, not its first line cut mid-sentence
    assert listing["surfaces"]["goldstein_price"]["description"].endswith("f = 3.")
    assert listing["surfaces"]["rastrigin"]["minima"] == 121
    assert listing["optimizers"]["rprop"]["defaults"]["min_step_size"] == 1e-12


def test_list_text_shows_no_rst_marks(capsys, tmp_path):
    code, out, _ = run(["list"], capsys, tmp_path)
    assert code == 0 and "``" not in out and "`" not in out


def test_map_remembers_its_settings_and_plot_redraws_it(capsys, tmp_path):
    code, out, err = run(["map", "--optimizer", "momentum", "--surface", "himmelblau",
                          "--resolution", "12", "--steps", "200", "--json", "-", "-o",
                          "map.png"], capsys, tmp_path)
    assert code == 0, err
    report = json.loads(out)  # stdout holds only the JSON; the person's line went to stderr
    assert "wrote map.png" in err
    metadata = jl.SweepResult.load(tmp_path / "map.npz").metadata
    settings = jl.surfaces.map_settings(jl.surfaces.get("himmelblau"), "momentum")
    assert metadata["settings"] == {"learning_rate": settings.hyperparams["learning_rate"],
                                    "momentum": 0.9}
    assert metadata["label"] == (f"momentum(learning_rate="
                                     f"{settings.hyperparams['learning_rate']:.4g}, momentum=0.9)")
    assert metadata["grid"] == {"shape": [12, 12], "extent": [-5.0, 5.0, -5.0, 5.0]}
    assert report["summary"]["points"] == 144
    assert isinstance(report["metadata"]["num_devices"], int)
    assert sum(report["summary"]["status"].values()) == 144
    code, out, err = run(["plot", "map.npz", "--colour", "steps", "-o", "again.png"], capsys,
                         tmp_path)
    assert code == 0, err
    assert (tmp_path / "again.png").stat().st_size > 0


def test_hint_when_a_map_is_almost_all_diverged(capsys, tmp_path):
    # 0.05 is past 2/λ_max = 0.0149 at every Himmelblau minimum: every start diverges
    code, out, err = run(["map", "--optimizer", "sgd", "--param", "learning_rate=0.05",
                          "--surface", "himmelblau", "--resolution", "8", "--steps", "100",
                          "-o", "map.png"], capsys, tmp_path)
    assert code == 0, err
    hint = [line for line in out.splitlines() if line.startswith("hint:")]
    assert len(hint) == 1 and "diverged" in hint[0] and "try --param learning_rate in" in hint[0]


def test_hint_says_why_no_learning_rate_helps_on_a_ridge(capsys, tmp_path):
    # Bukin N.6's minimum sits on a kink: SGD zig-zags across it at any rate, so the hint gives
    # the reason, not a range of rates that would not help
    code, out, err = run(["map", "--optimizer", "sgd", "--surface", "bukin_n6", "--resolution",
                          "6", "--steps", "200", "-o", "map.png"], capsys, tmp_path)
    assert code == 0, err
    hint = [line for line in out.splitlines() if line.startswith("hint:")]
    assert len(hint) == 1 and "unfinished" in hint[0] and "bukin_n6: its minimum" in hint[0]
    assert "ridge" in hint[0] and "momentum" in hint[0] and "--param" not in hint[0]


def test_grid_draws_a_hyperparameter_map_and_plot_redraws_it(capsys, tmp_path):
    code, out, err = run(GRID + ["--param", "learning_rate=1e-3:0.05:log6", "--param",
                                 "momentum=0:0.9:4", "--starts", "4", "--steps", "150",
                                 "--json", "grid.json"], capsys, tmp_path)
    assert code == 0, err
    report = json.loads((tmp_path / "grid.json").read_text())
    assert report["summary"]["settings"] == 24 and report["summary"]["points"] == 96
    saved = jl.SweepResult.load(tmp_path / "g.npz")
    assert saved.metadata["hyperparam_axes"]["learning_rate"] == {
        "start": 1e-3, "stop": 0.05, "num": 6, "log": True}
    assert saved.metadata["boundary"] == "heavy_ball"
    assert np.unique(saved.hyperparams["momentum"]).tolist() == pytest.approx([0, 0.3, 0.6, 0.9])
    code, _, err = run(["plot", "g.npz", "--colour", "steps", "-o", "g2.png"], capsys, tmp_path)
    assert code == 0, err
    code, _, err = run(["plot", "g.npz", "--colour", "basin", "-o", "g3.png"], capsys, tmp_path)
    assert code == 2 and "converged, steps, loss" in err


def test_race_writes_an_animation_and_a_still(capsys, tmp_path):
    code, out, err = run(["race", "--optimizers", "sgd,momentum,adam", "--surface", "booth",
                          "--start", "-5,-5", "--steps", "60", "--dpi", "40", "--json", "-",
                          "-o", "race.gif"], capsys, tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert [run["optimizer"].split("(")[0] for run in report["runs"]] == ["sgd", "momentum",
                                                                          "adam"]
    from PIL import Image

    with Image.open(tmp_path / "race.gif") as movie:
        assert movie.n_frames > 10
    assert (tmp_path / "race.png").stat().st_size > 0
