"""The small fixes experta 1.9.4 needs, each shown to matter against experta's own behaviour."""

from __future__ import annotations

from experta import Fact, Rule
from experta.activation import Activation
from experta.agenda import Agenda
from experta.matchers.rete import ReteMatcher
from experta.strategies import DepthStrategy

from cramp_expert.compile import compile_knowledge_base
from cramp_expert.engine import Engine
from cramp_expert.engine.session import DeterministicDepthStrategy


def _activation(rule_id: str, fact_id: int, branch: int = 0) -> Activation:
    def action(engine):  # type: ignore[no-untyped-def]
        return None

    action.rule_id = rule_id  # type: ignore[attr-defined]
    fact = Fact(x=1)
    fact.__factid__ = fact_id
    return Activation(Rule()(action), [fact], {"branch": branch})


def _survivors(
    strategy: DepthStrategy, activations: list[Activation], cancel: int
) -> list[Activation]:
    # Activations with the same salience on the same fact, then one of them is cancelled (its
    # fact was retracted, say): it must leave the agenda.
    agenda = Agenda()
    strategy.update_agenda(agenda, activations, [])
    strategy.update_agenda(agenda, [], [activations[cancel]])
    return list(agenda.activations)


def test_experta_alone_leaves_a_cancelled_activation_behind():
    # Why the fix exists (upstream issue #3): with several equal keys experta looks for the one
    # to remove at three positions only, so a stale activation survives and fires later.
    activations = [_activation(f"rule-{n}", 1) for n in range(6)]
    assert activations[3] in _survivors(DepthStrategy(), activations, cancel=3)


def test_a_cancelled_activation_is_removed_among_many_equal_keys():
    activations = [_activation(f"rule-{n}", 1) for n in range(6)]
    assert activations[3] not in _survivors(DeterministicDepthStrategy(), activations, cancel=3)
    # Equal keys even with the rule id: one rule's branches (an `any`) on the same fact.
    branches = [_activation("rule-x", 1, branch) for branch in range(6)]
    left = _survivors(DeterministicDepthStrategy(), branches, cancel=3)
    assert branches[3] not in left and len(left) == 5


def test_ties_are_broken_by_rule_id_whatever_the_insertion_order():
    orders = set()
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        agenda = Agenda()
        strategy = DeterministicDepthStrategy()
        strategy.update_agenda(agenda, [_activation(f"rule-{n}", 1) for n in order], [])
        orders.add(tuple(a.rule.rule_id for a in agenda.activations))
    assert orders == {("rule-0", "rule-1", "rule-2", "rule-3")}


def test_each_engine_keeps_its_own_conflict_set_cache(kb):
    # experta caches the conflict-set nodes with a class-level lru_cache(maxsize=1): two engines
    # used in turn would evict each other on every call. Ours never touch that cache.
    before = ReteMatcher._get_conflict_set_nodes.cache_info()
    first, second = Engine(compile_knowledge_base(kb)), Engine(compile_knowledge_base(kb))
    facts = {"age": 70.0, "labs.potassium": 3.1}
    for _ in range(3):
        assert first.run(facts) == second.run(facts)
    after = ReteMatcher._get_conflict_set_nodes.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
    nodes = first._engine.matcher._get_conflict_set_nodes()
    assert nodes is first._engine.matcher._get_conflict_set_nodes()
    assert nodes is not second._engine.matcher._get_conflict_set_nodes()
