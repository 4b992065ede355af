"""The knowledge base: knowledge/ (vocabulary, medicines, units, references) and rules/ (YAML rules).

This package reads and validates them into plain, frozen Python objects. It knows YAML and the
rule language; it knows nothing about experta (see `cramp_expert.compile`).
"""

from cramp_expert.kb.knowledge import Knowledge, load_knowledge
from cramp_expert.kb.loader import KnowledgeBase, default_root, load_knowledge_base
from cramp_expert.kb.model import Condition, ConditionGroup, Example, FactCondition, Rule

__all__ = [
    "Condition",
    "ConditionGroup",
    "Example",
    "FactCondition",
    "Knowledge",
    "KnowledgeBase",
    "Rule",
    "default_root",
    "load_knowledge",
    "load_knowledge_base",
]
