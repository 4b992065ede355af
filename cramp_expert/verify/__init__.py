"""The rule base verifier (`cramp-expert kb check`) and rule coverage (`kb coverage`).

`kb validate` reads each file; this package reasons about the rule base as a whole, with the
engine's own semantics, and backs every claim with a patient:

- `domains`: the values each fact can take that make a difference to the rules (both sides of
  every threshold), the realisability of a combination of facts, and the patient file that
  gives a combination; also a plain random sampler of patients;
- `search`: a search for a patient that makes a condition hold, pruned by three-valued
  evaluation of the whole rule base on partial knowledge (`reasoning.partial`); it either finds
  a patient (run through the engine to confirm), proves there is none, or runs out of budget;
- `checks`: the checks of `kb check` (rules that never fire, conclusions nobody reaches,
  redundant rules, conflicting conclusions, breaches of the never-rules, certainty chains);
- `coverage`: which rules fire on an embedded example and on a generated patient;
- `report`: the findings for people, editors, CI and GitHub.

It runs the engine through `engine` and `consultation`, as the API does, never experta directly.
"""
