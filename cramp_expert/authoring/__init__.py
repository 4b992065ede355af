"""The knowledge authors' toolkit: validate, list, document, draw and diff the rule base.

Each module owns one `cramp-expert kb` command and is usable on its own from Python:

- `lint`: every problem in rules/ and knowledge/ in one run (`kb validate`);
- `report`: those problems as text for people, editors, CI and GitHub;
- `catalogue`: the rule list and one rule in full (`kb list`, `kb show`);
- `docs`: the Markdown catalogue of the rules (`kb docs`, committed as docs/rules.md);
- `graph`: how facts, rules and conclusions chain, as DOT or Mermaid (`kb graph`);
- `diff`: what a change to the knowledge base does to the rules and to real cases (`kb diff`);
- `schema`: JSON Schemas of rule files and patient files for editors (`kb schema`).

Only `diff` runs the engine (it consults patients); everything else reads the knowledge base
without compiling it, so it never imports experta and stays fast.
"""

from __future__ import annotations

from cramp_expert.errors import BadArgument

__all__ = ["BadArgument"]
