"""Run a compiled knowledge base on one patient and record every firing.

Besides `cramp_expert.compile`, this is the only package that imports experta. It owns the small
fixes that experta 1.9.4 needs (deterministic agenda order, the stale-activation bug, a
per-engine conflict-set cache) and the trace: no experta object leaves this package.
"""

from cramp_expert.engine.session import Engine, EngineError, Firing

__all__ = ["Engine", "EngineError", "Firing"]
