"""Optimizers for large crowds.

- `LazyAdam`: Adam that updates only the rows present in a sparse
  (`tf.IndexedSlices`) gradient, so the `(M, K, K)` confusion logits of a
  crowd of 10^5 annotators cost `O(B * R * K^2)` per step, not `O(M * K^2)`.
"""

from keras_crowd.optimizers.lazy_adam import LazyAdam
