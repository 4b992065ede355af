"""FHIR Bulk Data NDJSON: a folder of `*.ndjson` files, one patient per Patient.

Every line is one resource. Resources are joined to their Patient by reference (`subject` or
`patient`: `Patient/<id>` or `urn:uuid:<id>`); each Patient, with its resources, is one record
of `cramp-expert batch`, in the order of Patient.ndjson. A resource that names no known Patient
is reported once, as a problem of the input, not silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cramp_expert.errors import Location, Problem

SUFFIX = ".ndjson"
MAX_LINE = 16 * 1024 * 1024


def is_bulk_folder(path: Path) -> bool:
    """Whether a folder holds Bulk Data NDJSON (a Patient file among its *.ndjson)."""
    try:
        return path.is_dir() and any(p.suffix.lower() == SUFFIX for p in path.iterdir())
    except OSError:
        return False


def _patient_of(resource: dict[str, Any]) -> str | None:
    for key in ("subject", "patient", "beneficiary"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text = str(ref["reference"])
            if text.startswith("Patient/"):
                return text.removeprefix("Patient/")
            if text.startswith("urn:uuid:"):
                return text.removeprefix("urn:uuid:")
    return None


def patients(folder: Path) -> tuple[list[tuple[str, int, list[dict[str, Any]]]], list[Problem]]:
    """Each Patient (id, line in its file, its resources) in file order, and the problems."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == SUFFIX)
    order: list[tuple[str, int]] = []
    grouped: dict[str, list[dict[str, Any]]] = {}
    others: list[tuple[str, dict[str, Any]]] = []
    orphans: dict[str, int] = {}
    problems: list[Problem] = []
    # Patients are told by their resourceType, not the file's name: exports name their files
    # `Patient.ndjson`, `Patient.000.ndjson` (Synthea through SMART's bulk tools) or
    # `1.Patient.ndjson`. The other resources are joined once every file is read.
    files.sort(key=lambda p: (p.name.split(".")[0] != "Patient", p.name))
    for file in files:
        with file.open(encoding="utf-8") as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                where = Location(str(file), number)
                if len(line) > MAX_LINE:
                    problems.append(Problem("P210", f"a line of {len(line)} characters", where))
                    continue
                try:
                    resource = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(Problem("P210", f"not valid JSON: {exc.msg}", where))
                    continue
                if not isinstance(resource, dict) or not isinstance(
                    resource.get("resourceType"), str
                ):
                    problems.append(Problem("P210", "not a FHIR resource (no resourceType)", where))
                    continue
                if resource["resourceType"] == "Patient":
                    pid = str(resource.get("id", f"line-{number}"))
                    order.append((pid, number))
                    grouped.setdefault(pid, []).insert(0, resource)
                    continue
                others.append((file.name, resource))
    for name, resource in others:
        owner = _patient_of(resource)
        if owner is None or owner not in grouped:
            orphans[name] = orphans.get(name, 0) + 1
            continue
        grouped[owner].append(resource)
    for name, count in sorted(orphans.items()):
        problems.append(
            Problem(
                "W210",
                f"{count} resources name no Patient of Patient.ndjson (not read)",
                Location(str(folder / name)),
            )
        )
    return [(pid, line, grouped[pid]) for pid, line in order], problems


def records(folder: Path) -> Iterator[tuple[int, str]]:
    """(line in Patient.ndjson, the patient's resources as one JSON text) per Patient."""
    found, _problems = patients(folder)
    for _pid, line, resources in found:
        yield line, json.dumps(resources, ensure_ascii=False)


__all__ = ["is_bulk_folder", "patients", "records"]
