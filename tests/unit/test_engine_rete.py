"""The engine's shorter path through experta's network fires exactly what stock experta fires."""

from __future__ import annotations

from typing import Any

import pytest
from experta import KnowledgeEngine
from experta.matchers.rete import ReteMatcher
from hypothesis import given

from cramp_expert.compile.to_experta import Derived, Patient, plain_fact
from cramp_expert.engine import Engine
from cramp_expert.engine.session import _CrampEngine
from cramp_expert.errors import InputError
from cramp_expert.patient import normalise_patient
from cramp_expert.testing import patient_files
from tests.conftest import EXAMPLES


class _StockEngine(_CrampEngine):
    """The same rules and agenda on experta's own matcher, fact list, declare(), run(), reset()."""

    __matcher__ = ReteMatcher
    declare = KnowledgeEngine.declare
    run = KnowledgeEngine.run

    def reset(self, **kwargs: Any) -> None:
        KnowledgeEngine.reset(self, **kwargs)
        self._trace()


@pytest.fixture(scope="module")
def engines(consultant):  # type: ignore[no-untyped-def]
    compiled = consultant.engine.compiled
    return Engine(compiled), _StockEngine(compiled.rules)


def _stock_run(engine: Any, values: dict[str, Any]) -> list[Any]:
    engine.reset()
    engine.declare(Patient(**dict(sorted(values.items()))))
    engine.run()
    return list(engine.firings)


def _facts(data: dict[str, Any], knowledge: Any) -> dict[str, Any] | None:
    try:
        return normalise_patient(data, knowledge).values
    except InputError:
        return None


def test_every_example_vignette_fires_alike(engines, consultant):  # type: ignore[no-untyped-def]
    fast, stock = engines
    for path in sorted(EXAMPLES.glob("*.yaml")):
        values = consultant.read_path(path).values
        assert fast.run(values) == _stock_run(stock, values), path.name


def test_generated_patients_fire_alike_firing_for_firing(engines, kb, knowledge):  # type: ignore[no-untyped-def]
    fast, stock = engines

    @given(patient_files(kb))
    def check(data: dict[str, Any]) -> None:
        values = _facts(data, knowledge)
        if values is None:
            return
        assert fast.run(values) == _stock_run(stock, values)

    check()


def test_reset_forgets_the_previous_patient(engines, consultant):  # type: ignore[no-untyped-def]
    fast, _ = engines
    paths = sorted(EXAMPLES.glob("*.yaml"))
    patients = [consultant.read_path(path).values for path in paths]
    alone = [Engine(fast.compiled).run(values) for values in patients]
    assert [fast.run(values) for values in patients] == alone
    assert [fast.run(values) for values in reversed(patients)] == list(reversed(alone))


def test_a_plain_fact_equals_the_one_experta_builds():
    fields = {"age": 70.0, "sex": "male", "cramps.sites": frozenset({"calf"}), "x": True}
    assert plain_fact(Patient, fields) == Patient(**fields)
    assert hash(plain_fact(Patient, fields)) == hash(Patient(**fields))
    assert plain_fact(Derived, {"id": "a", "kind": "cause"}) == Derived(id="a", kind="cause")
    # Anything else goes through experta's freezing, as before.
    assert plain_fact(Patient, {"codes": ["I10"]}) == Patient(codes=["I10"])


def _network_state(engine: Any) -> list[Any]:
    """Every memory of the network, in its own order, with the fact list and the agenda.

    Copies: the network changes its memories in place as the next patient goes through.
    """
    matcher = engine.matcher
    memories = [
        {
            name: getattr(node, name).copy()
            for name in ("memory", "left_memory", "right_memory")
            if hasattr(node, name)
        }
        for node in matcher._nodes()
    ]
    facts = [(index, dict(fact), type(fact)) for index, fact in engine.facts.items()]
    agenda = [
        (getattr(a.rule, "rule_id", None), set(a.facts), dict(a.context), a.key)
        for a in engine.agenda.activations
    ]
    return [memories, facts, agenda]


def test_a_restored_reset_leaves_the_network_as_a_full_reset_does(consultant):  # type: ignore[no-untyped-def]
    engine = Engine(consultant.engine.compiled)
    for path in sorted(EXAMPLES.glob("*.yaml")):
        values = consultant.read_path(path).values
        engine.run(values)
        engine._engine.reset()  # a reset after the first restores what the first one left
        restored = _network_state(engine._engine)
        engine.run(values)
        engine._engine._initial = None
        engine._engine.reset()  # the initial fact through the network again
        assert engine._engine._initial is not None
        assert _network_state(engine._engine) == restored


def test_a_conclusion_fact_equals_the_one_experta_builds():
    from cramp_expert.compile.to_experta import Excluded, _fact

    for kind, fields in ((Derived, {"id": "x", "kind": "cause"}), (Excluded, {"id": "y"})):
        made, stock = _fact(kind, fields), kind(**fields)
        assert made == stock and type(made) is kind and vars(made) == vars(stock)
