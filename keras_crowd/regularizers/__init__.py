"""Identifiability regularizers for crowd models.

- `GeoCrowdNetF`: `-lambda * log det(F F^T)` on the batch's predictions.
- `GeoCrowdNetW`: `-lambda * log det(W^T W)` on the stacked confusions.
- `TraceRegularizer`: `lambda * sum_m trace(A_m)` (Tanno et al., 2019).
- `DirichletPrior`: pseudo-counts on every confusion column (MAP estimate).

`CrowdModel(regularizer=[...])` adds several of them.
"""

from keras_crowd.regularizers.base import CrowdRegularizer
from keras_crowd.regularizers.base import checked_strength
from keras_crowd.regularizers.base import get
from keras_crowd.regularizers.dirichlet import DirichletPrior
from keras_crowd.regularizers.geocrowdnet import GeoCrowdNetF
from keras_crowd.regularizers.geocrowdnet import GeoCrowdNetW
from keras_crowd.regularizers.log_det import guarded_log_det
from keras_crowd.regularizers.trace import TraceRegularizer
