"""`keras-crowd benchmark`: the accuracy benchmark of every method."""

import click

from keras_crowd.cli.common import examples_epilog


@click.command(
    "benchmark",
    short_help="Compare every method on real and simulated crowds.",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
    epilog=examples_epilog(
        "keras-crowd benchmark --quick                    # 1 seed, 2 epochs (smoke test)",
        "keras-crowd benchmark --datasets labelme music --seeds 5 --output RESULTS.md",
        "keras-crowd benchmark --methods geocrowdnet-f ccem dl-mv --holdout items",
        "keras-crowd benchmark --help                     # every option",
    ),
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def benchmark_command(arguments):
    """Train every method with several seeds and write a Markdown table.

    Reports test accuracy with label-free and clean-label epoch selection,
    the confusion-estimation error and wall time (see
    `keras_crowd.benchmarking.accuracy`). All ARGUMENTS are passed on; run
    `keras-crowd benchmark --help` for them.
    """
    from keras_crowd.benchmarking.accuracy import main

    main(list(arguments), default_output="RESULTS.md", prog="keras-crowd benchmark")
