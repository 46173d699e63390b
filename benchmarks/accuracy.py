"""Accuracy benchmark: every method, several seeds, real and simulated crowds.

The benchmark lives in `keras_crowd.benchmarking.accuracy` (so that
`keras-crowd benchmark` runs it from an installed package); this script runs
it from a source checkout and writes `benchmarks/RESULTS.md`.

Usage:
    python benchmarks/accuracy.py                      # everything, 5 seeds (long)
    python benchmarks/accuracy.py --datasets labelme --methods geocrowdnet-f ccem --seeds 2
    python benchmarks/accuracy.py --quick              # 1 seed, 2 epochs: smoke test
"""

import os

from keras_crowd.benchmarking.accuracy import main

if __name__ == "__main__":
    main(default_output=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
