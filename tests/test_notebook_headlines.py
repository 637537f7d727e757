"""The answers in notebooks/README.md are the numbers the committed notebooks printed.

Each headline is found in the stored outputs of its executed notebook by a pattern that pins
its context (which run, which method), and must agree with the README's figure to the
precision the README writes it (half a unit in its last digit). Re-running a notebook that
changes a headline, or editing the README's table without the notebook, fails here.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"

#: notebook number -> [(pattern with one number group, the README's figure as written)].
HEADLINES: dict[str, list[tuple[str, str]]] = {
    "01": [(r"measured regime = theory for 100\.0% of (\d+) learning rates", "256"),
           (r"smallest divergent η = ([\d.]+)", "0.5002"),
           (r"fastest η measured = ([\d.]+)", "0.179"),
           (r"theory 2/\(λmin\+λmax\) = ([\d.]+)", "0.182")],
    "02": [(r"κ =\s+5: at η\*: axis-aligned\s+(\d+)", "48"),
           (r"κ =\s+25: at η\*: axis-aligned\s+(\d+)", "239"),
           (r"κ =\s+125: at η\*: axis-aligned\s+(\d+)", "1192"),
           (r"axis-aligned, original .*steps = (\d+)", "47"),
           (r"axis-aligned, axes scaled .*steps = (\d+)", "1")],
    "03": [(r"η = 0\.0198: median (\d+) steps", "932"),
           (r"^\s+Newton\s+([\d.]+)%", "57.5"),
           (r"saddle-free Newton\s+([\d.]+)%", "98.6"),
           (r"^\s+BFGS\s+[\d.]+%\s+\d+\s+(\d+)", "27"),
           (r"L-BFGS \(m=10\)\s+[\d.]+%\s+\d+\s+(\d+)", "26"),
           (r"gradient descent \(η=1e-3\)\s+[\d.]+%\s+\d+\s+(\d+)", "33,612")],
    "04": [(r"([\d.]+)× lower with decay", "2.9")],
    "05": [(r"axis-aligned: iRprop− ×([\d.]+)", "12"),
           (r"axis-aligned: iRprop− ×[\d.]+, QuickProp ×([\d.]+)", "116"),
           (r"rotated 30°: iRprop− ×([\d.]+)", "2.0"),
           (r"rotated 30°: iRprop− ×[\d.]+, QuickProp ×([\d.]+)", "4.6"),
           (r"Goldstein–Price\s+QuickProp μ = 1\.75\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)%", "0.2"),
           (r"Ackley\s+QuickProp μ = 10\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)%", "52")],
    "06": [(r"heavy_ball: diverged ⇔ beyond the analytic boundary for ([\d.]+)%", "100"),
           (r"nesterov  : diverged ⇔ beyond the analytic boundary for ([\d.]+)%", "100"),
           (r"^\s+10 \|.*rel\. diff \+([\d.]+)%", "0.8"),
           (r"^\s+1000 \|.*rel\. diff \+([\d.]+)%", "0.2")],
    "07": [(r"bias_correction=False: ([\d.]+)", "3.16"),
           (r"AdaGrad\s+\|\s+[\d.]+,\s+(\d+) \|", "5"),
           (r"RMSProp\s+\|\s+[\d.]+,\s+(\d+) \|", "141")],
    "08": [(r"himmelblau: Newton converged to a non-minimum from ([\d.]+)%", "42"),
           (r"six_hump_camel: Newton converged to a non-minimum from ([\d.]+)%", "33"),
           (r"first-order methods: at most ([\d.]+)% of starts end at a non-minimum", "0")],
    "09": [(r"perceptron: .* after (\d+) updates, converged: True", "14"),
           (r"non-separating local minimum: ([\d.]+)% of \d+ starts", "29.9"),
           (r"t =\s+3: spoiler misclassified from\s+([\d.]+)%", "0"),
           (r"t =\s+20: spoiler misclassified from\s+([\d.]+)%", "38.6")],
    "10": [(r"σ =\s+10:\s+([\d.]+)% of hidden activations saturated", "95"),
           (r"constant 0\.1: distinct hidden units after training, fewest over the draws: (\d+)",
            "1")],
    "11": [(r"pairs: ([\d.]+) …", "1.00"),
           (r"pairs: [\d.]+ … ([\d.]+)", "1.18"),
           (r"slope of the floor against m \(η = 0\.1\): (-[\d.]+)", "−1.000")],
    "12": [(r"frame 0: ours ([\d.]+)", "1.03"),
           (r"frame 1: ours ([\d.]+)", "1.45"),
           (r"frame 2: ours ([\d.]+)", "1.73"),
           (r"median of all 3 frames' slopes: ([\d.]+)", "1.41")],
    "13": [(r"^online GD.*T = 100, 1000, 10000:\s+[\d.]+,\s+[\d.]+,\s+([\d.]+)", "12.6"),
           (r"^AdaGrad.*T = 100, 1000, 10000:\s+[\d.]+,\s+[\d.]+,\s+([\d.]+)", "12.6"),
           (r"^online GD.*worst sequence uses (\d+)%", "15"),
           (r"^AdaGrad.*worst sequence uses (\d+)%", "57")],
    "14": [(r"'sharp': 'λ_max = [\d.]+, 2/λ_max = ([\d.]+)'", "0.1"),
           (r"^gradient descent, η = 0\.1\s+: .* max\s+([\d.]+);", "56"),
           (r"^momentum, η = 0\.05, β = 0\.9 : .* max\s+([\d.]+);", "32"),
           (r"^momentum, η = 0\.05, β = 0\.9 : .*diverged\s+([\d.]+)%", "22.5"),
           (r"^clipped gradient descent\s+: .* max\s+([\d.]+);", "0.1"),
           (r"^clipped momentum\s+: .* max\s+([\d.]+);", "0.36")],
    "15": [(r"^width 2 \( 7 parameters\),\s+random:\s+(\d+) distinct", "19"),
           (r"^width 3 \(10 parameters\),\s+random:\s+(\d+) distinct", "37"),
           (r"^width 4 \(13 parameters\),\s+random:\s+(\d+) distinct", "52"),
           (r"^width 1: correlation of index and log-loss ([\d.]+)", "0.52"),
           (r"^width 4: correlation of index and log-loss ([\d.]+)", "0.96")],
    "16": [(r"m = 16: ([\d.e+]+)", "23"),
           (r"m = 4: ([\d.e+]+)", "110")],
}


def readme_rows() -> dict[str, str]:
    text = (NOTEBOOKS / "README.md").read_text()
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^\| \[(\d\d)\]\([^)]*\) \| [^|]* \| (.*) \|$", text, re.M)}


def stored_output(number: str) -> str:
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "".join("".join(output.get("text", "")) for cell in cells
                   for output in cell.get("outputs", []))


def half_unit_of_last_digit(figure: str) -> float:
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    return 0.5 * 10.0**-decimals


def test_every_notebook_has_headlines():
    assert sorted(HEADLINES) == sorted(readme_rows())


@pytest.mark.parametrize("number", sorted(HEADLINES))
def test_readme_answers_are_the_notebook_outputs(number):
    row, output = readme_rows()[number], stored_output(number)
    for pattern, figure in HEADLINES[number]:
        assert figure in row, f"README row {number} no longer says {figure!r}"
        found = re.search(pattern, output, re.M)
        assert found, f"notebook {number} printed nothing matching {pattern!r}"
        readme_value = float(figure.replace(",", "").replace("−", "-"))
        printed = float(found.group(1))
        # (1 + 1e-9): the half unit itself, e.g. 0.25 vs 0.2, is not exact in binary floats
        assert abs(printed - readme_value) <= half_unit_of_last_digit(figure) * (1 + 1e-9), (
            f"notebook {number}: {pattern!r} printed {printed}, README says {figure}")
