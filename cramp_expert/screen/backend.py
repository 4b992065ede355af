"""Screening one patient: the engine chosen, the summary record, and the audit against experta.

`Screener.screen` gives a patient's screening record (`screen.summary`) from the rules that fire:

- on experta (`engine="experta"`, the default): the engine every consultation uses, without the
  trace, the explanations or robustness;
- on the compiled back end (`engine="compiled"`, opt-in): the same rules as plain-Python closures
  (`screen.compiled`), audited in every run. The first record and one in every `audit_every`
  after it (records 1, 101, 201, ... with the default 100: a fixed share that does not depend on
  how the input is split among workers), and every patient the compiled rules give an emergency
  or urgent red flag, are run through experta as well. The rules fired and the records must be
  the same; otherwise `AuditDisagreement` is raised, and batch writes it as the record's error
  line: a difference is never silent. An audited record says so (`"audited": true`).

A patient that experta would flag as emergency or urgent but the compiled rules would not is
caught only by the sampled share; the property suite (tests/screen) holds the two equal on
generated patients, which is what makes the sample an audit rather than the only check.
"""

from __future__ import annotations

from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.patient import PatientFacts
from cramp_expert.screen.compiled import CompiledRules
from cramp_expert.screen.summary import Summariser, severe

ENGINES = ("experta", "compiled")
AUDIT_EVERY = 100
"""One record in this many is re-run through experta by the compiled back end."""


class AuditDisagreement(Exception):
    """The compiled back end and experta gave a patient different results (a bug to report)."""

    def __init__(self, only_compiled: list[str], only_experta: list[str], detail: str = ""):
        self.only_compiled = only_compiled
        self.only_experta = only_experta
        parts = []
        if only_compiled:
            parts.append(f"rules fired by the compiled back end only: {', '.join(only_compiled)}")
        if only_experta:
            parts.append(f"rules fired by experta only: {', '.join(only_experta)}")
        if detail:
            parts.append(detail)
        super().__init__(
            "audit: the compiled back end and experta disagree ("
            + "; ".join(parts)
            + "); please report it"
        )


class Screener:
    """Screening records for one consultant's knowledge base, on the engine chosen."""

    def __init__(
        self, consultant: Consultant, engine: str = "experta", audit_every: int = AUDIT_EVERY
    ):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if audit_every < 1:
            raise ValueError("the compiled back end is audited in every run (audit_every >= 1)")
        self.consultant = consultant
        self.engine = engine
        self.audit_every = audit_every
        self.summariser = Summariser(consultant.kb)
        self.compiled = CompiledRules(consultant.kb) if engine == "compiled" else None
        self.audited = 0
        """Records re-run through experta so far (the audit's share, for the benchmark)."""

    def experta_fired(self, patient: PatientFacts) -> list[str]:
        """The rules experta fires on the patient, each once, in firing order."""
        return list(dict.fromkeys(f.rule_id for f in self.consultant.engine.run(patient.values)))

    def screen(self, patient: PatientFacts, number: int) -> dict[str, Any]:
        """The screening record of record `number` (1-based) of a run (raises AuditDisagreement)."""
        if self.compiled is None:
            return self.summariser.summary(patient, self.experta_fired(patient))
        fired = self.compiled.fired(patient.values)
        record = self.summariser.summary(patient, fired)
        if (number - 1) % self.audit_every == 0 or severe(record):
            self.audit(patient, fired, record)
            record["audited"] = True
        return record

    def audit(self, patient: PatientFacts, fired: list[str], record: dict[str, Any]) -> None:
        """Run the patient through experta; raise AuditDisagreement unless all is the same."""
        self.audited += 1
        by_experta = self.experta_fired(patient)
        if set(by_experta) != set(fired):
            raise AuditDisagreement(
                sorted(set(fired) - set(by_experta)), sorted(set(by_experta) - set(fired))
            )
        # Worked out afresh from experta's rules: the audit checks the summariser's cache too.
        if self.summariser.fresh_summary(patient, by_experta) != record:
            raise AuditDisagreement([], [], "the same rules fired but the records differ")


__all__ = ["AUDIT_EVERY", "ENGINES", "AuditDisagreement", "Screener"]
