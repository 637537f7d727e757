"""The `jaxopt-lab` command: draw a convergence map, time a sweep, list what there is.

    $ jaxopt-lab map   --optimizer momentum --surface himmelblau --resolution 512 --steps 500 -o map.png
    $ jaxopt-lab bench --optimizer adam --surface rosenbrock --points 65536 --steps 1000 --json out.json
    $ jaxopt-lab list

Bad arguments exit with code 2 and one line that names the argument and what it allows; output
files are written to a temporary name and renamed, so an interrupted run leaves none half-written.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from typing import Any, Callable, Sequence

import optax

import jaxopt_lab as jl
from jaxopt_lab.bench import BACKENDS, benchmark
from jaxopt_lab.engine._result import atomic_output

#: Optimizers by CLI name, with the hyperparameters `map` and `bench` use unless --param says
#: otherwise: small enough to converge on the catalogue's 2-D surfaces from most starts.
OPTIMIZERS: dict[str, tuple[Callable[..., optax.GradientTransformation], dict[str, Any]]] = {
    "sgd": (jl.sgd, {"learning_rate": 0.01}),
    "momentum": (jl.momentum, {"learning_rate": 0.005, "momentum": 0.9}),
    "nesterov": (jl.nesterov, {"learning_rate": 0.005, "momentum": 0.9}),
    "adagrad": (jl.adagrad, {"learning_rate": 0.5}),
    "adadelta": (jl.adadelta, {"learning_rate": 1.0}),
    "rmsprop": (jl.rmsprop, {"learning_rate": 0.01}),
    "adam": (jl.adam, {"learning_rate": 0.05}),
    "adamw": (jl.adamw, {"learning_rate": 0.05}),
    # min_step_size 1e-12: at the seeds' 1e-6 Rprop stalls ~1e-6 from a minimum, short of the sweep's xtol.
    "rprop": (jl.rprop, {"learning_rate": 0.1, "min_step_size": 1e-12}),
    "quickprop": (jl.quickprop, {"learning_rate": 0.01}),
    "newton": (jl.newton, {"learning_rate": 1.0}),
    "saddle_free_newton": (jl.newton, {"learning_rate": 1.0, "saddle_free": True}),
    "levenberg_marquardt": (jl.levenberg_marquardt, {}),
    "bfgs": (jl.bfgs, {"learning_rate": 1.0}),
    "lbfgs": (jl.lbfgs, {"learning_rate": 1.0}),
}

SCHEDULES = (
    "inverse_time", "inverse_quadratic", "inverse_sqrt", "exponential", "step",
    "linear_then_constant", "reduce_on_plateau",
)

COLOURINGS = ("basin", "status", "steps")


class UsageError(Exception):
    """A bad command-line argument: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block before the error; one line is easier to read and grep.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def _first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def _positive_int(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {value}")
        return value

    return parse


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["learning_rate=0.1", "form=ewma"]`` -> ``{"learning_rate": 0.1, "form": "ewma"}``.

    >>> parse_params(["learning_rate=0.1", "momentum=0.5", "form=ewma", "saddle_free=true"])
    {'learning_rate': 0.1, 'momentum': 0.5, 'form': 'ewma', 'saddle_free': True}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key or not text:
            raise UsageError(f"argument --param: expected KEY=VALUE (e.g. learning_rate=0.1), got {pair!r}")
        params[key] = _parse_value(text)
    return params


def build_optimizer(name: str, overrides: dict[str, Any]) -> tuple[optax.GradientTransformation, dict]:
    """The named optimizer with its CLI defaults updated by ``overrides``; errors are one line."""
    factory, defaults = OPTIMIZERS[name]
    accepted = set(inspect.signature(factory).parameters)
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise UsageError(
            f"argument --param: {name} has no parameter {unknown[0]!r}; "
            f"allowed: {', '.join(sorted(accepted))}"
        )
    hyperparams = {**defaults, **overrides}
    try:
        return factory(**hyperparams), hyperparams
    except (ValueError, TypeError) as error:
        raise UsageError(f"argument --param: {error}") from None


def _check_output_path(option: str, path: str, suffixes: tuple[str, ...]) -> None:
    if not path.lower().endswith(suffixes):
        raise UsageError(f"argument {option}: file name must end in {' or '.join(suffixes)}, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"argument {option}: directory {directory!r} does not exist")


def command_map(args: argparse.Namespace) -> int:
    surface = jl.surfaces.get(args.surface)
    if surface.dim != 2:
        raise UsageError(f"argument --surface: map draws 2-D surfaces; {args.surface} has dim {surface.dim}")
    _check_output_path("-o/--output", args.output, (".png", ".svg"))
    optimizer, _ = build_optimizer(args.optimizer, parse_params(args.param))
    starts = jl.starts.grid(surface, args.resolution)
    try:
        result = jl.sweep(optimizer, surface, starts, args.steps, progress=args.progress,
                          engine=jl.Engine(backend=args.backend))
    except jl.engine.NotElementwise as error:
        raise UsageError(f"argument --backend: {error}") from None

    import matplotlib

    matplotlib.use("Agg")
    from jaxopt_lab import plotting

    figure = plotting.convergence_map(result, starts, surface, colour=args.colour,
                                      title=f"{args.optimizer} on {surface.name}, {args.steps} steps")
    image_path = args.output
    result_path = os.path.splitext(image_path)[0] + ".npz"
    image_format = os.path.splitext(image_path)[1][1:]
    # The picture is renamed into place only once the result is saved too: Ctrl-C leaves no
    # truncated map.png, and no picture without its result.
    with atomic_output(image_path) as partial_image:
        figure.savefig(partial_image, dpi=args.dpi, format=image_format)
        result.save(result_path)
    counts = {status.name.lower(): int((result.status == status.value).sum()) for status in jl.Status}
    print(f"wrote {image_path} and {result_path}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f" ({_engine(result.metadata['backend'], result.metadata['batches'])})")
    return 0


def _engine(backend: str, batches: int) -> str:
    """How a sweep ran, for a report.

    >>> _engine("scan", 8), _engine("fused", 1)
    ('scan backend, 8 batches side by side', 'fused backend')
    """
    return f"{backend} backend" + (f", {batches} batches side by side" if batches > 1 else "")


def command_bench(args: argparse.Namespace) -> int:
    surface = jl.surfaces.get(args.surface)
    if args.json:
        _check_output_path("--json", args.json, (".json",))
    optimizer, hyperparams = build_optimizer(args.optimizer, parse_params(args.param))
    try:
        report = benchmark(
            optimizer, surface, num_points=args.points, num_steps=args.steps,
            repeats=args.repeats, backend=args.backend, seed=args.seed, batches=args.batches,
        )
    except jl.engine.NotElementwise as error:
        raise UsageError(f"argument --backend: {error}") from None
    except jl.engine.EngineOptionError as error:
        raise UsageError(f"argument --{error.option}: {error}") from None
    report = {"optimizer": args.optimizer, "hyperparams": hyperparams, **report}
    print(
        f"{args.optimizer} on {surface.name}: P={args.points} T={args.steps} on {report['device']}\n"
        f"  compile {report['compile_seconds']:.2f} s; steady {report['median_seconds']:.4f} s "
        f"(spread {report['min_seconds']:.4f}-{report['max_seconds']:.4f} s over {args.repeats})\n"
        f"  jl.sweep  {report['point_steps_per_second']:.3e} point-steps/s "
        f"({_engine(report['backend_used'], report['batches'])}: {report['backend_reason']})\n"
        f"  baseline  {report['baseline_point_steps_per_second']:.3e} point-steps/s "
        f"(hand-written jit(vmap(scan)))\n"
        f"  ratio     {report['ratio']:.2f}"
    )
    if args.json:
        with atomic_output(args.json) as partial, open(partial, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0


def _describe_surface(surface: jl.surfaces.Surface) -> str:
    """The line `list` shows: a quadratic's spectrum and critical point (their docstrings all
    read alike), any other surface's first docstring line."""
    quadratic = surface.fn
    if not isinstance(quadratic, jl.surfaces.Quadratic):
        return _first_line(quadratic)
    eigenvalues = quadratic.eigenvalues
    formula = "½ wᵀAw" if not any(quadratic.b) and quadratic.c == 0 else "½ wᵀAw + bᵀw + c"
    if len(eigenvalues) <= 4:
        spectrum = "eigenvalues " + ", ".join(f"{value:.4g}" for value in eigenvalues)
    else:
        low, high = eigenvalues[0], eigenvalues[-1]
        spectrum = f"{len(eigenvalues)} eigenvalues in [{low:.3g}, {high:.3g}]"
    if eigenvalues[0] > 0:
        spectrum += f" (condition number {eigenvalues[-1] / eigenvalues[0]:.3g})"
    kind, points = ("minimum", surface.minima) if surface.minima else ("saddle", surface.saddles)
    if not points:
        return f"quadratic {formula}, {spectrum}"
    point = points[0]
    where = ("at the origin" if not any(point) else
             "at (" + ", ".join(f"{x:.4g}" for x in point) + ")")
    return f"quadratic {formula}, {spectrum}; {kind} {where}"


def command_list(args: argparse.Namespace) -> int:
    print("optimizers:")
    for name, (factory, defaults) in OPTIMIZERS.items():
        shown = ", ".join(f"{k}={v}" for k, v in defaults.items())
        print(f"  {name:<20} {_first_line(factory)}  [{shown}]")
    print("surfaces:")
    for name in jl.surfaces.names():
        surface = jl.surfaces.get(name)
        print(f"  {name:<20} {surface.dim}-D  {_describe_surface(surface)}")
    print("schedules:")
    for name in SCHEDULES:
        print(f"  {name:<20} {_first_line(getattr(jl.schedules, name))}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jaxopt-lab", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    optimizer_help = "one of " + ", ".join(OPTIMIZERS)

    map_parser = commands.add_parser(
        "map", help="sweep a grid of starts and draw where the optimizer converges",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  jaxopt-lab map --optimizer momentum --param learning_rate=0.01 "
               "--surface himmelblau --resolution 256 --steps 500 -o map.png",
    )
    bench_parser = commands.add_parser(
        "bench", help="time jl.sweep against a hand-written jit(vmap(scan)) loop",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  jaxopt-lab bench --optimizer adam --surface rosenbrock --points 65536 "
               "--steps 1000 --repeats 3 --json bench.json",
    )
    for sub in (map_parser, bench_parser):
        sub.add_argument("--optimizer", required=True, choices=list(OPTIMIZERS), metavar="NAME",
                         help=optimizer_help)
        sub.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                         help="a hyperparameter of the optimizer (repeatable), e.g. learning_rate=0.1")
        sub.add_argument("--surface", required=True, metavar="NAME",
                         help="a surface name from `jaxopt-lab list`")
        sub.add_argument("--backend", choices=BACKENDS, default="auto",
                         help="the sweep's engine: auto (fused kernel on a GPU where it compiles, "
                              "else scan), scan, or fused (interpreted, slow, off a GPU)")
    map_parser.add_argument("--resolution", type=_positive_int("--resolution"), default=256,
                            help="grid points per axis (default 256)")
    map_parser.add_argument("--steps", type=_positive_int("--steps"), default=500,
                            help="optimizer steps per start (default 500)")
    map_parser.add_argument("--colour", choices=COLOURINGS, default="basin",
                            help="colour cells by basin reached, status, or steps to converge")
    map_parser.add_argument("--dpi", type=_positive_int("--dpi"), default=120)
    map_parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                            help="no progress bar (it is shown only on a terminal anyway)")
    map_parser.add_argument("-o", "--output", required=True, metavar="PATH",
                            help="the picture (.png or .svg); the result goes beside it as .npz")
    map_parser.set_defaults(run=command_map)

    bench_parser.add_argument("--points", type=_positive_int("--points"), default=65536)
    bench_parser.add_argument("--steps", type=_positive_int("--steps"), default=1000)
    bench_parser.add_argument("--repeats", type=_positive_int("--repeats"), default=3)
    bench_parser.add_argument("--seed", type=int, default=0)
    bench_parser.add_argument("--batches", type=_positive_int("--batches"), default=None,
                              help="run each chunk as this many batches side by side (CPU; "
                                   "default: the sweep's choice, see jl.sweep; 1: one call)")
    bench_parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    bench_parser.set_defaults(run=command_bench)

    list_parser = commands.add_parser("list", help="the optimizers, surfaces and schedules",
                                      epilog="example:\n  jaxopt-lab list",
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    list_parser.set_defaults(run=command_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = make_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        if hasattr(args, "surface") and args.surface not in jl.surfaces.names():
            raise UsageError(
                f"jaxopt-lab {args.command}: error: argument --surface: unknown surface "
                f"{args.surface!r}; known: {', '.join(jl.surfaces.names())}"
            )
        return args.run(args)
    except UsageError as error:
        message = str(error)
        if not message.startswith("jaxopt-lab"):
            message = f"jaxopt-lab {getattr(args, 'command', '')}: error: {message}"
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxopt-lab: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `jaxopt-lab list | head` closed the pipe: stop quietly, as other command-line tools do
        # (Python docs' recipe: point stdout at devnull so the exit-time flush cannot fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
