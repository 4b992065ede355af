"""An interactive consultation: ask only what can still change a conclusion, then conclude.

After every answer the rule base is evaluated in three-valued logic (`reasoning.partial`): an
entry not asked yet is open, an entry answered (even "unknown") is settled. Only the open facts
on undetermined paths of rules whose outcome matters are worth asking, so relevance comes from
the rules, not from a hand-written order. Among those, the order is: findings that screen for a
red flag first, the rest of the history next, labs last (red-flag labs first), each group in the
patient file's order; a skipped question comes back at the end.

The interview reads and writes text through an `InterviewIO` (a terminal, piped standard input,
or a test's script) and never prints the report itself: `run()` returns the same result that
`consult FILE` gives for the answers written as a patient file (`patient_data()`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cramp_expert.api import Consultant
from cramp_expert.errors import PatientFileError
from cramp_expert.interview.questions import (
    UNKNOWN_ANSWERS,
    AnswerError,
    Question,
    questions,
    started_question,
)
from cramp_expert.kb.model import FactCondition, Rule
from cramp_expert.patient import PatientFacts, normalise_patient
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, fact_inputs, settled_absent
from cramp_expert.reasoning.partial import Liveness, PartialOutcome
from cramp_expert.source import dump_yaml

COMMANDS_HELP = (
    "At any question: 'why' (why it is asked; again to go up the chain), 'back' (change the "
    "previous answer), 'skip' (ask later), 'unknown' or an empty answer (not known), 'quit' "
    "(stop asking and conclude from what is known), 'help'."
)
_NOT_TAKEN = ("not_taken", "unknown")


class InterviewIO(Protocol):
    """Where the interview reads answers and writes what it says."""

    def ask(self, prompt: str) -> str | None:
        """Show `prompt` and return the answer typed, or None at the end of the input."""

    def say(self, text: str) -> None:
        """Show a line (or lines) of text."""


@dataclass(frozen=True)
class Answer:
    """One answered question: what was typed and the value it gave (None: unknown)."""

    question: Question
    typed: str
    value: Any


@dataclass(frozen=True)
class State:
    """What is known after the answers so far, and what could still change the conclusions."""

    patient: PatientFacts
    outcome: PartialOutcome
    liveness: Liveness
    red_flag_facts: frozenset[str]


class Interview:
    """One interactive consultation over a `Consultant`'s knowledge base."""

    def __init__(self, consultant: Consultant):
        self.consultant = consultant
        self.knowledge = consultant.kb.knowledge
        self.evaluator = consultant.evaluator
        edges: dict[str, list[float]] = {}
        for rule in consultant.kb.rules:
            for condition in rule.fact_conditions():
                refs = condition.value if condition.op == "between" else (condition.value,)
                numbers = [
                    float(r) for r in refs if isinstance(r, int | float) and not isinstance(r, bool)
                ]
                edges.setdefault(condition.fact, []).extend(numbers)
        self.catalogue = questions(self.knowledge, edges)
        self._by_key = {q.key: q for q in self.catalogue}
        self._position = {q.key: i for i, q in enumerate(self.catalogue)}
        self.history: list[Answer] = []
        self.skipped: set[str] = set()
        self.asked: list[str] = []
        """Every question put to the user, in order (a question asked again counts again)."""
        self._forced: Question | None = None
        self._state: State | None = None

    # --- the patient so far ------------------------------------------------------------------
    def answered(self) -> set[str]:
        """Keys of the questions answered (with a value or as unknown)."""
        return {answer.question.key for answer in self.history}

    def patient_data(self, extra: Answer | None = None) -> dict[str, Any]:
        """The answers as a patient file (unknown answers are simply absent)."""
        data: dict[str, Any] = {}
        for answer in [*self.history, *([extra] if extra else [])]:
            if answer.value is not None:
                _store(data, answer.question, answer.value)
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

    def _is_open(self, patient: PatientFacts) -> Callable[[str], bool]:
        values, answered = patient.values, self.answered()
        pending = self._pending_started(patient)

        def is_open(fact_id: str) -> bool:
            if fact_id in values or settled_absent(fact_id, values):
                return False
            if fact_id.startswith("meds.") and fact_id.endswith(".started_months_ago"):
                return MEDICATIONS not in answered or bool(pending.get(fact_id))
            return any(entry not in answered for entry in fact_inputs(fact_id))

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
        """The unanswered questions whose answers decide `fact_id`."""
        answered = self.answered()
        if fact_id.startswith("meds.") and fact_id.endswith(".started_months_ago"):
            if MEDICATIONS not in answered:
                return [self._by_key[MEDICATIONS]]
            return self._pending_started(state.patient).get(fact_id, [])
        return [
            self._by_key[entry]
            for entry in fact_inputs(fact_id)
            if entry not in answered and entry in self._by_key
        ]

    def relevant(self) -> list[Question]:
        """The questions whose answers can still change a conclusion, in the order to ask them."""
        state = self.state()
        found: dict[str, tuple[tuple[Any, ...], Question]] = {}
        for fact_id in state.liveness.facts:
            for question in self._questions_for(fact_id, state):
                key = self._priority(question, fact_id in state.red_flag_facts)
                if question.key not in found or key < found[question.key][0]:
                    found[question.key] = (key, question)
        return [q for _, q in sorted(found.values(), key=lambda pair: pair[0])]

    def _priority(self, question: Question, screens_red_flag: bool) -> tuple[Any, ...]:
        if question.entry is not None:  # follow-ups come right after the medication list
            position = self._position[MEDICATIONS] + 0.5 + question.entry / 1000
        else:
            position = self._position[question.key]
        return (question.key in self.skipped, question.is_lab, not screens_red_flag, position)

    def next_question(self) -> Question | None:
        """The question to ask now, or None when no answer could change a conclusion."""
        if self._forced is not None:
            forced, self._forced = self._forced, None
            return forced
        relevant = self.relevant()
        return relevant[0] if relevant else None

    # --- answering ---------------------------------------------------------------------------
    def record(self, question: Question, typed: str) -> str:
        """Record an answer; return how it was read. Raise AnswerError if it cannot be used."""
        text = typed.strip()
        if text.lower() in UNKNOWN_ANSWERS and not (
            question.kind == "choice" and text.lower() in question.values
        ):
            self._add(Answer(question, text, None))
            return "  noted as unknown"
        value = question.read(text)
        answer = Answer(question, text, value)
        try:
            patient = normalise_patient(self.patient_data(answer), self.knowledge, "<interview>")
        except PatientFileError as exc:
            reasons = "; ".join(
                p.message + (f" ({p.hint})" if p.hint else "") for p in exc.problems
            )
            raise AnswerError(reasons) from exc
        self._add(answer)
        return _read_back(question, patient)

    def skip(self, question: Question) -> str:
        """Ask later; a question skipped twice is left unknown."""
        if question.key in self.skipped:
            self._add(Answer(question, "skip", None))
            return "  skipped again: left unknown"
        self.skipped.add(question.key)
        self._state = None
        return "  skipped: asked again at the end if it still matters"

    def back(self) -> Question | None:
        """Undo the previous answer and return its question, to be asked again."""
        if not self.history:
            return None
        previous = self.history.pop()
        self._state = None
        self._forced = previous.question
        return previous.question

    def _add(self, answer: Answer) -> None:
        self.history.append(answer)
        self._state = None

    # --- WHY ---------------------------------------------------------------------------------
    def why(self, question: Question, level: int) -> str:
        """Why `question` is asked; each further level goes one step up the chain of rules.

        Level 0 names the undetermined rules that test the answer and what each needs; each
        next level names the undetermined rules that test what the previous level concludes,
        until the conclusions the consultation reports are reached.
        """
        state = self.state()
        steps: list[tuple[Rule, list[str]]] = []
        for fact_id, uses in state.liveness.facts.items():
            if question in self._questions_for(fact_id, state):
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
            lines = [f"  The answer to [{question.key}] can settle:"]
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

    # --- the whole interview -----------------------------------------------------------------
    def run(self, io: InterviewIO) -> dict[str, Any]:
        """Ask until no answer can change a conclusion (or the user quits); return the result."""
        io.say(
            "cramp-expert interview: answer each question, or type 'help'. "
            f"Of {len(self.catalogue)} questions, only those that can still change a "
            "conclusion are asked."
        )
        while (question := self.next_question()) is not None:
            if not self._ask(question, io):
                break
        return self.result()

    def _ask(self, question: Question, io: InterviewIO) -> bool:
        """Ask one question until it is answered; False when the user quits."""
        level = 0
        self.asked.append(question.key)
        while True:
            typed = io.ask(question.prompt())
            if typed is None:
                io.say("  (end of input: concluding from what is known)")
                return False
            command = typed.strip().lower()
            if command == "quit":
                io.say("  Stopped asking: concluding from what is known.")
                return False
            if command == "why":
                io.say(self.why(question, level))
                level += 1
                continue
            if command in ("help", "?"):
                io.say(f"  {question.describe_help()}\n  {COMMANDS_HELP}".replace("\n  \n", "\n"))
                continue
            if command == "back":
                previous = self.back()
                io.say(f"  Back to [{previous.key}]." if previous else "  Nothing to go back to.")
                if previous is None:
                    continue
                return True
            if command == "skip":
                io.say(self.skip(question))
                return True
            try:
                io.say(self.record(question, typed))
            except AnswerError as exc:
                io.say(f"  Not understood: {exc}. Type 'help' for what to enter.")
                continue
            return True

    def saved_file(self) -> str:
        """The answers as a patient file (YAML) that, consulted, gives the same result."""
        header = (
            "Patient file written by `cramp-expert consult` (interview).\n"
            "Answers left unknown are absent: missing means unknown, never false."
        )
        return dump_yaml(self.patient_data(), header)

    def result(self) -> dict[str, Any]:
        """The consultation result for the answers given (the same as `consult` on them)."""
        return self.consultant.consult_facts(self.state().patient)


def _store(data: dict[str, Any], question: Question, value: Any) -> None:
    if question.entry is not None:
        entries = data[MEDICATIONS]
        entry = entries[question.entry]
        if isinstance(entry, str):
            entry = {"name": entry}
        entries[question.entry] = {**entry, "started_months_ago": value}
        return
    if question.key in (MEDICATIONS, CONDITIONS):
        data[question.key] = list(value)
        return
    section, _, name = question.key.partition(".")
    if name:
        data.setdefault(section, {})[name] = value
    else:
        data[question.key] = value


def _read_back(question: Question, patient: PatientFacts) -> str:
    """How an answer was read, when it needed interpreting (medicines, conditions, labs)."""
    if question.key == MEDICATIONS:
        if not patient.medications:
            return "  noted: no regular medicines"
        read = [
            f"{m['input']} -> {m['drug'] or 'not recognised'}"
            + (f" [{', '.join(m['classes'])}]" if m.get("classes") else "")
            + (" (not taken now)" if m.get("match") == "not_taken" else "")
            for m in patient.medications
        ]
        return "  read as: " + "; ".join(read)
    if question.key == CONDITIONS:
        if not patient.conditions:
            return "  noted: no conditions listed"
        read = [
            f"{c['input']} -> {', '.join(c['conditions']) or 'not recognised'}"
            for c in patient.conditions
        ]
        return "  read as: " + "; ".join(read)
    if question.is_lab:
        return f"  read as {patient.show(question.key)}"
    return "  noted"


def _needs(leaf: FactCondition, negated: bool) -> str:
    return f"not ({leaf.describe()})" if negated else leaf.describe()


def _group(steps: list[tuple[Rule, list[str]]]) -> list[tuple[Rule, list[str]]]:
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


__all__ = ["COMMANDS_HELP", "Answer", "Interview", "InterviewIO", "State"]
