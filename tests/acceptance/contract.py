"""Shapes the contract fixes (../shared/contract/README.md), shared by the tests."""

RESULT_KEYS = frozenset(
    {
        "patient_id",
        "knowledge_base",
        "causes",
        "excluded",
        "red_flags",
        "differentials",
        "recommendations",
        "investigations",
        "interpreted",
        "warnings",
        "trace",
    }
)
"""The top-level keys of `consult --format json`."""

PROJECT_KEYS = frozenset({"references", "robustness"})
"""Keys the project adds (the contract allows it): the bibliography of everything cited."""
