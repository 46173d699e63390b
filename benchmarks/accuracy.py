"""Accuracy benchmark: every method, several seeds, real and simulated crowds.

The benchmark lives in `keras_crowd.benchmarking.accuracy` (so that
`keras-crowd benchmark` runs it from an installed package); this script runs
it from a source checkout; its default `--output` is `benchmarks/RESULTS.md`,
the record, which it only adds to with `--append` (or replaces with
`--overwrite`).

Usage:
    python benchmarks/accuracy.py --output all.md      # everything, 5 seeds (long)
    python benchmarks/accuracy.py --datasets labelme --methods geocrowdnet-f ccem --seeds 2 --append
    python benchmarks/accuracy.py --quick --output quick.md   # 1 seed, 2 epochs: smoke test
"""

import os

from keras_crowd.benchmarking.accuracy import main

if __name__ == "__main__":
    main(default_output=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
