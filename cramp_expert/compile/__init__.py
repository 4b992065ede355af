"""Compile a validated knowledge base into an experta engine (the only place rules become code).

`predicates` turns a fact condition into a total Python predicate; `to_experta` turns every rule
into an `experta.Rule` whose conditions are experta patterns over one `Patient` fact and the
`Derived` facts that other rules assert.
"""

from cramp_expert.compile.predicates import evaluate, predicate
from cramp_expert.compile.to_experta import CompiledKnowledgeBase, compile_knowledge_base

__all__ = ["CompiledKnowledgeBase", "compile_knowledge_base", "evaluate", "predicate"]
