"""The sweep engine: `sweep` runs an optimizer from many starts (× hyperparameters) at once.

Public: `sweep`, its tuning options `Engine`, its outcome `SweepResult` and `Status`, divergence
rules on the loss curve (`DivergenceRule`, `mean_normalized_loss_rule` and its state), and the
errors a caller may want to tell apart. Everything else here is private (modules named ``_x``).
"""
from jaxopt_lab.engine._api import sweep as sweep
from jaxopt_lab.engine._checkpoint import CheckpointError as CheckpointError
from jaxopt_lab.engine._divergence import DivergenceRule as DivergenceRule
from jaxopt_lab.engine._divergence import MeanNormalizedLossState as MeanNormalizedLossState
from jaxopt_lab.engine._divergence import mean_normalized_loss_rule as mean_normalized_loss_rule
from jaxopt_lab.engine._distributed import DistributedSweepError as DistributedSweepError
from jaxopt_lab.engine._errors import EngineOptionError as EngineOptionError
from jaxopt_lab.engine._errors import NotElementwise as NotElementwise
from jaxopt_lab.engine._options import Engine as Engine
from jaxopt_lab.engine._result import SweepResult as SweepResult
from jaxopt_lab.engine._status import Status as Status

__all__ = ["CheckpointError", "DistributedSweepError", "DivergenceRule", "Engine",
           "EngineOptionError", "MeanNormalizedLossState", "NotElementwise", "Status",
           "SweepResult", "mean_normalized_loss_rule", "sweep"]

# Documented (and pickled) as jaxopt_lab.engine.X, where users find them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
