"""The data-side subpackages need only numpy and pandas at import time."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

# Import the subpackages without running keras_crowd/__init__.py (which loads
# the Keras model code), and check nothing heavy or optional came with them.
SCRIPT = f"""
import sys, types
package = types.ModuleType("keras_crowd")
package.__path__ = [{str(REPO / "keras_crowd")!r}]
sys.modules["keras_crowd"] = package
import keras_crowd.data, keras_crowd.datasets, keras_crowd.simulators
import keras_crowd.aggregation, keras_crowd.metrics
heavy = [m for m in ("tensorflow", "tensorflow_probability", "keras", "scipy", "sklearn")
         if m in sys.modules]
print(",".join(heavy))
"""


def test_subpackages_import_without_tensorflow():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip() == ""
