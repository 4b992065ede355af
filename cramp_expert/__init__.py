"""cramp-expert: an explainable rule-based expert system for nocturnal leg cramps.

The data flow, one package or module per stage: `source` (safe YAML/JSON with positions) ->
`kb` (knowledge files and rules, validated) and `patient` (a patient file, normalised) ->
`compile` (rules into experta) -> `engine` (run, trace) -> `consultation` (certainties, result)
-> `explain` (the clinician's report). `api` is the entry point; `cli` is a shell over it.
"""

import logging

# NOTE: `import experta` calls logging.basicConfig(), which would make every later log record of
# any library print to stderr. A handler on the root logger makes that call a no-op; the
# NullHandler keeps the root logger as silent as it was. It must run before experta is imported,
# and this package's __init__ runs before any of its modules.
if not logging.getLogger().handlers:
    logging.getLogger().addHandler(logging.NullHandler())

__all__: list[str] = []
