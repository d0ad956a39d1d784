"""Many units: rows in, one result-or-error per row out, in order, and the row renderers.

The layer under the CLI, the API (``Policy.evaluate_many``) and Dask:

* :mod:`.items` — :class:`~.items.BatchItem` (one row's result or error),
  :class:`~.items.ErrorEntry` (the error row as documents and stderr show it) and the
  :class:`~.items.Assessor` protocol a batch runs against (a ``Policy`` is one);
* :mod:`.serial` — in-process ``evaluate_many`` / ``assess_row``;
* :mod:`.spec` — what a fresh worker process needs to rebuild the policy;
* :mod:`.pool` — the worker processes (``map_units``, process-parallel ``evaluate_many``);
* :mod:`.jsonl` — JSON Lines rendering in the workers.

It imports ``runtime``, ``errors``, ``unitio`` and leaves, never ``policy`` or the
front ends: the facade calls down into it, not the other way.  This ``__init__``
imports nothing, so ``import kaohe_rules.batch.serial`` never loads multiprocessing.
"""
