"""Sweeps: claims x laws x parameters x sample sizes x seeds on dask.distributed.

``grid`` names the items, ``store`` keeps their results on disk as they arrive
(resumable), ``engine`` runs them on an embedded LocalCluster or a running
scheduler, ``report`` measures false-failure and rejection rates.  Nothing heavy
is imported until a sweep runs.
"""

from zoverify.sweep.engine import SchedulerUnreachableError as SchedulerUnreachableError
from zoverify.sweep.engine import SweepSummary as SweepSummary
from zoverify.sweep.engine import open_client as open_client
from zoverify.sweep.engine import run_dask as run_dask
from zoverify.sweep.engine import run_item as run_item
from zoverify.sweep.engine import run_serial as run_serial
from zoverify.sweep.grid import Item as Item
from zoverify.sweep.grid import build_items as build_items
from zoverify.sweep.grid import load_grid_file as load_grid_file
from zoverify.sweep.grid import parse_seeds as parse_seeds
from zoverify.sweep.report import clopper_pearson as clopper_pearson
from zoverify.sweep.report import control_rates as control_rates
from zoverify.sweep.report import pair_rates as pair_rates
from zoverify.sweep.report import write_reports as write_reports
from zoverify.sweep.store import ResultStore as ResultStore

__all__ = [
    "Item",
    "ResultStore",
    "SchedulerUnreachableError",
    "SweepSummary",
    "build_items",
    "clopper_pearson",
    "control_rates",
    "load_grid_file",
    "open_client",
    "pair_rates",
    "parse_seeds",
    "run_dask",
    "run_item",
    "run_serial",
    "write_reports",
]
