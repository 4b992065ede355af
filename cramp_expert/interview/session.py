"""The question engine: what to ask now, reading the answer, back, skip, WHY, the result.

Terminal-independent: a terminal (`interview.conversation`), a web form or a test drives it
through the same calls.

    interview = Interview(consultant)
    while (prompt := interview.current()) is not None:   # a Prompt: data, or .render() as text
        interview.submit(typed)                          # or submit_items({key: text or None})
        # interview.back(), interview.skip(), interview.why(level) at any time
    interview.result()                                   # the contract's result dict
    interview.saved_file()                               # the answers as a patient file

After every answer the rule base is evaluated in three-valued logic (`reasoning.partial`): an
entry not asked yet is open, an entry answered (even "unknown") is settled. Only the open facts
on undetermined paths of rules whose outcome matters are worth asking, so relevance comes from
the rules, not from a hand-written order. knowledge/interview.yaml groups the entries into
prompts (checklists, one-line labs, ...), orders them, and says when a question applies; a
prompt shows only its items that still matter. A skipped prompt comes back at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.errors import PatientFileError
from cramp_expert.interview.answers import (
    CHECKLIST_HELP,
    FIELDS_HELP,
    LABS_HELP,
    LINE_HELP,
    read_checklist,
    read_line,
)
from cramp_expert.interview.questions import (
    UNKNOWN_ANSWERS,
    AnswerError,
    Question,
    questions,
    started_question,
)
from cramp_expert.kb.interview import PromptDecl
from cramp_expert.kb.model import FactCondition, Rule
from cramp_expert.kb.operators import operator
from cramp_expert.patient import PatientFacts, normalise_patient
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, fact_inputs, settled_absent
from cramp_expert.reasoning.partial import Liveness, PartialOutcome
from cramp_expert.render import visible
from cramp_expert.result import Consultation
from cramp_expert.source import dump_yaml

STARTED = "started"
_NOT_TAKEN = ("not_taken", "unknown")
_MULTI = ("fields", "labs", "checklist", STARTED)


@dataclass(frozen=True)
class Prompt:
    """What the clinician is asked now: one question, a checklist or a line of several entries.

    Plain data, so that a terminal renders it as text (`render()`) and a web form as inputs
    (`as_dict()`): a checklist's items as checkboxes (present, absent, unknown), a fields or
    labs line as one input per item.
    """

    id: str
    """The prompt's id in knowledge/interview.yaml (`dvt`, `labs`), or the entry's key."""
    kind: str
    """question, medications, conditions, checklist, fields, labs or started."""
    text: str
    items: tuple[Question, ...]
    """The entries asked now (only those that can still change a conclusion)."""
    number: int
    """This prompt's number in the interview (1 for the first)."""
    about: int
    """About how many prompts the interview will take, as far as can be told now."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Short name -> item key, for fields and labs lines (`K` -> `labs.potassium`)."""
    example: str = ""
    previous: str | None = None
    """The answer given before `back`, shown when the prompt is asked again."""
    extra: tuple[Question, ...] = ()
    """Items of the same prompt not asked now that a line may still give (a lab not listed)."""

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the items, as shown in brackets at the end of the prompt."""
        return tuple(q.key for q in self.items)

    @property
    def progress(self) -> str:
        """`4 of about 11`."""
        return f"{self.number} of about {max(self.about, self.number)}"

    def short_name(self, question: Question) -> str:
        """The name a line shows for an item: its first short name, or the key's last part."""
        if self.kind == STARTED:
            return str(self.items.index(question) + 1)
        names = [n for n, key in self.names.items() if key == question.key]
        return names[0] if names else question.key.rsplit(".", 1)[-1]

    def render(self) -> str:
        """The prompt as text; the last line ends with the keys in brackets and ': '."""
        keys = ", ".join(self.keys)
        head = f"({self.progress}) "
        previous = f" (before: {visible(self.previous)})" if self.previous is not None else ""
        if self.kind not in _MULTI:
            (question,) = self.items
            hint = question.hint()
            return f"{head}{question.text}{f' ({hint})' if hint else ''}{previous} [{keys}]: "
        lines = [f"{head}{self.text}{previous}"]
        if self.kind == "checklist":
            lines[0] += ": which are present?"
            lines += [f"  {i}. {q.label or q.text}" for i, q in enumerate(self.items, start=1)]
            lines.append(f"Numbers or keys present, ?N unknown, none, Enter all unknown [{keys}]: ")
            return "\n".join(lines)
        width = max(len(self.short_name(q)) for q in self.items)
        for question in self.items:
            hint = question.hint()
            lines.append(
                f"  {self.short_name(question):<{width}}  {question.text}"
                + (f" ({hint})" if hint and self.kind != "labs" else "")
                + (f" ({question.unit})" if self.kind == "labs" else "")
            )
        example = f"e.g. {self.example}; " if self.example else ""
        lines.append(f"'name value' separated by ';' ({example}Enter: all unknown) [{keys}]: ")
        return "\n".join(lines)

    def help(self) -> str:
        """How to answer this prompt, and what each item means."""
        if self.kind == "checklist":
            grammar = CHECKLIST_HELP
        elif self.kind == "labs":
            grammar = LABS_HELP
        elif self.kind == "fields":
            grammar = FIELDS_HELP
        elif self.kind == STARTED:
            grammar = LINE_HELP + " Here the name is the medicine's number or first word."
        else:
            return self.items[0].describe_help()
        # A checklist item is yes/no like every other: only its own help is worth showing.
        details = [
            f"{q.key}: {q.help if self.kind == 'checklist' else q.describe_help()}"
            for q in self.items
            if (q.help if self.kind == "checklist" else q.describe_help())
        ]
        return "\n  ".join([grammar, *details])

    def as_dict(self) -> dict[str, Any]:
        """The prompt as JSON-ready data (for a web form)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "number": self.number,
            "about": self.about,
            "previous": self.previous,
            "example": self.example,
            "items": [
                {
                    "key": q.key,
                    "text": q.text,
                    "label": q.label,
                    "kind": q.kind,
                    "name": self.short_name(q),
                    "unit": q.unit,
                    "values": list(q.values),
                    "range": list(q.range) if q.range else None,
                    "hint": q.hint(),
                    "help": q.describe_help(),
                }
                for q in self.items
            ],
            "help": self.help(),
        }


@dataclass(frozen=True)
class Answer:
    """One answered prompt: what was typed and the value each entry got (None: unknown)."""

    prompt: Prompt
    typed: str
    values: Mapping[str, Any]
    """Entry key -> value (None: unknown, or known with nothing to write)."""


@dataclass(frozen=True)
class State:
    """What is known after the answers so far, and what could still change the conclusions."""

    patient: PatientFacts
    outcome: PartialOutcome
    liveness: Liveness
    red_flag_facts: frozenset[str]


@dataclass(frozen=True)
class _Unit:
    """A prompt of the plan: declared in knowledge/interview.yaml, or one entry on its own."""

    id: str
    kind: str
    text: str
    keys: tuple[str, ...]
    position: int
    names: Mapping[str, str] = field(default_factory=dict)
    example: str = ""


class Interview:
    """One interactive consultation over a `Consultant`'s knowledge base."""

    def __init__(self, consultant: Consultant):
        self.consultant = consultant
        self.knowledge = consultant.kb.knowledge
        self.evaluator = consultant.evaluator
        self.plan = self.knowledge.interview
        edges: dict[str, list[float]] = {}
        for rule in consultant.kb.rules:
            for condition in rule.fact_conditions():
                numbers = operator(condition.op).edges(condition.value)
                edges.setdefault(condition.fact, []).extend(numbers)
        self.catalogue = questions(self.knowledge, edges)
        self._by_key = {q.key: q for q in self.catalogue}
        self._units, self._unit_of = self._build_units()
        self.history: list[Answer] = []
        self.skipped: set[str] = set()
        self.asked: list[str] = []
        """Every prompt put to the user, by id, in order (asked again counts again)."""
        self._forced: tuple[str, str] | None = None
        self._current: Prompt | None = None
        self._state: State | None = None

    def _build_units(self) -> tuple[dict[str, _Unit], dict[str, str]]:
        units: dict[str, _Unit] = {}
        unit_of: dict[str, str] = {}
        declared: list[PromptDecl] = list(self.plan.prompts)
        for position, decl in enumerate(declared):
            keys = decl.items
            if decl.kind in (MEDICATIONS, CONDITIONS):
                keys = (decl.kind,)
            kind = "question" if decl.kind in (MEDICATIONS, CONDITIONS) else decl.kind
            units[decl.id] = _Unit(
                decl.id, kind, decl.text, keys, position, decl.names, decl.example
            )
            for key in keys:
                unit_of[key] = decl.id
        if not any(u.kind == STARTED for u in units.values()):
            position = units[unit_of[MEDICATIONS]].position if MEDICATIONS in unit_of else 0
            units[STARTED] = _Unit(
                STARTED, STARTED, "When was each medicine started?", (), position
            )
        started = next(u.id for u in units.values() if u.kind == STARTED)
        unit_of[STARTED] = started
        base = len(declared)
        for index, question in enumerate(self.catalogue):
            if question.key not in unit_of:
                units[question.key] = _Unit(
                    question.key, "question", question.text, (question.key,), base + index
                )
                unit_of[question.key] = question.key
        return units, unit_of

    # --- the patient so far ------------------------------------------------------------------
    def answered(self) -> set[str]:
        """Keys of the entries answered (with a value, as unknown, or as nothing)."""
        return {key for answer in self.history for key in answer.values}

    def patient_data(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The answers as a patient file (unknown answers are simply absent)."""
        data: dict[str, Any] = {}
        values = [answer.values for answer in self.history] + ([extra] if extra else [])
        for answered in values:
            for key, value in answered.items():
                if value is not None:
                    _store(data, key, value)
        return data

    def state(self) -> State:
        """Evaluate the rules on what is known, with unasked entries open."""
        if self._state is None:
            patient = normalise_patient(self.patient_data(), self.knowledge, "<interview>")
            is_open = self._is_open(patient)
            outcome = self.evaluator.evaluate(patient.values, is_open)
            liveness = self.evaluator.live(outcome)
            facts_of = self.evaluator.open_facts_by_conclusion(outcome)
            red_flag_facts = frozenset(
                fact
                for cid, facts in facts_of.items()
                if self.knowledge.conclusions[cid].kind == "red_flag"
                for fact in facts
            )
            self._state = State(patient, outcome, liveness, red_flag_facts)
        return self._state

    def applies(self, key: str, values: Mapping[str, Any] | None = None) -> bool | None:
        """Whether the question of `key` applies (knowledge/interview.yaml `applies:`).

        None while a fact it depends on has not been asked yet.
        """
        rule = self.plan.applies.get(key)
        if rule is None:
            return True
        answered = self.answered()
        known = self.state().patient.values if values is None else values
        return rule.applies(known, settled=lambda fact: self._settled(fact, answered, known))

    def _settled(self, entry: str, answered: set[str], values: Mapping[str, Any]) -> bool:
        if entry in answered:
            return True
        rule = self.plan.applies.get(entry)
        return rule is not None and rule.applies(values, lambda f: f in answered) is False

    def _is_open(self, patient: PatientFacts) -> Callable[[str], bool]:
        values, answered = patient.values, self.answered()
        pending = self._pending_started(patient)
        closed = {
            key
            for key, rule in self.plan.applies.items()
            if key not in answered
            and rule.applies(values, lambda fact: self._settled(fact, answered, values)) is False
        }

        def is_open(fact_id: str) -> bool:
            if fact_id in values or settled_absent(fact_id, values):
                return False
            if fact_id.startswith("meds.") and fact_id.endswith(".started_months_ago"):
                return MEDICATIONS not in answered or bool(pending.get(fact_id))
            return any(
                entry not in answered and entry not in closed for entry in fact_inputs(fact_id)
            )

        return is_open

    def _pending_started(self, patient: PatientFacts) -> dict[str, list[Question]]:
        """`meds.<class>.started_months_ago` -> follow-ups not yet answered for that class."""
        answered = self.answered()
        pending: dict[str, list[Question]] = {}
        for index, entry in enumerate(patient.medications):
            if entry.get("match") in _NOT_TAKEN:
                continue
            follow_up = started_question(index, entry["input"])
            if follow_up.key in answered:
                continue
            for klass in entry.get("classes", []):
                pending.setdefault(f"meds.{klass}.started_months_ago", []).append(follow_up)
        return pending

    def _questions_for(self, fact_id: str, state: State) -> list[Question]:
        """The unanswered questions whose answers decide `fact_id`, as can be asked now."""
        answered = self.answered()
        if fact_id.startswith("meds.") and fact_id.endswith(".started_months_ago"):
            if MEDICATIONS not in answered:
                return [self._by_key[MEDICATIONS]]
            return self._pending_started(state.patient).get(fact_id, [])
        out: list[Question] = []
        for entry in fact_inputs(fact_id):
            out += self._askable(entry, state.patient.values, answered, set())
        return out

    def _askable(
        self, entry: str, values: Mapping[str, Any], answered: set[str], seen: set[str]
    ) -> list[Question]:
        """The questions to ask for `entry`: its own if it applies, nothing if it does not.

        While it depends on entries not asked yet (pregnancy on sex and age), theirs instead.
        """
        if entry in answered or entry not in self._by_key or entry in seen:
            return []
        seen.add(entry)
        applies = self.applies(entry, values)
        if applies is True:
            return [self._by_key[entry]]
        if applies is False:
            return []
        out: list[Question] = []
        for fact, _ in self.plan.applies[entry].when:
            out += self._askable(fact, values, answered, seen)
        return out

    def relevant(self) -> list[Question]:
        """The questions whose answers can still change a conclusion, in the order to ask them."""
        state = self.state()
        found: dict[str, Question] = {}
        for fact_id in state.liveness.facts:
            for question in self._questions_for(fact_id, state):
                found.setdefault(question.key, question)
        return sorted(found.values(), key=self._order)

    def _order(self, question: Question) -> tuple[Any, ...]:
        unit = self._units[self._unit_id(question)]
        return (unit.id in self.skipped, unit.position, self._item_position(unit, question))

    def _unit_id(self, question: Question) -> str:
        if question.entry is not None:
            return self._unit_of[STARTED]
        return self._unit_of[question.key]

    def _item_position(self, unit: _Unit, question: Question) -> float:
        if question.entry is not None:
            return question.entry
        return unit.keys.index(question.key) if question.key in unit.keys else 0

    # --- the prompt asked now ----------------------------------------------------------------
    def current(self) -> Prompt | None:
        """The prompt to answer now, or None when no answer could change a conclusion."""
        if self._current is None:
            self._current = self._next_prompt()
        return self._current

    @property
    def finished(self) -> bool:
        """Whether no answer could change a conclusion any more."""
        return self.current() is None

    def progress(self) -> tuple[int, int]:
        """(number of the prompt asked now, about how many prompts in all)."""
        prompt = self.current()
        if prompt is None:
            return len(self.history), len(self.history)
        return prompt.number, max(prompt.about, prompt.number)

    def _next_prompt(self) -> Prompt | None:
        relevant = self.relevant()
        by_unit: dict[str, list[Question]] = {}
        for question in relevant:
            by_unit.setdefault(self._unit_id(question), []).append(question)
        previous: str | None = None
        chosen: str | None = None
        if self._forced is not None:
            forced, previous = self._forced
            self._forced = None
            if forced in by_unit:
                chosen = forced
            else:
                previous = None
        if chosen is None:
            if not by_unit:
                return None
            chosen = next(iter(by_unit))
        unit = self._units[chosen]
        items = tuple(by_unit[chosen])
        kind = unit.kind
        if len(items) == 1 and kind in _MULTI:
            kind = "question"  # one item left: asked as a plain question
        elif kind == "question" and items[0].key in (MEDICATIONS, CONDITIONS):
            kind = items[0].key
        extra: tuple[Question, ...] = ()
        if kind in ("labs", "fields"):
            shown = {q.key for q in items}
            answered = self.answered()
            extra = tuple(
                self._by_key[key]
                for key in unit.keys
                if key not in shown and key not in answered and key in self._by_key
            )
        return Prompt(
            id=unit.id,
            kind=kind,
            text=unit.text or items[0].text,
            items=items,
            number=len(self.history) + 1,
            about=len(self.history) + len(by_unit),
            names=unit.names,
            example=unit.example,
            previous=previous,
            extra=extra,
        )

    # --- answering ---------------------------------------------------------------------------
    def read(self, prompt: Prompt, typed: str) -> dict[str, Any]:
        """The values an answer gives the prompt's entries; AnswerError if it cannot be read."""
        text = " ".join(typed.split())
        lowered = text.lower()
        if prompt.kind in ("question", MEDICATIONS, CONDITIONS):
            (question,) = prompt.items
            if lowered in UNKNOWN_ANSWERS and not (
                question.kind == "choice" and lowered in question.values
            ):
                return {question.key: None}
            try:
                return {question.key: question.read(text)}
            except AnswerError:
                # One item left of a checklist or a line: its group's grammar reads it too
                # (`findings.back_pain`, `?1`, `labs.potassium 3.4`), as a script would answer.
                grammar = self._units[prompt.id].kind
                if grammar == "checklist":
                    try:
                        return dict(read_checklist(prompt.items, text))
                    except AnswerError:
                        pass
                elif grammar in _MULTI:
                    try:
                        given = read_line(
                            prompt.items,
                            text,
                            prompt.names,
                            positional=False,
                            numbered=grammar == STARTED,
                        )
                    except AnswerError:
                        given = {}
                    if given:
                        return given
                raise
        if prompt.kind == "checklist":
            return dict(read_checklist(prompt.items, text))
        given = read_line(
            prompt.items,
            text,
            prompt.names,
            positional=prompt.kind != "labs",
            numbered=prompt.kind == STARTED,
            extra=prompt.extra,
        )
        return {**{q.key: None for q in prompt.items}, **given}

    def submit(self, typed: str) -> str:
        """Answer the current prompt with typed text; return how it was read.

        Raises AnswerError (the reason and an example) when it cannot be used; nothing is
        recorded then.
        """
        prompt = self._require()
        return self._record(prompt, typed, self.read(prompt, typed))

    def submit_items(self, answers: Mapping[str, str | None]) -> str:
        """Answer the current prompt item by item (a web form): key -> typed text or None.

        An item left out or None is unknown; a checklist item takes yes/no. Raises AnswerError
        as `submit` does, naming the item.
        """
        prompt = self._require()
        by_key = {q.key: q for q in (*prompt.items, *prompt.extra)}
        unknown = [key for key in answers if key not in by_key]
        if unknown:
            raise AnswerError(f"'{unknown[0]}' is not asked here: {', '.join(prompt.keys)}")
        values: dict[str, Any] = {q.key: None for q in prompt.items}
        for key, text in answers.items():
            if text is None or " ".join(text.split()).lower() in UNKNOWN_ANSWERS:
                values[key] = None
                continue
            try:
                values[key] = by_key[key].read(text)
            except AnswerError as exc:
                raise AnswerError(f"{key}: {exc}") from None
        return self._record(prompt, _typed(prompt, answers, values), values)

    def transcript(self) -> list[dict[str, str]]:
        """The answers so far as `{"prompt": id, "typed": text}`, in order (see `replay`)."""
        return [{"prompt": a.prompt.id, "typed": a.typed} for a in self.history]

    @classmethod
    def replay(cls, consultant: Consultant, transcript: Sequence[Mapping[str, str]]) -> Interview:
        """An interview with a transcript's answers given again, in order.

        A web form that keeps no state on the server posts the transcript back with each
        answer. Raises AnswerError when an answer no longer fits its prompt (the knowledge base
        changed, or the transcript was edited).
        """
        interview = cls(consultant)
        for number, entry in enumerate(transcript, start=1):
            # A prompt answered later than the engine would ask it was skipped: skip it again.
            prompt = interview.current()
            while (
                prompt is not None
                and prompt.id != entry.get("prompt")
                and prompt.id not in interview.skipped
            ):
                interview.skip()
                prompt = interview.current()
            if prompt is None or prompt.id != entry.get("prompt"):
                raise AnswerError(
                    f"answer {number} is for '{entry.get('prompt')}', but "
                    f"{'nothing' if prompt is None else repr(prompt.id)} is asked there"
                )
            typed = entry.get("typed", "")
            interview.submit("" if typed == "skip" else typed)  # skipped twice: unknown
        return interview

    def _require(self) -> Prompt:
        prompt = self.current()
        if prompt is None:
            raise AnswerError("the interview is finished: nothing is asked")
        return prompt

    def _record(self, prompt: Prompt, typed: str, values: dict[str, Any]) -> str:
        try:
            patient = normalise_patient(self.patient_data(values), self.knowledge, "<interview>")
        except PatientFileError as exc:
            reasons = "; ".join(
                p.message + (f" ({p.hint})" if p.hint else "") for p in exc.problems
            )
            raise AnswerError(reasons) from exc
        self._add(Answer(prompt, typed, values))
        return _read_back(prompt, values, patient)

    def skip(self) -> str:
        """Ask the current prompt later; a prompt skipped twice is left unknown."""
        prompt = self._require()
        if prompt.id in self.skipped:
            self._add(Answer(prompt, "skip", {q.key: None for q in prompt.items}))
            return "  skipped again: left unknown"
        self.skipped.add(prompt.id)
        self._changed()
        return "  skipped: asked again at the end if it still matters"

    def back(self) -> Prompt | None:
        """Undo the previous answer; return its prompt, asked again with that answer shown."""
        if not self.history:
            return None
        previous = self.history.pop()
        self._changed()
        self._forced = (previous.prompt.id, previous.typed)
        return self.current()

    def _add(self, answer: Answer) -> None:
        self.history.append(answer)
        self._changed()

    def _changed(self) -> None:
        self._state = None
        self._current = None

    # --- WHY ---------------------------------------------------------------------------------
    def why(self, level: int = 0, prompt: Prompt | None = None) -> str:
        """Why the current prompt is asked; each further level goes one step up the chain.

        Level 0 names the undetermined rules that test the answer and what each needs; each
        next level names the undetermined rules that test what the previous level concludes,
        until the conclusions the consultation reports are reached.
        """
        prompt = prompt or self.current()
        if prompt is None:
            return "  Nothing is asked."
        state = self.state()
        asked = set(prompt.keys)
        steps: list[tuple[Rule, list[str]]] = []
        for fact_id, uses in state.liveness.facts.items():
            if asked & {q.key for q in self._questions_for(fact_id, state)}:
                steps += [(rule, [_needs(leaf, negated)]) for rule, leaf, negated in uses]
        direct = _group(steps)
        if not direct:
            return "  No rule needs this answer any more."
        live = {rule.id for rule in state.liveness.rules}
        seen = {rule.id for rule, _ in direct}
        levels: list[list[Rule]] = [[rule for rule, _ in direct]]
        reached = {cid for rule in levels[0] for cid in rule.produced()}
        while True:
            previous = {cid for rule in levels[-1] for cid in rule.produced()}
            consumers = {
                rule.id: rule
                for cid in sorted(previous)
                for rule in self.evaluator.consumers(cid)
                if rule.id in live and rule.id not in seen
            }
            if not consumers:
                break
            seen |= set(consumers)
            levels.append(list(consumers.values()))
            reached |= {cid for rule in consumers.values() for cid in rule.produced()}
        if level == 0:
            lines = [f"  The answer to [{', '.join(prompt.keys)}] can settle:"]
            for rule, needs in direct:
                lines.append(f"  - rule {rule.id} ({rule.title}): needs {'; '.join(needs)}")
                lines.append(f"      {_produces(rule)}")
            return "\n".join(lines)
        if level < len(levels):
            below = {cid for rule in levels[level - 1] for cid in rule.produced()}
            lines = ["  Those matter because they are tested by:"]
            for rule in levels[level]:
                tested = ", ".join(sorted(rule.consumed() & below))
                lines.append(f"  - rule {rule.id} ({rule.title}), which tests {tested}")
                lines.append(f"      {_produces(rule)}")
            return "\n".join(lines)
        if level == len(levels):
            lines = ["  So the answer can change what the consultation reports (top of the chain):"]
            for cid in sorted(c for c in reached if c in self.evaluator.reported):
                definition = self.knowledge.conclusions[cid]
                lines.append(f"  - {cid} ({definition.kind.replace('_', ' ')}): {definition.label}")
            return "\n".join(lines)
        return (
            "  That is the aim of the consultation: the causes of the cramps, the red flags not "
            "to miss, and what to do about them."
        )

    # --- the end -----------------------------------------------------------------------------
    def run(self, io: Any) -> Consultation:
        """Put the prompts through `io` (an `InterviewIO`) until done; return the result."""
        from cramp_expert.interview.conversation import converse

        return converse(self, io)

    def saved_file(self) -> str:
        """The answers as a patient file (YAML) that, consulted, gives the same result."""
        header = (
            "Patient file written by `cramp-expert consult` (interview).\n"
            "Answers left unknown are absent: missing means unknown, never false."
        )
        return dump_yaml(self.patient_data(), header)

    def result(self) -> Consultation:
        """The consultation result for the answers given (the same as `consult` on them)."""
        return self.consultant.consult_facts(self.state().patient)


def _store(data: dict[str, Any], key: str, value: Any) -> None:
    if key.startswith(f"{MEDICATIONS}.") and key.endswith(".started_months_ago"):
        index = int(key.split(".")[1])
        entries = data[MEDICATIONS]
        entry = entries[index]
        if isinstance(entry, str):
            entry = {"name": entry}
        entries[index] = {**entry, "started_months_ago": value}
        return
    if key in (MEDICATIONS, CONDITIONS):
        data[key] = list(value)
        return
    section, _, name = key.partition(".")
    if name:
        data.setdefault(section, {})[name] = value
    else:
        data[key] = value


def _read_back(prompt: Prompt, values: Mapping[str, Any], patient: PatientFacts) -> str:
    """How an answer was read, in the clinician's words."""
    if prompt.kind in (MEDICATIONS, CONDITIONS) and values.get(prompt.kind) is None:
        return "  noted as unknown"
    if prompt.kind == MEDICATIONS:
        if not patient.medications:
            return "  noted: no regular medicines"
        read = [
            f"{m['input']} -> {m['drug'] or 'not recognised'}"
            + (f" [{', '.join(m['classes'])}]" if m.get("classes") else "")
            + (" (not taken now)" if m.get("match") == "not_taken" else "")
            for m in patient.medications
        ]
        return visible("  read as: " + "; ".join(read))
    if prompt.kind == CONDITIONS:
        if not patient.conditions:
            return "  noted: no conditions listed"
        read = [
            f"{c['input']} -> {', '.join(c['conditions']) or 'not recognised'}"
            for c in patient.conditions
        ]
        return visible("  read as: " + "; ".join(read))
    by_key = {q.key: q for q in (*prompt.items, *prompt.extra)}
    if prompt.kind == "checklist":
        present = [by_key[k].label or k for k, v in values.items() if v is True]
        unknown = [by_key[k].label or k for k, v in values.items() if v is None]
        absent = sum(1 for v in values.values() if v is False)
        if not present and not absent:
            return "  noted: all unknown"
        if not present and not unknown:
            return "  noted: none present"
        parts = [f"present: {'; '.join(present)}"] if present else []
        parts += [f"unknown: {'; '.join(unknown)}"] if unknown else []
        parts += [f"the other {absent} absent"] if absent else []
        return "  noted - " + " - ".join(parts)
    parts = []
    for key, value in values.items():
        question = by_key[key]
        name = question.label or key
        if value is None:
            if len(values) == 1:
                return "  noted" if question.words else "  noted as unknown"
            continue
        shown = patient.show(key) if key in patient.values or key in patient.shown else None
        parts.append(f"{name} {shown or _show_value(value, question)}")
    if not parts:
        return "  noted: all unknown"
    unknown_count = sum(1 for v in values.values() if v is None)
    rest = f"; {unknown_count} unknown" if unknown_count and len(values) > 1 else ""
    return visible("  read as: " + "; ".join(parts) + rest)


def _typed(prompt: Prompt, answers: Mapping[str, str | None], values: Mapping[str, Any]) -> str:
    """Item-by-item answers written in the prompt's own grammar (a transcript replays it)."""
    if prompt.kind == "checklist":
        parts = [k for k, v in values.items() if v is True]
        parts += [f"?{k}" for k, v in values.items() if v is None]
        return ", ".join(parts) if parts else "none"
    given = [(k, text) for k, text in answers.items() if text is not None and text.strip()]
    if prompt.kind in _MULTI:
        return "; ".join(f"{k} {text}" for k, text in given)
    return given[0][1] if given else ""


def _show_value(value: Any, question: Question) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    unit = f" {question.unit}" if question.unit and isinstance(value, int | float) else ""
    return f"{value}{unit}"


def _needs(leaf: FactCondition, negated: bool) -> str:
    return f"not ({leaf.describe()})" if negated else leaf.describe()


def _group(steps: Sequence[tuple[Rule, list[str]]]) -> list[tuple[Rule, list[str]]]:
    grouped: dict[str, tuple[Rule, list[str]]] = {}
    for rule, needs in steps:
        entry = grouped.setdefault(rule.id, (rule, []))
        entry[1].extend(n for n in needs if n not in entry[1])
    return list(grouped.values())


def _produces(rule: Rule) -> str:
    parts = []
    if rule.then.conclude:
        parts.append("it concludes " + ", ".join(rule.then.conclude))
    if rule.then.exclude:
        parts.append("it excludes " + ", ".join(rule.then.exclude))
    return "; ".join(parts)


__all__ = ["Answer", "Interview", "Prompt", "State"]
