"""The small fixes experta 1.9.4 needs, each shown to matter against experta's own behaviour."""

from __future__ import annotations

import pytest
from experta import DefFacts, Fact, Field, KnowledgeEngine, L, Rule
from experta.activation import Activation
from experta.agenda import Agenda
from experta.matchers.rete import ReteMatcher
from experta.strategies import DepthStrategy

from cramp_expert.compile import compile_knowledge_base
from cramp_expert.engine import Engine
from cramp_expert.engine.rete import DISPATCH_FROM
from cramp_expert.engine.session import DeterministicDepthStrategy, _CrampEngine


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


# --- where the project's engine takes a shorter path than experta, experta's meaning is kept --
# Each scenario runs in stock experta and in the project's engine (its matcher, strategy and
# engine class) and must fire the same rules. The engine's own facts (Patient, Derived,
# Excluded) take the short path; these are the cases a knowledge base never produces today.


class _Defaulted(Fact):  # type: ignore[misc]
    colour = Field(str, default="red")


def _scenario_rules(names: list[str], pattern_of) -> dict[str, Rule]:  # type: ignore[no-untyped-def]
    rules = {}
    for name in names:

        def action(engine, _name=name):  # type: ignore[no-untyped-def]
            engine.fired.append(_name)

        rules[name] = Rule(pattern_of(name))(action)
    return rules


def _fired_stock(rules: dict[str, Rule], facts: list[Fact]) -> list[str]:
    engine = type("Stock", (KnowledgeEngine,), dict(rules))()
    engine.fired = []
    engine.reset()
    engine.declare(*facts)
    engine.run()
    return sorted(engine.fired)


def _fired_ours(rules: dict[str, Rule], facts: list[Fact]) -> list[str]:
    engine = _CrampEngine(tuple(rules.values()))
    engine.fired = []
    engine.reset()
    engine.declare(*facts)
    engine.run()
    return sorted(engine.fired)


@pytest.mark.parametrize("tests", [1, DISPATCH_FROM + 2], ids=["few tests", "dispatched"])
def test_a_declared_fields_default_is_matched_as_experta_matches_it(tests):
    # The fact does not hold `colour`; its class declares it with a default, which experta's
    # field test reads. A parent with many field tests dispatches on the fact's own keys.
    names = [f"rule-{n}" for n in range(tests)]
    rules = _scenario_rules(
        names, lambda name: _Defaulted(colour="red", size=int(name.split("-")[1]) >= 0)
    )
    facts = [_Defaulted(size=True)]
    assert _fired_stock(rules, facts) == names
    assert _fired_ours(rules, facts) == names


class _LooseEqual:
    """Equal to every `rule-N` text, with a hash of its own: a lookup by hash would miss it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("rule-")

    def __hash__(self) -> int:
        return 7


@pytest.mark.parametrize("tests", [1, DISPATCH_FROM + 2], ids=["few tests", "dispatched"])
def test_a_literal_is_matched_by_equality_not_by_hash(tests):
    # One literal test per rule on the same field: past DISPATCH_FROM of them, the project's
    # matcher picks the tests to run by the fact's value.
    names = [f"rule-{n}" for n in range(tests)]
    rules = _scenario_rules(names, lambda name: Fact(site=name))
    facts = [Fact(site=_LooseEqual())]
    assert _fired_stock(rules, facts) == names
    assert _fired_ours(rules, facts) == names


class _Started(_CrampEngine):
    """An engine with deffacts: `self` in them must be the engine being reset."""

    @DefFacts()
    def start(self):  # type: ignore[no-untyped-def]
        yield Fact(engine=self.label)


class _StockStarted(KnowledgeEngine):
    @DefFacts()
    def start(self):  # type: ignore[no-untyped-def]
        yield Fact(engine=self.label)


@pytest.mark.parametrize("kind", [_StockStarted, _Started], ids=["stock", "ours"])
def test_deffacts_run_for_the_engine_being_reset_whatever_other_engines_exist(kind):
    def engine(label: str):  # type: ignore[no-untyped-def]
        made = kind() if kind is _StockStarted else kind(())
        made.label = label
        return made

    first, second = engine("first"), engine("second")
    first.reset()
    second.reset()
    first.reset()  # after the other engine of the class looked its deffacts up
    assert [f["engine"] for f in first.facts.values() if "engine" in f] == ["first"]
    assert [f["engine"] for f in second.facts.values() if "engine" in f] == ["second"]


@pytest.mark.parametrize(
    ("fact", "error"),
    [(Fact(a=L(1)), TypeError), (Fact(a__b=1), KeyError)],
    ids=["a pattern as a value", "a nested accessor as a key"],
)
def test_declare_refuses_what_experta_refuses(fact, error):
    stock = KnowledgeEngine()
    stock.reset()
    with pytest.raises(error):
        stock.declare(fact)
    ours = _CrampEngine(())
    ours.reset()
    with pytest.raises(error):
        ours.declare(fact)
