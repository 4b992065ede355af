"""Population screening: compact records, the compiled back end audited against experta, Dask.

- `summary`: the screening record of a patient (red flags, causes, advice ids, warnings);
- `compiled`: the rule base as plain-Python closures (opt-in, screening only);
- `backend`: one patient screened on the engine chosen, and the audit against experta;
- `records`: how batch writes each record (full result or screening record, JSON Lines or CSV);
- `cluster`: `batch --cluster dask`.

Nothing here is imported by a plain consultation; batch imports `records`, and the rest only
when a run asks for it.
"""
