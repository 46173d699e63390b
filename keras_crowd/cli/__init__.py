"""The ``keras-crowd`` command line.

Subcommands (one module each): ``train``, ``simulate``, ``aggregate``,
``evaluate``, ``export``, ``report`` and ``benchmark``. `main` is the console-script entry
point declared in ``setup.py``.

Example:

    $ keras-crowd train                  # LabelMe, default method, export + pictures
    $ keras-crowd --help
"""

import click

from keras_crowd.cli.aggregate import aggregate_command
from keras_crowd.cli.benchmark import benchmark_command
from keras_crowd.cli.common import examples_epilog
from keras_crowd.cli.evaluate import evaluate_command
from keras_crowd.cli.export import export_command
from keras_crowd.cli.report import report_command
from keras_crowd.cli.simulate import simulate_command
from keras_crowd.cli.train import train_command


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples_epilog(
        "keras-crowd train                       # LabelMe: train, compare, draw, export",
        "keras-crowd simulate --dataset music --kind class_experts -M 20 \\",
        "    --labels-per-item 3 --output crowd.csv",
        "keras-crowd aggregate crowd.csv --method dawid-skene --probabilities",
        "keras-crowd evaluate saved_models/labelme/1 --dataset labelme",
        "keras-crowd export runs/labelme/model.keras --name labelme",
        "keras-crowd report runs/labelme/model.keras --dataset labelme",
        "keras-crowd benchmark --datasets labelme --seeds 3",
    ),
)
@click.version_option(package_name="keras_crowd", prog_name="keras-crowd")
def main():
    """Train classifiers from crowdsourced labels (crowd layer, CCEM, GeoCrowdNet)."""


for _command in (train_command, simulate_command, aggregate_command, evaluate_command,
                 export_command, report_command, benchmark_command):
    main.add_command(_command)

__all__ = ["main"]
