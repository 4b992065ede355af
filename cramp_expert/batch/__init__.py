"""Batch screening: many patients through one knowledge base, one JSON line per patient.

Inputs, one patient per record, the kind decided by the content (`readers`):

- JSON Lines: each non-blank line is a patient file as one JSON object. Records are numbered by
  their line in the file.
- CSV (UTF-8, comma-separated, a header row of patient-file keys): each row is a patient
  (`cramp-expert batch --help` and the README give the mapping: `age`,
  `cramps.nights_per_week`, `labs.potassium`, `medications` as `;`-separated names, ...).
  Records are numbered by the line their row starts on.
- A folder: every `*.yaml`, `*.yml` and `*.json` file directly in it, by name, is a patient file.

The output is JSON Lines in input order: for each record, the result `consult --format json`
gives, with `source` added (the input, the record's number from 1, and its line or file); for a
record that cannot be consulted, `source` and `error` (each problem as one `file:line:col: ...`
line, the line being the input's own).

The package follows the data flow:

- `readers`: the input into `Record`s; a record that cannot be read carries its problems.
- `records`: one record consulted into one `Outcome` (its output line); never raises.
- `pool`: records consulted here or in worker processes, outcomes back in input order; a dead
  worker ends the run with `WorkerFailed`, never a hang.
- `writer`: the locked, keyed partial file that becomes OUTPUT at the end, and `--resume`.
- `summary`: the counts printed after a run; `run`: `run_batch`, the whole run.
"""

from cramp_expert.batch.pool import CHUNK, WorkerFailed
from cramp_expert.batch.readers import (
    MAX_RECORD,
    BatchInputError,
    Record,
    check_columns,
    count_records,
    csv_columns,
    input_kind,
    read_records,
)
from cramp_expert.batch.records import Outcome, RecordConsultant
from cramp_expert.batch.run import run_batch
from cramp_expert.batch.summary import Summary
from cramp_expert.batch.writer import (
    OutputBusy,
    ResumeRefused,
    RunKey,
    key_path,
    outcome_of_line,
    partial_path,
)

__all__ = [
    "CHUNK",
    "MAX_RECORD",
    "BatchInputError",
    "Outcome",
    "OutputBusy",
    "Record",
    "RecordConsultant",
    "ResumeRefused",
    "RunKey",
    "Summary",
    "WorkerFailed",
    "check_columns",
    "count_records",
    "csv_columns",
    "input_kind",
    "key_path",
    "outcome_of_line",
    "partial_path",
    "read_records",
    "run_batch",
]
