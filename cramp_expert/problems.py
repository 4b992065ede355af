"""The registry of problem codes: every code the package reports, declared once, in full.

Each entry gives the code (`R303`), its severity, a one-line summary and its documentation (what
it means, an example, how to fix it), as ansible-lint's rules and ruff's codes do. Whatever
reports a problem names its entry by the full code (`check.fail("R303", ...)`), and a `Problem`
or warning with a code missing here is refused when it is made (`lookup`), so a code cannot be
reported without being documented. docs/problems.md is generated from this table
(`cramp-expert kb docs --problems`; tests/test_docs.py fails when it is stale).

The first letter says what was being read: E any YAML or JSON file, K a knowledge file, R a
rule file, P a patient file (also an example's `patient:` block), B a batch input, W a warning
in a consultation's result. The hundreds group them: 1xx reading the file, 2xx its shape, 3xx
names and types, 4xx logic, 5xx examples, 6xx suppressions.

This module imports nothing of the package: every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
"""Only an error makes a command fail (exit status 1); warnings and notes are printed."""

Stage = Literal["read", "knowledge", "rule", "patient", "validate", "check", "batch", "consult"]
STAGES: dict[str, str] = {
    "read": "reading any YAML or JSON file",
    "knowledge": "reading a knowledge file (kb validate, and every command that loads one)",
    "rule": "reading a rule file (kb validate, and every command that loads one)",
    "validate": "the checks of `kb validate` beyond reading",
    "check": "`kb check`'s verification of the rule base as a whole",
    "patient": "reading a patient file (consult, batch, an example's `patient:` block)",
    "batch": "reading a batch input (`cramp-expert batch`)",
    "consult": "a warning in a consultation's result (the consultation still runs)",
}


@dataclass(frozen=True)
class Code:
    """One problem code: what it is called, how grave it is and what to do about it."""

    code: str
    severity: Severity
    summary: str
    """One line, lower case, no full stop: the heading in the reference."""
    meaning: str
    """What the problem is (Markdown)."""
    example: str
    """A short input that has the problem (YAML or text, shown as code)."""
    fix: str
    """How to make it go away (Markdown)."""
    stage: Stage
    suppressible: bool = False
    """Whether a rule file may silence it (`suppress:`): only findings about a rule that was
    read in full, never a problem that stops the file being read."""


class Shape(NamedTuple):
    """The four shape codes one kind of file uses (`validate.Checker`'s shared checks)."""

    wrong_type: str
    unknown_key: str
    missing_key: str
    not_allowed: str


def _c(
    code: str,
    severity: Severity,
    stage: Stage,
    summary: str,
    meaning: str,
    example: str,
    fix: str,
    *,
    suppressible: bool = False,
) -> Code:
    return Code(code, severity, summary, meaning, example.strip("\n"), fix, stage, suppressible)


_ENTRIES = (
    # --- E: any file -----------------------------------------------------------------------------
    _c(
        "E100",
        "error",
        "read",
        "the file cannot be read",
        "Missing, a folder, not UTF-8 (the message names the byte), UTF-16, binary (NUL bytes) "
        "or larger than 2 MiB (reading stops there). Also a JSON text escape of half a UTF-16 "
        'surrogate pair (`"\\ud800"`), which could not be printed; an argument (`--kb`, '
        "`--cases`) naming no folder; a batch record too large to consult.",
        "cramp-expert consult pateint.yaml   # no such file",
        "Name a file that exists; save it as UTF-8 text.",
    ),
    _c(
        "E101",
        "error",
        "read",
        "YAML or JSON syntax error",
        "The message names the line and column where the parser gave up (often just after the "
        "mistake: an unclosed `[` or quote, a tab used for indentation, which the hint names). "
        "Also: a control character (located where it first appears), an empty file, a file with "
        "no data, a file with several YAML documents (`---`, located where the second starts).",
        "medications: [ramipril, amlodipine",
        "Close the bracket or quote the parser names; indent with spaces.",
    ),
    _c(
        "E102",
        "error",
        "read",
        "duplicate key",
        "The same key twice in one mapping. YAML would silently keep the last one; the first is "
        "kept and the duplicate reported, so the rest of the file is still checked.",
        "age: 54\nage: 45",
        "Keep one of the two.",
    ),
    _c(
        "E103",
        "error",
        "read",
        "YAML tag not allowed",
        "A tag such as `!!python/object` or a merge key `<<`: only plain data is read, nothing "
        "is built or evaluated. An explicit tag that changes what a value means (`!!null 70`, "
        "`!!bool maybe`) is refused too; `!!str` and tags that change nothing (`!!int 70`) are "
        "read.",
        "age: !!python/object:os.system 70",
        "Write the plain value.",
    ),
    _c(
        "E104",
        "error",
        "read",
        "nested too deep, or too large",
        "More than 32 levels of nesting, or more than 100,000 values, every use of an alias "
        "counted (an alias bomb). The message names where the limit was crossed: the key, or the "
        'alias that repeats. The limits are listed in the README ("Limits").',
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "Write the data out plainly; split a file that large.",
    ),
    _c(
        "E105",
        "error",
        "read",
        "not a number that can be used",
        "`.nan`, `.inf`, a JSON number that reads as infinity (`1e999`), or an integer of more "
        "digits than Python converts (4300): never a clinical value.",
        "labs: {potassium: .nan}",
        "Give the measured value, or leave the entry out.",
    ),
    _c(
        "E106",
        "error",
        "read",
        "a number YAML 1.1 would misread",
        "`sodium: 0140` (YAML 1.1 reads octal 96), `age: 070` (56), `episode_minutes: 1:30` "
        "(base 60: 90), `0b11`, `0x46`, `1_000`. None of these is what a clinician means, so "
        'none is read. The same forms are refused in lab texts (`"0140 mmol/L"`), CSV cells '
        "and interview answers.",
        "labs: {sodium: 0140}",
        "Write the number as plain decimal digits (`140`).",
    ),
    # --- K: knowledge files ----------------------------------------------------------------------
    _c(
        "K201",
        "error",
        "knowledge",
        "wrong type in a knowledge file",
        "A value of the wrong kind: a mapping expected, a number, `[low, high]`, a list of texts.",
        "facts:\n  age: number   # a mapping with `type:` expected",
        "Write the value in the shape the file's other entries have.",
    ),
    _c(
        "K202",
        "error",
        "knowledge",
        "unknown key in a knowledge file",
        "A key the file does not have; the hint names the nearest key or lists the allowed ones. "
        "Also `patient:` words given to a state, which is never shown to a patient.",
        "causes:\n  hypokalemia:\n    lable: Low potassium",
        "Correct the spelling the hint names (`label`).",
    ),
    _c(
        "K203",
        "error",
        "knowledge",
        "missing required key in a knowledge file",
        "A section (`facts:`, `causes:`, ...) or a required key of an entry (`label`, `type`) is "
        "missing. A misspelt key is reported once, as K202.",
        "facts:\n  age: {question: How old are you?}   # no type",
        "Add the key.",
    ),
    _c(
        "K204",
        "error",
        "knowledge",
        "value not allowed in a knowledge file",
        "An evidence grade, an urgency, a fact type or a number outside its range (a tier must be "
        "below 1000, the certainty threshold between 0 and 1).",
        "certainty_threshold: 1.5",
        "Use one of the values the hint allows.",
    ),
    _c(
        "K301",
        "error",
        "knowledge",
        "unknown name in a knowledge file",
        "A reference key not in references.yaml, a drug class not in `classes:`, a "
        "combination's component not in `drugs:`, a conclusion id, a state or a fact that is not "
        "declared; in knowledge/fhir.yaml, an analyte, unit or drug that the other knowledge "
        "files do not have.",
        "drugs:\n  furosemide: {classes: [loop_diuretc]}",
        "Correct the name (the hint names the nearest) or declare it.",
    ),
    _c(
        "K302",
        "error",
        "knowledge",
        "default unit not among the units",
        "An analyte's `unit` in units.yaml must be one of its `units`.",
        "potassium:\n  unit: mEq/l\n  units: {mmol/L: 1}",
        "Name one of the analyte's units.",
    ),
    _c(
        "K303",
        "error",
        "knowledge",
        "a name stands for two things",
        "A brand, alias or combination name, or a condition synonym, already claimed by another "
        "entry (names are compared without case, accents or punctuation).",
        "conditions:\n  ckd: {synonyms: [kidney disease]}\n  aki: {synonyms: [Kidney-Disease]}",
        "Keep the name on the entry it means.",
    ),
    _c(
        "K304",
        "error",
        "knowledge",
        "id defined twice",
        "Conclusions (all sections of conclusions.yaml) and states share one set of ids; in "
        "knowledge/interview.yaml a prompt id, a fact asked twice, a second prompt of one kind or "
        "a short name used twice.",
        "causes:\n  hypokalemia: {...}\nred_flags:\n  hypokalemia: {...}",
        "Rename one of them.",
    ),
    _c(
        "K305",
        "error",
        "knowledge",
        "badly formed fact id",
        "Fact ids are dotted lower_snake names (`labs.potassium`), without `__`.",
        "facts:\n  Labs.Potassium: {type: number}",
        "Write the id in lower_snake words joined by dots.",
    ),
    _c(
        "K306",
        "error",
        "knowledge",
        "analyte without a fact",
        "Every analyte of units.yaml needs a fact `labs.<analyte>` in facts.yaml.",
        "# units.yaml has zinc:, facts.yaml has no labs.zinc",
        "Add the fact, or remove the analyte.",
    ),
    _c(
        "K401",
        "error",
        "validate",
        "no rule concludes this conclusion",
        "A cause, red flag, differential, recommendation, investigation or state that no rule "
        "reaches.",
        "causes:\n  zinc_deficiency: {label: Zinc deficiency}   # no rule concludes it",
        "Write the rule, or remove the entry.",
    ),
    _c(
        "K402",
        "error",
        "check",
        "a conclusion no patient reaches",
        "Rules conclude it, but `kb check` found no patient for whom it is concluded: its rules "
        "never fire (R404), or whenever they do a measurement excludes it.",
        "# the only rule concluding it is excluded by a rule with the same conditions",
        "Make one of its rules fire for some patient, or loosen the exclusion.",
    ),
    _c(
        "K403",
        "error",
        "check",
        "a text that breaks a never-rule",
        "The label, description, text or action of a conclusion says what a `wording` item of a "
        "`never:` entry in knowledge/properties.yaml forbids (a recommendation that names "
        "quinine).",
        "recommendations:\n  night_cramp_relief: {label: Try quinine at night}",
        "Reword the text.",
    ),
    _c(
        "K404",
        "error",
        "validate",
        "a conclusion without words for the patient",
        "In a knowledge base that writes handouts (it has knowledge/handout.yaml), a cause, red "
        "flag, differential, recommendation or investigation without `patient:` words: a patient "
        "who receives it would get no handout.",
        "causes:\n  hypokalemia: {label: Hypokalaemia}   # no patient: words",
        'Write them (see "Words for the patient" in docs/authoring.md).',
    ),
    _c(
        "K405",
        "error",
        "validate",
        "words for the patient in jargon",
        "A `patient:` text, or a text of knowledge/handout.yaml, uses a word of the `jargon:` "
        "list of knowledge/handout.yaml, a rule or conclusion id, or an evidence grade.",
        "patient: {title: Your hypokalaemia}",
        'Say it in plain words ("low potassium in your blood").',
    ),
    # --- R: rule files ---------------------------------------------------------------------------
    _c(
        "R100",
        "error",
        "rule",
        "no rule files",
        "rules/ holds no `*.yaml` file (files starting with `_` are templates and are skipped).",
        "rules/_template.yaml   # the only file",
        "Write a rule (copy rules/_template.yaml).",
    ),
    _c(
        "R201",
        "error",
        "rule",
        "wrong type in a rule",
        "A value of the wrong kind: `title: 42`, `certainty: high`, `examples:` not a list, a "
        "fact value of the wrong type in `given:` or a condition.",
        "then: {conclude: [hypokalemia], certainty: high}",
        "Write the value in the type the key takes (`certainty: 0.8`).",
    ),
    _c(
        "R202",
        "error",
        "rule",
        "unknown key or operator",
        "A misspelt key (`teir`, `certainity`, `expected`) or operator (`greater`); the hint "
        "names the nearest one or lists the allowed ones.",
        "when:\n  - {fact: labs.potassium, greater: 3.5}",
        "Correct the spelling the hint names (`gt`).",
    ),
    _c(
        "R203",
        "error",
        "rule",
        "missing required key",
        "A rule needs `id`, `title`, `tier`, `rationale`, `evidence`, `references`, `when` and "
        "`then`; an example needs a `name`.",
        "id: hypokalemia-measured\ntitle: Low potassium\n# no tier, rationale, ...",
        "Add the key (rules/_template.yaml has them all).",
    ),
    _c(
        "R204",
        "error",
        "rule",
        "value not allowed",
        "A tier, evidence grade or choice value that does not exist (with the nearest), a "
        "certainty below the certainty threshold or above 1, a number outside the fact's range "
        "in `given:`.",
        "evidence: low   # grades: high, moderate, weak, expert",
        "Use a value the hint allows.",
    ),
    _c(
        "R205",
        "error",
        "rule",
        "rule id not kebab-case",
        "Rule ids (and families) are lower-case words joined by `-`.",
        "id: Hypokalemia_Measured",
        "Write `hypokalemia-measured` (and name the file so).",
    ),
    _c(
        "R206",
        "error",
        "rule",
        "rule id differs from the file name",
        "The file is `rules/<topic>/<id>.yaml`.",
        "# rules/labs/low-k.yaml\nid: hypokalemia-measured",
        "Rename the file or the id.",
    ),
    _c(
        "R207",
        "error",
        "rule",
        "no references",
        "Every rule cites at least one key of knowledge/references.yaml.",
        "references: []",
        "Cite the source the rule rests on (add it to references.yaml first).",
    ),
    _c(
        "R208",
        "error",
        "rule",
        "incomplete structure",
        "A condition without `fact`, `concluded` or a group; a fact condition without exactly "
        "one operator; an empty `all`/`any`/`none`; `then` without `conclude` or `exclude`; an "
        "example without `given` or `patient`.",
        "when:\n  - {fact: labs.potassium}",
        "Complete it: one operator per fact condition (`lt: 3.5`).",
    ),
    _c(
        "R209",
        "error",
        "rule",
        "two examples with one name",
        "Example names are unique within a rule (they are test ids).",
        "examples:\n  - name: low\n    ...\n  - name: low",
        "Name each example for what it shows.",
    ),
    _c(
        "R210",
        "error",
        "rule",
        "duplicate rule id",
        "Two files (in different topics) hold rules with one id; the message names both.",
        "rules/labs/hypokalemia.yaml and rules/drugs/hypokalemia.yaml",
        "Rename one rule and its file.",
    ),
    _c(
        "R301",
        "error",
        "rule",
        "unknown reference",
        "The key is not in knowledge/references.yaml.",
        "references: [allen2012]   # the key is allen-2012",
        "Correct the key (the hint names the nearest) or add the reference.",
    ),
    _c(
        "R302",
        "error",
        "rule",
        "unknown conclusion",
        "An id in `conclude`, `exclude`, `concluded`, `expect`, `expect_not` or "
        "`expect_excluded` that is not in conclusions.yaml or states.yaml.",
        "then: {conclude: [hypokalaemia]}",
        "Correct the id (the hint names the nearest) or declare the conclusion.",
    ),
    _c(
        "R303",
        "error",
        "rule",
        "unknown fact",
        "A fact id in a condition, in `given:`, or as `{fact.id}` in a reason, that is not in "
        "facts.yaml; for `meds.<class>`, `conditions.<id>` and `labs.<analyte>` the message says "
        "which knowledge file lacks the name.",
        "when:\n  - {fact: labs.potasium, lt: 3.5}",
        "Correct the id (the hint names the nearest) or declare the fact.",
    ),
    _c(
        "R304",
        "error",
        "rule",
        "operator does not fit the fact",
        "Numbers take `is lt le gt ge between known`, yes/no facts `is known`, choices `is in "
        "known`, lists `includes only known`.",
        "when:\n  - {fact: red_flag.weakness, lt: 1}",
        "Use an operator of the fact's type (`is: true`).",
    ),
    _c(
        "R305",
        "error",
        "rule",
        "not a value of the fact",
        "A value in `in`, `includes` or `only` that the fact cannot take (with the nearest).",
        "when:\n  - {fact: sex, in: [mael]}",
        "Use a value the fact takes.",
    ),
    _c(
        "R306",
        "error",
        "rule",
        "only causes can be excluded",
        "`exclude` names a red flag, recommendation, investigation or state.",
        "then: {exclude: [refer_neurology], reason: ...}",
        "Exclude a cause, or do not conclude the other in the first place.",
    ),
    _c(
        "R307",
        "error",
        "rule",
        "an exclusion needs a reason",
        "An exclusion is shown with the measurement that made it.",
        "then: {exclude: [hypokalemia]}",
        "Give `then.reason` naming the measurement (`potassium {labs.potassium} is normal`).",
    ),
    _c(
        "R308",
        "error",
        "validate",
        "threshold outside the fact's range",
        "`{fact: labs.potassium, lt: 35}` always holds (potassium is between 1 and 10 mmol/L) and "
        "`{fact: age, gt: 150}` never does. Usually a threshold in another unit.",
        "when:\n  - {fact: age, gt: 150}",
        "Thresholds are in the fact's unit: convert it, or drop the constant condition.",
        suppressible=True,
    ),
    _c(
        "R401",
        "error",
        "rule",
        "rules chain in a cycle",
        "Rule A tests what rule B concludes and B tests what A concludes (or a rule tests what it "
        "concludes itself): no order of firing lets each test see final conclusions.",
        "# a: when {concluded: y} then conclude x; b: when {concluded: x} then conclude y",
        "Test the facts both rules rest on instead of each other's conclusion.",
    ),
    _c(
        "R402",
        "error",
        "validate",
        "no rule concludes the conclusion tested",
        "`{concluded: X}` where no rule concludes X: the condition never holds (or, under "
        "`none`, always holds).",
        "when:\n  - {concluded: state_fluid_restricted}   # no rule concludes it",
        "Write a rule that concludes it, or test something a rule concludes.",
        suppressible=True,
    ),
    _c(
        "R403",
        "error",
        "validate",
        "conditions that can never hold together",
        "Tests of one fact in one `all` that no value satisfies (`lt: 3` and `ge: 3`; `is: male` "
        "and `in: [female]`; `known: false` and any test of a value; `only: [calf]` and "
        "`includes: [foot]`). The rule, or that branch of an `any`, can never fire.",
        "when:\n  - {fact: labs.potassium, lt: 3}\n  - {fact: labs.potassium, ge: 3}",
        "Correct the threshold or the operator that was meant.",
        suppressible=True,
    ),
    _c(
        "R404",
        "error",
        "check",
        "a rule no patient makes fire",
        "`kb check` found no patient for whom the rule fires: not an embedded example, not one "
        "of the generated patients, and a search over every value of the facts that makes a "
        "difference (both sides of each threshold, unknown included) found none. When the search "
        "ran to the end this is a proof: its conditions contradict each other or what the "
        "conclusions it tests need, or need facts no patient file gives together (a drug's start "
        "date without the drug). R403 finds the simplest contradictions without a search.",
        "when:\n  - {concluded: hypokalemia}\n  - {fact: labs.potassium, ge: 3.5}",
        "Remove the contradiction, or the rule.",
        suppressible=True,
    ),
    _c(
        "R405",
        "warning",
        "check",
        "a rule that adds nothing",
        "Whenever the rule fires, another fires too and concludes at least as much, with at "
        "least its certainty: removing the rule changes no result but a repeated reason. A rule "
        "that concludes a **cause** the other also concludes is R411 instead.",
        "# potassium-test-on-loop-diuretic fires only when potassium-test-on-diuretic does",
        "Remove the rule, or give it a conclusion of its own; suppress it (`suppress:`) when "
        "the repeated reason is wanted.",
        suppressible=True,
    ),
    _c(
        "R406",
        "error",
        "check",
        "conclusions that exclude each other, reached together",
        "A patient (shown) for whom two conclusions declared `exclusive` in "
        "knowledge/properties.yaml are both concluded, or a cause is concluded by one rule and "
        "excluded by another (the result warns W100).",
        "# lifestyle advice concluded beside an emergency referral",
        "Add a condition that keeps the rules apart.",
        suppressible=True,
    ),
    _c(
        "R407",
        "error",
        "check",
        "a rule that can break a never-rule",
        "A patient (shown) for whom the rule concludes what a `never:` entry of "
        "knowledge/properties.yaml forbids while its `when` holds. Every rule that can break it "
        "is reported.",
        "# concludes fluid advice without testing state_fluid_restricted",
        "Add the condition that keeps the conclusion out "
        "(`none: [{concluded: state_fluid_restricted}]`).",
        suppressible=True,
    ),
    _c(
        "R408",
        "error",
        "check",
        "certainty below the threshold",
        "A rule concludes with a certainty below `certainty_threshold`; if no combination of the "
        "rules that conclude the id reaches the threshold the id is never shown, while rules "
        "that test it still chain on it. The loader already refuses such a certainty (R204): "
        "`kb check` keeps the check for a knowledge base built another way. Certainty does not "
        "travel along chains here, so no chain of rules, each at or above the threshold, can "
        "fall below it.",
        "then: {conclude: [hypokalemia], certainty: 0.1}   # threshold 0.3",
        "Raise the certainty to at least the threshold, or remove the rule.",
        suppressible=True,
    ),
    _c(
        "R409",
        "error",
        "validate",
        "a reason that cites a fact the rule never looks at",
        "The explanation would show a value that played no part. A rule may cite what it "
        "tests, the entries a derived fact it tests comes from (`{labs.ck}` for "
        "`labs.ck_xuln`), and what the rules of the conclusions it tests look at.",
        'reason: "potassium {labs.potassium}"   # in a rule that tests only magnesium',
        "Cite a fact the rule tests, or test the fact the reason relies on.",
        suppressible=True,
    ),
    _c(
        "R410",
        "warning",
        "validate",
        "a lab threshold that looks like another unit",
        "A threshold outside the range in which the lab is read in its default unit "
        "(knowledge/units.yaml `plausible`): `{fact: labs.magnesium, lt: 1.7}` is 1.7 mg/dL "
        "written as if it were mmol/L (0.70 mmol/L). A warning, as the value may be meant.",
        "when:\n  - {fact: labs.magnesium, lt: 1.7}",
        "Thresholds are in the fact's unit: convert it (`lt: 0.7`).",
        suppressible=True,
    ),
    _c(
        "R411",
        "error",
        "check",
        "one piece of evidence counted twice",
        "Whenever the rule fires, a rule of another evidence family fires too and concludes the "
        "same cause (`ckd-egfr-below-30` beside `ckd-egfr-below-60`): both certainties would "
        "combine, so the one observation would be counted twice and the certainty inflated.",
        "# ckd-egfr-below-30 and ckd-egfr-below-60 both conclude ckd_cramps",
        "Put both rules in one family (`family: ckd-egfr`): within a family only the strongest "
        "fired member counts for each conclusion. Give the refining rule the certainty the "
        "detail justifies, since it replaces, not adds to, the other.",
        suppressible=True,
    ),
    _c(
        "R501",
        "error",
        "validate",
        "no example where the rule fires",
        "Every rule shows, in an embedded example, a patient for whom it fires.",
        "examples:\n  - {name: normal potassium, given: {labs.potassium: 4.1}, fires: false}",
        "Add an example with `fires: true`.",
        suppressible=True,
    ),
    _c(
        "R502",
        "error",
        "validate",
        "no example where the rule does not fire",
        "Every rule shows, in an embedded example, the nearest patient for whom it must not fire.",
        "examples:\n  - {name: low potassium, given: {labs.potassium: 3.1}, fires: true}",
        "Add an example with `fires: false`: the nearest case that must not fire.",
        suppressible=True,
    ),
    _c(
        "R601",
        "error",
        "rule",
        "a suppression without a reason",
        "Every entry of a rule's `suppress:` says why the finding is accepted, so that a "
        "reviewer can judge it.",
        "suppress:\n  - {code: R405}",
        'Give `reason: "..."`: why this finding is right for this rule.',
    ),
    _c(
        "R602",
        "error",
        "rule",
        "a suppression of a code that cannot be suppressed",
        "The code is not in this reference (the hint names the nearest), or it is a problem that "
        "stops the rule being read, which no file may silence, or it is suppressed twice in one "
        "file. Only the findings about a rule that was read (R308, R4xx from R402 on, R5xx) can "
        "be suppressed.",
        "suppress:\n  - {code: R303, reason: the fact is coming}",
        "Fix the problem instead, or correct the code.",
    ),
    _c(
        "R603",
        "warning",
        "validate",
        "a suppression of a code not raised here",
        "The rule file suppresses a code that the run found nowhere in the file: the suppression "
        "is stale and would hide the next, unrelated, finding. `kb validate` judges the codes it "
        "checks; `kb check` judges every code.",
        "suppress:\n  - {code: R502, reason: ...}   # the rule has a fires: false example",
        "Remove the entry.",
    ),
    # --- P: patient files ------------------------------------------------------------------------
    _c(
        "P201",
        "error",
        "patient",
        "wrong type in a patient file",
        "A number, text, yes/no, list or mapping expected (`age: old`, a medication that is a "
        "number).",
        "age: old",
        "Give the value in the type the key takes.",
    ),
    _c(
        "P202",
        "error",
        "patient",
        "unknown key in a patient file",
        "A key the patient file does not have, with the nearest key.",
        "agee: 54",
        "Correct the spelling the hint names (`age`).",
    ),
    _c(
        "P203",
        "error",
        "patient",
        "missing required key in a patient file",
        "A medication written as a mapping needs `name`; a lab written as a mapping needs `value`.",
        "medications:\n  - {dose: 40 mg}",
        "Add the key.",
    ),
    _c(
        "P204",
        "error",
        "patient",
        "value out of range or not allowed",
        "`age: 300`, `sex: mael`, a lab value outside its range after conversion.",
        "sex: mael",
        "Give a value the hint allows.",
    ),
    _c(
        "P205",
        "error",
        "patient",
        "lab value that cannot be read",
        "An unknown unit for the analyte (the hint lists the accepted units), or a bare number "
        "that is implausible in the default unit (`magnesium: 1.9` needs a unit).",
        "labs: {potassium: 3.4 mg}",
        "Give the value with one of the units the hint lists.",
    ),
    _c(
        "P206",
        "error",
        "patient",
        "contradiction in a patient file",
        "`pregnant: true` with `sex: male`, gestation weeks with `pregnant: false`, `dialysis: "
        "none` with dialysis named elsewhere.",
        "sex: male\npregnant: true",
        "Correct whichever of the two is wrong.",
    ),
    _c(
        "P207",
        "error",
        "patient",
        "control characters in a patient's text",
        "An escape sequence (`\\e[2J`, a C1 control such as 0x9b, an OSC title or clipboard "
        "sequence), a carriage return, backspace, newline, tab, NUL or a bidirectional override "
        "(U+202E) inside any text of a patient file, a batch record or an interview answer. "
        "Refused, never printed: such a text could rewrite the report on the clinician's "
        "terminal. The message shows each character escaped (`\\x1b`).",
        'medications: ["ramipril\\u001b[2J"]',
        "Remove the control characters (they usually come from a copy and paste).",
    ),
    _c(
        "P210",
        "error",
        "patient",
        "not valid FHIR R4",
        "A FHIR input (`consult` of a Bundle or resource, CDS Hooks prefetch, a Bulk Data line) "
        "that the FHIR R4 models refuse, a `resourceType` that is no FHIR resource, a Bundle of "
        "a type that is not read (history, message...), or JSON that cannot be parsed. The key "
        "names the element (`entry[0].resource.birthDate`).",
        '{"resourceType": "Patient", "birthDate": "yesterday"}',
        "Correct the element the key names.",
    ),
    _c(
        "P211",
        "error",
        "patient",
        "FHIR resources about more than one patient",
        "One consultation is one patient: a Bundle holding two Patient resources is refused, as "
        "is one that gives no usable patient.",
        '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}, '
        '{"resource": {"resourceType": "Patient"}}]}',
        "Consult one patient at a time; a Bulk Data folder goes to `cramp-expert batch`.",
    ),
    # --- B: batch inputs -------------------------------------------------------------------------
    _c(
        "B200",
        "error",
        "batch",
        "the input is not a batch",
        "Neither JSON Lines (a JSON object per line) nor CSV (a header row of patient-file keys) "
        "nor a folder of FHIR Bulk Data; or a JSON array.",
        '[{"age": 54}, {"age": 61}]',
        "Write one JSON object per line; a single patient file is consulted with "
        "`cramp-expert consult FILE`.",
    ),
    _c(
        "B201",
        "error",
        "batch",
        "a CSV column that is not a patient-file key",
        "The header row names the patient-file key of each column; the hint names the nearest.",
        "id,agee,sex",
        "Correct the column name (`age`).",
    ),
    _c(
        "B202",
        "error",
        "batch",
        "a CSV column named twice",
        "Two columns of the header row hold one key: which one to read would be a guess.",
        "id,age,age",
        "Remove or rename one of them.",
    ),
    _c(
        "B203",
        "error",
        "batch",
        "a CSV row that cannot be read",
        "A row with more or fewer cells than the header, or one the CSV reader refuses (an "
        "unclosed quote). The record is reported with its line; the other records are consulted.",
        'id,age\np1,54,extra\np2,"61',
        "Give each row one cell per column; close the quote.",
    ),
    # --- W: warnings in a result -----------------------------------------------------------------
    _c(
        "W001",
        "warning",
        "consult",
        "medication not recognised",
        "The medicine (or part of a combination) is not in the dictionary, so its drug class is "
        "unknown, never assumed absent. The closest known names are given.",
        "medications: [zorbitol]",
        "Check the spelling, or give its drug class (`meds.<class>: true`).",
    ),
    _c(
        "W002",
        "warning",
        "consult",
        "medication read by a close spelling",
        "A misspelt name matched a known one.",
        "medications: [furosemid]",
        "Please confirm the medicine it was read as; correct the spelling.",
    ),
    _c(
        "W003",
        "warning",
        "consult",
        "condition not recognised",
        "The condition is not among the synonyms of conditions.yaml; the closest are given.",
        "conditions: [kidney trouble]",
        "Name it as conditions.yaml does, or check the closest names given.",
    ),
    _c(
        "W004",
        "warning",
        "consult",
        "condition read from a partial or close match",
        "The condition was read as the closest known one.",
        "conditions: [diabetis]",
        "Please confirm the condition it was read as.",
    ),
    _c(
        "W005",
        "warning",
        "consult",
        "pregnancy taken from the gestation weeks",
        "`gestation_weeks` without `pregnant`: pregnant is taken as true.",
        "gestation_weeks: 20",
        "Give `pregnant: true` as well.",
    ),
    _c(
        "W006",
        "warning",
        "consult",
        "medication read as not currently taken",
        '"stopped", "not taking", ... in the entry: the class is not counted as taken.',
        "medications: [furosemide (stopped in May)]",
        "Please confirm; leave stopped medicines out of the list.",
    ),
    _c(
        "W007",
        "warning",
        "consult",
        "dialysis taken from elsewhere in the file",
        "Dialysis named in the conditions or `cramps.during_dialysis`, without the `dialysis:` "
        "key.",
        "conditions: [haemodialysis]",
        "Give `dialysis:` (haemodialysis, peritoneal or none).",
    ),
    _c(
        "W008",
        "warning",
        "consult",
        "an entry the interview would not ask or would refuse",
        "knowledge/interview.yaml says when a question applies (pregnancy: a female patient of "
        "12-55) and which values are refused (a fluid limit of 0 L/day). A file that gives such "
        "an entry is read as written, with this warning.",
        "sex: female\nage: 70\npregnant: true",
        "Please confirm the entry.",
    ),
    _c(
        "W100",
        "warning",
        "consult",
        "concluded and excluded at once",
        "One rule concluded an id and another excluded it: the exclusion wins; the rules "
        "disagree (`kb check` reports the pair as R406).",
        "# hypokalemia-measured concludes hypokalemia, potassium-normal excludes it",
        "Add a condition that keeps the two rules apart.",
    ),
    _c(
        "W210",
        "warning",
        "batch",
        "FHIR resources that name no Patient",
        "A Bulk Data export's resources whose `subject` (or `patient`) names no Patient of "
        "`Patient.ndjson`: `batch` reports them as an error record with their count, never drops "
        "them.",
        '{"resourceType": "Observation", "subject": {"reference": "Patient/missing"}}',
        "Export the Patient resources with the others.",
    ),
)

CODES: dict[str, Code] = {entry.code: entry for entry in _ENTRIES}
"""Every code, in the order of the reference."""

KNOWLEDGE_SHAPE = Shape("K201", "K202", "K203", "K204")
RULE_SHAPE = Shape("R201", "R202", "R203", "R204")
PATIENT_SHAPE = Shape("P201", "P202", "P203", "P204")

SUPPRESSIBLE = tuple(code for code, entry in CODES.items() if entry.suppressible)


class UnknownCode(LookupError):
    """A problem was made with a code that is not in the registry: a defect of the package."""


def lookup(code: str) -> Code:
    """The registry entry of `code`.

    Raises:
        UnknownCode: the code is not registered (a programming error, never bad input).
    """
    try:
        return CODES[code]
    except KeyError:
        raise UnknownCode(f"problem code {code!r} is not in cramp_expert.problems") from None


def severity(code: str) -> Severity:
    """The severity of a registered code."""
    return lookup(code).severity


def is_error(code: str) -> bool:
    """Whether a problem with `code` makes a command fail."""
    return lookup(code).severity == "error"


__all__ = [
    "CODES",
    "KNOWLEDGE_SHAPE",
    "PATIENT_SHAPE",
    "RULE_SHAPE",
    "SEVERITIES",
    "STAGES",
    "SUPPRESSIBLE",
    "Code",
    "Severity",
    "Shape",
    "UnknownCode",
    "is_error",
    "lookup",
    "severity",
]
