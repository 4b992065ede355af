"""The consultation result as typed, immutable values: the one place its shape is written.

`consultation.build_result` makes a `Consultation`; every consumer (text report, explanations,
robustness, batch, verifier, interview, tests) reads its fields. `Consultation.to_dict()` is
the contract's JSON result (key order included) and `to_json()` its text, byte for byte what
`consult --format json` has always printed. What is derived from the sections (the ids
concluded, what the rules saw as asserted, the rules fired) is computed here, once per result.

Adding a key to the contract is adding a field here and one line to its `to_dict()`; nothing
else writes a section's name or an item's keys.

Results share their immutable parts (equal trace entries and fact entries, references,
dependences are one object across results: `consultation.py`, `reasoning.robustness`).
`to_dict(shared=...)` lets a writer put its own value in place of such a part's dict (batch: the
part's JSON, encoded once per object and spliced into each line; `screen.records`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

from cramp_expert.problems import lookup

SECTIONS = ("red_flags", "causes", "differentials", "recommendations", "investigations")
"""The result's lists of concluded ids, in the contract's order."""


_SCALARS = frozenset((str, int, float, bool, type(None)))
"""The JSON values `freeze` and `thaw` leave as they are: tested first, by exact type, because
`isinstance(value, Mapping)` (an abstract class) is slow and every trace entry's value goes
through `thaw` when a result is written."""


def freeze(value: Any) -> Any:
    """JSON-shaped data made read-only: dicts become read-only mappings, lists tuples."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """What `freeze` made, as plain dicts and lists again (a fresh copy)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    # What freeze made, by exact type first (isinstance with an abstract class is slow).
    if kind is tuple:
        return [thaw(item) for item in value]
    if kind is MappingProxyType or isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class KnowledgeBaseInfo:
    """Which knowledge base and engine gave the result."""

    version: str
    digest: str
    engine: str
    rules: int
    certainty_threshold: float

    def to_dict(self) -> dict[str, Any]:
        """The contract's `knowledge_base` object."""
        return {
            "version": self.version,
            "digest": self.digest,
            "engine": self.engine,
            "rules": self.rules,
            "certainty_threshold": self.certainty_threshold,
        }


@dataclass(frozen=True)
class RedFlag:
    """A finding that needs a clinician's action, with its urgency."""

    id: str
    label: str
    urgency: str
    action: str
    reason: str
    evidence: str
    because: tuple[str, ...]
    references: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's red-flag object."""
        return {
            "id": self.id,
            "label": self.label,
            "urgency": self.urgency,
            "action": self.action,
            "reason": self.reason,
            "evidence": self.evidence,
            "because": list(self.because),
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Cause:
    """A likely cause with its combined certainty."""

    id: str
    label: str
    certainty: float
    evidence: str
    nature: str
    reason: str
    because: tuple[str, ...]
    references: tuple[str, ...]
    held: bool = False
    """A drug cause whose line says the drug is held (a red flag holds it; brief 8.2)."""

    def to_dict(self) -> dict[str, Any]:
        """The contract's cause object (with the project's `held` key)."""
        return {
            "id": self.id,
            "label": self.label,
            "certainty": self.certainty,
            "evidence": self.evidence,
            "nature": self.nature,
            "reason": self.reason,
            "because": list(self.because),
            "references": list(self.references),
            "held": self.held,
        }


@dataclass(frozen=True)
class Differential:
    """Another condition to consider, with what to do about it."""

    id: str
    label: str
    reason: str
    action: str
    evidence: str
    because: tuple[str, ...]
    references: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's differential object."""
        return {
            "id": self.id,
            "label": self.label,
            "reason": self.reason,
            "action": self.action,
            "evidence": self.evidence,
            "because": list(self.because),
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Recommendation:
    """Advice for the patient or the clinician."""

    id: str
    label: str
    text: str
    reason: str
    evidence: str
    references: tuple[str, ...]
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's recommendation object."""
        return {
            "id": self.id,
            "label": self.label,
            "text": self.text,
            "reason": self.reason,
            "evidence": self.evidence,
            "references": list(self.references),
            "because": list(self.because),
        }


@dataclass(frozen=True)
class Investigation:
    """A test to order, with why."""

    id: str
    label: str
    reason: str
    text: str
    evidence: str
    references: tuple[str, ...]
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's investigation object."""
        return {
            "id": self.id,
            "label": self.label,
            "reason": self.reason,
            "text": self.text,
            "evidence": self.evidence,
            "references": list(self.references),
            "because": list(self.because),
        }


Concluded = RedFlag | Cause | Differential | Recommendation | Investigation
"""An item of one of the result's lists of concluded ids."""


@dataclass(frozen=True)
class Excluded:
    """A cause a measurement excluded."""

    id: str
    label: str
    reason: str
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's excluded object."""
        return {
            "id": self.id,
            "label": self.label,
            "reason": self.reason,
            "because": list(self.because),
        }


@dataclass(frozen=True)
class Warning:
    """A remark about the input or the rules that did not stop the consultation."""

    code: str
    """A code of the registry (`cramp_expert.problems`); any other is refused when made."""
    message: str
    where: str

    def __post_init__(self) -> None:
        lookup(self.code)

    def to_dict(self) -> dict[str, Any]:
        """The contract's warning object."""
        return {"code": self.code, "message": self.message, "where": self.where}


@dataclass(frozen=True)
class FactMatch:
    """A patient fact a fired rule tested, with its value as the rule saw it."""

    fact: str
    value: Any
    """A number, string, bool, sorted tuple of strings, or None when unknown (frozen JSON)."""
    shown: str
    condition: str
    holds: bool
    text: str
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The trace's fact entry."""
        entry: dict[str, Any] = {
            "fact": self.fact,
            "value": thaw(self.value),
            "shown": self.shown,
            "condition": self.condition,
            "holds": self.holds,
            "text": self.text,
        }
        if self.negated:
            entry["negated"] = True
        return entry


@dataclass(frozen=True)
class ConclusionMatch:
    """A `concluded: ID` test of a fired rule."""

    concluded: str
    holds: bool
    text: str
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The trace's conclusion entry."""
        if self.negated:
            return {
                "concluded": self.concluded,
                "holds": self.holds,
                "negated": True,
                "text": self.text,
            }
        return {"concluded": self.concluded, "holds": self.holds, "text": self.text}


@dataclass(frozen=True)
class GroupMatch:
    """A group of conditions inside a `none` that was checked and found not to hold."""

    condition: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The trace's group entry."""
        return {"condition": self.condition, "holds": False, "negated": True, "text": self.text}


Match = FactMatch | ConclusionMatch | GroupMatch

Shared = Callable[[Any], Any]
"""What `to_dict(shared=...)` writes in place of a shared part's dict: called with the part (a
TraceEntry, a trace's fact entry, a Reference or a Dependence), whose `to_dict()` it stands for."""


@dataclass(frozen=True)
class TraceEntry:
    """One firing of a rule: what it matched and what it asserted."""

    rule: str
    title: str
    facts: tuple[Match, ...]
    patient_fact: bool
    """True when experta matched the patient's fact for this firing."""
    conclusion_facts: tuple[str, ...]
    """The ids of the other rules' conclusions experta matched."""
    asserted: tuple[str, ...]
    excluded: tuple[str, ...]
    certainty: float
    evidence: str
    references: tuple[str, ...]

    @property
    def matched(self) -> list[str]:
        """The matched facts as one line each."""
        return [entry.text for entry in self.facts]

    def to_dict(self, shared: Shared | None = None) -> dict[str, Any]:
        """The contract's trace entry (`shared`: see `Shared`; its fact entries through it)."""
        return {
            "rule": self.rule,
            "title": self.title,
            "matched": [entry.text for entry in self.facts],  # self.matched, without a call
            "facts": (
                [entry.to_dict() for entry in self.facts]
                if shared is None
                else [shared(entry) for entry in self.facts]
            ),
            "activation": {
                "patient_fact": self.patient_fact,
                "conclusion_facts": list(self.conclusion_facts),
            },
            "asserted": list(self.asserted),
            "excluded": list(self.excluded),
            "certainty": self.certainty,
            "evidence": self.evidence,
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Reference:
    """A cited source."""

    key: str
    citation: str

    def to_dict(self) -> dict[str, Any]:
        """The contract's reference object."""
        return {"key": self.key, "citation": self.citation}


@dataclass(frozen=True)
class Interpreted:
    """How the patient's medications, conditions and labs were read (frozen JSON entries)."""

    medications: tuple[Mapping[str, Any], ...]
    conditions: tuple[Mapping[str, Any], ...]
    labs: Mapping[str, Mapping[str, Any]]
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys another reader adds (`fhir`: the FHIR resources read and not used; cramp_expert/fhir)."""

    def to_dict(self) -> dict[str, Any]:
        """The contract's `interpreted` object."""
        return {
            "medications": thaw(self.medications),
            "conditions": thaw(self.conditions),
            "labs": thaw(self.labs),
            **thaw(self.extra),
        }


@dataclass(frozen=True)
class Dependence:
    """An id whose presence depends on facts not given."""

    id: str
    concluded: bool
    could: str
    facts: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The robustness section's dependence object."""
        return {
            "id": self.id,
            "concluded": self.concluded,
            "could": self.could,
            "facts": list(self.facts),
        }


@dataclass(frozen=True)
class NextStep:
    """The missing fact that would decide the most."""

    fact: str
    ask: tuple[str, ...]
    action: str
    decides: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The robustness section's `most_informative` object."""
        return {
            "fact": self.fact,
            "ask": list(self.ask),
            "action": self.action,
            "decides": list(self.decides),
            "text": self.text,
        }


@dataclass(frozen=True)
class Robustness:
    """What holds whatever the unknown facts are, what depends on them, what to ask next."""

    unknown_facts: int
    holds_regardless: tuple[str, ...]
    depends_on_unknowns: tuple[Dependence, ...]
    most_informative: NextStep | None

    def to_dict(self, shared: Shared | None = None) -> dict[str, Any]:
        """The contract's `robustness` object (`shared`: see `Shared`; the dependences)."""
        return {
            "unknown_facts": self.unknown_facts,
            "holds_regardless": list(self.holds_regardless),
            "depends_on_unknowns": (
                [d.to_dict() for d in self.depends_on_unknowns]
                if shared is None
                else [shared(d) for d in self.depends_on_unknowns]
            ),
            "most_informative": (
                self.most_informative.to_dict() if self.most_informative is not None else None
            ),
        }


@dataclass(frozen=True)
class Consultation:
    """One consultation's result: the contract's JSON result as typed, immutable values."""

    patient_id: str | None
    knowledge_base: KnowledgeBaseInfo
    red_flags: tuple[RedFlag, ...]
    causes: tuple[Cause, ...]
    excluded: tuple[Excluded, ...]
    differentials: tuple[Differential, ...]
    recommendations: tuple[Recommendation, ...]
    investigations: tuple[Investigation, ...]
    interpreted: Interpreted
    warnings: tuple[Warning, ...]
    trace: tuple[TraceEntry, ...]
    references: tuple[Reference, ...]
    robustness: Robustness | None = field(default=None)
    """None when the consultation skipped it (rule examples, the verifier)."""

    def section(self, name: str) -> tuple[Concluded, ...]:
        """One of the lists of concluded ids, by its contract name (see SECTIONS)."""
        if name not in SECTIONS:
            raise KeyError(name)
        items: tuple[Concluded, ...] = getattr(self, name)
        return items

    def items(self) -> Iterator[tuple[str, Concluded]]:
        """Every concluded item with its section's name, sections in the contract's order."""
        for name in SECTIONS:
            for item in self.section(name):
                yield name, item

    def find(self, cid: str) -> tuple[str, Concluded | Excluded] | None:
        """The section and item of `cid`, concluded or excluded, or None."""
        for name, item in self.items():
            if item.id == cid:
                return name, item
        for excluded in self.excluded:
            if excluded.id == cid:
                return "excluded", excluded
        return None

    @cached_property
    def concluded(self) -> frozenset[str]:
        """Every id the result concludes (red flags, causes, differentials, advice, tests)."""
        return frozenset(item.id for _, item in self.items())

    @cached_property
    def excluded_ids(self) -> frozenset[str]:
        """The causes a measurement excluded."""
        return frozenset(item.id for item in self.excluded)

    @cached_property
    def asserted(self) -> frozenset[str]:
        """What a rule's `concluded: ID` saw: asserted by a firing and excluded by none.

        Includes intermediate states, which no list of the result shows.
        """
        asserted = {c for entry in self.trace for c in entry.asserted}
        return frozenset(asserted - {x for entry in self.trace for x in entry.excluded})

    @cached_property
    def rules_fired(self) -> tuple[str, ...]:
        """The distinct rules that fired, in the order they first fired."""
        return tuple(dict.fromkeys(entry.rule for entry in self.trace))

    def with_robustness(self, robustness: Robustness) -> Consultation:
        """This result with its robustness section."""
        return replace(self, robustness=robustness)

    def to_dict(self, shared: Shared | None = None) -> dict[str, Any]:
        """The contract's JSON result, as plain dicts and lists in the contract's key order.

        `shared` (see `Shared`) stands for the dicts of the parts results share: trace entries
        and their fact entries, references, dependences; None (the contract): their `to_dict()`.
        """
        if shared is None:
            trace = [entry.to_dict() for entry in self.trace]
            references = [ref.to_dict() for ref in self.references]
        else:
            trace = [shared(entry) for entry in self.trace]
            references = [shared(ref) for ref in self.references]
        result: dict[str, Any] = {
            "patient_id": self.patient_id,
            "knowledge_base": self.knowledge_base.to_dict(),
            "red_flags": [item.to_dict() for item in self.red_flags],
            "causes": [item.to_dict() for item in self.causes],
            "excluded": [item.to_dict() for item in self.excluded],
            "differentials": [item.to_dict() for item in self.differentials],
            "recommendations": [item.to_dict() for item in self.recommendations],
            "investigations": [item.to_dict() for item in self.investigations],
            "interpreted": self.interpreted.to_dict(),
            "warnings": [item.to_dict() for item in self.warnings],
            "trace": trace,
            "references": references,
        }
        if self.robustness is not None:
            result["robustness"] = self.robustness.to_dict(shared)
        return result

    def to_json(self, *, indent: int | None = 2) -> str:
        """The contract's JSON text (`indent=None`: one line, as batch writes it)."""
        if indent is None:
            return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


__all__ = [
    "SECTIONS",
    "Cause",
    "Concluded",
    "ConclusionMatch",
    "Consultation",
    "Dependence",
    "Differential",
    "Excluded",
    "FactMatch",
    "GroupMatch",
    "Interpreted",
    "Investigation",
    "KnowledgeBaseInfo",
    "Match",
    "NextStep",
    "Recommendation",
    "RedFlag",
    "Reference",
    "Robustness",
    "Shared",
    "TraceEntry",
    "Warning",
    "freeze",
    "thaw",
]
