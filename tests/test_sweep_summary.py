"""`SweepResult.summary` and its short repr: counts that add up, percentiles of converged steps."""
import numpy as np
import optax

import jaxopt_lab as jl

#: A repr is one line for a person, whatever the sweep's size.
MAX_REPR_CHARACTERS = 200


def _grid_sweep():
    surface = jl.surfaces.get("himmelblau")
    starts = jl.starts.grid(surface, 12)
    # learning rate 0.03 is past 2/λ_max = 0.0248 at the flattest minimum: every start diverges
    return jl.sweep(optax.sgd, surface, starts, 200, hyperparams={"learning_rate": [0.01, 0.03]},
                    progress=False)


def test_summary_counts_add_up_to_every_point_of_every_setting():
    result = _grid_sweep()
    numbers = result.summary_dict()
    status = np.asarray(result.status)
    assert numbers["points"] == status.size == 2 * 144
    assert numbers["settings"] == 2
    assert sum(numbers["status"].values()) == status.size
    assert numbers["status"]["diverged"] == int(np.sum(status == jl.Status.DIVERGED))
    converged = status == jl.Status.CONVERGED
    assert sum(numbers["basins"].values()) + numbers["converged_elsewhere"] == converged.sum()
    steps = np.asarray(result.steps)[converged]
    assert numbers["converged_steps"]["p50"] == np.percentile(steps, 50)


def test_summary_text_names_each_status_and_basin():
    text = _grid_sweep().summary()
    assert text.startswith("288 points (2 settings): converged ")
    for word in ("unfinished", "diverged", "steps to converge: p10", "basins reached: #"):
        assert word in text


def test_repr_is_one_short_line_without_arrays():
    text = repr(_grid_sweep())
    assert "\n" not in text and len(text) <= MAX_REPR_CHARACTERS
    assert text.startswith("SweepResult(status shape (2, 144), hyperparams=['learning_rate']")
