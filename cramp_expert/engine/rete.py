"""experta's RETE network, built by experta and driven along a shorter path.

What stays experta's: the network itself (experta builds every alpha test, join, NOT node and
one conflict-set node per sub-rule from the rules, and keeps its shape), every node's memory
(the same lists, dicts and sets of experta's `TokenInfo`, holding what experta's nodes would
hold), the tokens (`Token`), the activations (experta's `Activation`; `FastActivation` only
caches its hash, by experta's own formula), the fact list, the agenda and the rules. What this
module does instead of experta's node methods: it runs each node's step itself, in closures
installed as the nodes' callbacks, for a knowledge base whose patient is one fact with many
fields. On the bundled rules (about 190 rules, 340 sub-rules, 25 firings per patient), stock
experta spent its time as follows; each item removes one cause (bench/README.md):

- `changes()` asked every conflict-set node for its activations after every declaration and every
  firing (about 8,000 calls per patient). Only nodes a token reached since the last call can have
  any: they are marked when reached and asked in the network's own order.
- `reset()` walked the whole network recursively, a shared node once per path into it (about
  2,800 visits per patient). Only nodes with a memory that a token reached have anything to
  forget: those are reset, once each; and the matches of experta's initial fact, the same after
  every reset, are kept once (`remember`) and copied back (`restore`) instead of re-derived.
- Every fact was offered to every alpha test below its type: the patient to about 350 field
  tests, each conclusion to every `Derived(id=...)` test. A parent with many field tests now hands
  a fact only to the tests on the fields it has (and, for a literal, on its value); each test
  still runs. The root hands a fact to the type test of its type only.
- An alpha node copied the token before testing it (a copy re-validates every fact in it), and
  every join, NOT and conflict-set node copied it again on entry. Here a token is copied only
  when a match adds to its context; the beta nodes never change a token they receive.
- Every field test went through experta's generic check (splitting the field name on `__` for
  nested access, two logging calls). Field names here are plain fact ids (never `__`: the
  knowledge loader refuses them), so the test reads the field and calls the check directly (a
  predicate, literal or wildcard that binds nothing: its test itself).
- Joins (`OrdinaryMatchNode`), NOT nodes and conflict-set nodes built a token or token info
  through experta's checking constructors and compared contexts through a fresh dict each time.
  `_join`, `_not_node` and `_conflict_set` run the same steps as experta's `_activate_left`,
  `_activate_right` and `_activate` (same memories, same counts, same order of children), with
  tokens and infos built directly and experta's SameContextCheck read off the frozen context.

Which tokens reach which node, with which context, and what each memory holds, is exactly what
experta's own nodes produce. `tests/unit/test_engine_rete.py` holds this to a stock experta
matcher (experta's own nodes, fact list, declare, run and reset), firing for firing, on the
example vignettes and on generated patients, and a restored reset to a full one. experta's
`MATCH` and `MATCHER` debug logging is not produced on this path.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from experta.activation import Activation
from experta.fieldconstraint import L, P, W
from experta.matchers.rete import ReteMatcher
from experta.matchers.rete.check import FactCapture, FeatureCheck, SameContextCheck, TypeCheck
from experta.matchers.rete.mixins import ChildNode, NoMemory
from experta.matchers.rete.nodes import (
    ConflictSetNode,
    FeatureTesterNode,
    NotNode,
    OrdinaryMatchNode,
)
from experta.matchers.rete.token import Token, TokenInfo

Callback = Callable[[Any], None]

_TUPLE_NEW = tuple.__new__
_VALID = Token.TagType.VALID
_INVALID = Token.TagType.INVALID
_MISSING = object()
_HASHED_AS_EQUAL = (str, int, float, bool, type(None))
"""Types whose values are equal exactly when a dict finds one by the other's hash."""


def _copy(token: Any, context: dict[Any, Any]) -> Any:
    """A token like `token` with `context`: experta's `Token.copy` without its checks.

    The checks validate every fact in the token; they were validated when the token was made,
    and a token's facts never change.
    """
    return _TUPLE_NEW(Token, (token.tag, set(token.data), context))


def _merge(token: Any, match: Mapping[Any, Any]) -> Any:
    """The token with a match's bindings added, or None when they contradict its context.

    FeatureTesterNode's rule: a binding that differs from the token's binding of the same name,
    or equals a negated one, fails the match.
    """
    context = token.context
    for key, value in match.items():
        if isinstance(key, tuple):  # a negated binding
            if key[1] in context and context[key[1]] == value:
                return None
        else:
            if context.get(key, value) != value:
                return None
            if (False, key) in context and context[(False, key)] == value:
                return None
    merged = dict(context)
    merged.update(match)
    return _copy(token, merged)


def _type_test(fact_type: type, children: list[Callback]) -> Callback:
    def activate(token: Any) -> None:
        for fact in token.data:
            if type(fact) is fact_type:
                for child in children:
                    child(token)
            return

    return activate


def _unbound_test(check: Any) -> Callable[[Any], Any] | None:
    """The plain truth test of a field check that binds nothing, or None.

    experta's check functions for a predicate (`P(f)`), a literal (`L(x)`) and a wildcard (`W()`)
    that bind no variable answer True or False by `f(value)`, `x == value` and True: the test is
    called directly, without the check's wrapper.
    """
    how = check.expected
    if getattr(how, "__bind__", _MISSING) is not None:
        return None
    name = getattr(check.check, "__name__", "")
    if name == "match_predicate" and isinstance(how, P):
        return how.match  # type: ignore[no-any-return]
    if name == "equal_literal" and isinstance(how, L):
        return partial(operator.eq, how.value)  # `value == actual`, as experta writes it
    if name == "wildcard_match" and isinstance(how, W):
        return _always
    return None


def _always(_value: Any) -> bool:
    return True


def _plain_field_test(what: str, test: Callable[[Any], Any], children: list[Callback]) -> Callback:
    """A field test that binds nothing: the token goes on unchanged when the test holds."""

    def activate(token: Any) -> None:
        for fact in token.data:
            value = dict.get(fact, what, _MISSING)
            if value is _MISSING:
                if not type(fact).__fields__:
                    return
                try:  # a declared field's default, as experta reads it (`fact[what]`)
                    value = fact[what]
                except KeyError:
                    return
            if test(value):
                for child in children:
                    child(token)
            return

    # What a dispatching parent needs to run this test in its own loop (`_dispatch`), and the
    # capture that follows it when that is its only child.
    capture = getattr(children[0], "capture", None) if len(children) == 1 else None
    activate.plain = (what, test, children, capture)  # type: ignore[attr-defined]
    return activate


def _field_test(check: Any, children: list[Callback]) -> Callback:
    what = check.what
    test = check.check
    expected = check.expected
    plain = _unbound_test(check)
    if plain is not None:
        return _plain_field_test(what, plain, children)

    def activate(token: Any) -> None:
        for fact in token.data:
            value = dict.get(fact, what, _MISSING)
            if value is _MISSING:
                if not type(fact).__fields__:
                    return
                try:  # a declared field's default, as experta reads it (`fact[what]`)
                    value = fact[what]
                except KeyError:
                    return
            match = test(value, expected)
            if not match:
                return
            if isinstance(match, Mapping):
                token = _merge(token, match)
                if token is None:
                    return
            for child in children:
                child(token)
            return

    return activate


def _capture(check: Any, children: list[Callback]) -> Callback:
    bind = check.bind
    if not isinstance(bind, str):
        return _general_capture(bind, children)
    negated = (False, bind)

    def activate(token: Any) -> None:
        # _merge(token, {bind: fact}) for a binding by name, spelt out.
        for fact in token.data:
            context = token.context
            if context:
                if context.get(bind, fact) != fact:
                    return
                if negated in context and context[negated] == fact:
                    return
                merged = dict(context)
                merged[bind] = fact
            else:
                merged = {bind: fact}
            new = _TUPLE_NEW(Token, (token.tag, set(token.data), merged))
            for child in children:
                child(new)
            return

    # What `_dispatch` needs to capture a fact itself, for a token with no bindings yet.
    activate.capture = (bind, children)  # type: ignore[attr-defined]
    return activate


def _general_capture(bind: Any, children: list[Callback]) -> Callback:
    def activate(token: Any) -> None:
        for fact in token.data:
            merged = _merge(token, {bind: fact})
            if merged is None:
                return
            for child in children:
                child(merged)
            return

    return activate


def _marking(node: Any, callback: Callback, marked: set[Any], touched: set[Any]) -> Callback:
    def activate(token: Any) -> None:
        marked.add(node)
        touched.add(node)
        callback(token)

    return activate


def _touching(node: Any, callback: Callback, touched: set[Any]) -> Callback:
    def activate(token: Any) -> None:
        touched.add(node)
        callback(token)

    return activate


def _info_of() -> Callable[[Any], Any]:
    """`token.to_info()` without its checks, remembering the last token's frozen facts and context.

    A token goes on unchanged down a chain of NOT nodes (a rule with several `none` items) and
    on to its conflict-set node, each of which keeps its info: it is frozen once. No node
    changes a token once made (alpha nodes copy before they bind), and the token is held while
    remembered, so no other token can take its identity. One per matcher: an engine belongs
    to one thread.
    """
    last: list[Any] = [None, None]

    def info_of(token: Any) -> Any:
        if token is last[0]:
            return last[1]
        info = _TUPLE_NEW(TokenInfo, (frozenset(token.data), frozenset(token.context.items())))
        last[0] = token
        last[1] = info
        return info

    return info_of


class FastActivation(Activation):  # type: ignore[misc]
    """experta's `Activation`, its hash computed once.

    experta hashes an activation (its rule, facts and context, frozen anew each time) whenever it
    is looked up in a conflict-set node's added or removed set; none of them changes. The hash is
    experta's own formula, so a FastActivation and an Activation of the same match are equal and
    hash alike.
    """

    def __init__(
        self,
        rule: Any,
        facts: frozenset[Any],
        context: dict[str, Any],
        items: frozenset[Any] | None = None,
    ):
        self.rule = rule
        self.facts = set(facts)
        self.key = None
        self.context = context
        if items is None:  # the context's items, frozen (given when the caller has them)
            items = frozenset(context.items())
        self._hash = hash((rule, facts, items))

    def __hash__(self) -> int:
        return self._hash


def _conflict_set(
    node: Any, marked: set[Any], touched: set[Any], info_of: Callable[[Any], Any]
) -> Callback:
    """`ConflictSetNode._activate`, as experta runs it, less the token's copy and checks."""
    rule = node.rule

    def activate(token: Any) -> None:
        marked.add(node)
        touched.add(node)
        info = info_of(token)
        data, items = info
        context = token.context
        bindings = {k: v for k, v in context.items() if isinstance(k, str)}
        # The activation's context is the token's less negated bindings: the same items when
        # there are none.
        activation = FastActivation(
            rule, data, bindings, items if len(bindings) == len(context) else None
        )
        if token.tag is _VALID:
            memory = node.memory
            if info not in memory:
                memory.add(info)
                removed = node.removed
                if removed and activation in removed:
                    removed.remove(activation)
                else:
                    node.added.add(activation)
        else:
            try:
                node.memory.remove(info)
            except ValueError:  # experta's own (a set raises KeyError: it never happens here)
                pass
            else:
                if activation in node.added:
                    node.added.remove(activation)
                else:
                    node.removed.add(activation)

    return activate


def _passes_empty_left(matcher: Any) -> bool:
    """Whether `matcher(left, right)` holds whenever the left context is empty.

    experta's SameContextCheck compares each binding of the left context with the right one's:
    with no binding on the left it holds without looking right.
    """
    return type(matcher) is SameContextCheck


_SAME_CONTEXT = SameContextCheck()


def _same_context(items: frozenset[tuple[Any, Any]], right: Mapping[Any, Any]) -> bool:
    """`SameContextCheck()(dict(items), right)` for a frozen context, without the dict.

    The check fails when a name bound on the left is bound differently on the right, or to the
    same value negated. Keys that are not plain names (a negated binding, which experta's check
    refuses with an error, in its own order) go to experta's check itself.
    """
    for key, _ in items:
        if type(key) is not str or not key:
            return bool(_SAME_CONTEXT(dict(items), right))
    for key, value in items:
        if key in right and value != right[key]:
            return False
        negated = (False, key)
        if negated in right and value == right[negated]:
            return False
    return True


def _not_node(
    node: Any, touched: set[Any], info_of: Callable[[Any], Any]
) -> tuple[Callback, Callback]:
    """A NotNode's left and right inputs, as experta's `_activate_left/_right` run them.

    Tokens are built without experta's checks (their facts were checked when first made).
    """
    matcher = node.matcher
    trivial = _passes_empty_left(matcher)

    def activate_left(token: Any) -> None:
        touched.add(node)
        right_memory = node.right_memory
        if not right_memory:
            if token.tag is _VALID:
                node.left_memory[info_of(token)] = 0
            else:
                del node.left_memory[info_of(token)]
            for child in node.children:
                child.callback(token)
            return
        context = token.context
        valid = token.tag is _VALID
        count = 0
        if trivial and not context:
            count = len(right_memory) if valid else 1
        else:
            for _, right_context in right_memory:
                if matcher(context, dict(right_context)):
                    count += 1
                    if not valid:
                        break
        if count == 0:
            for child in node.children:
                child.callback(token)
        if valid:
            node.left_memory[info_of(token)] = count
        else:
            del node.left_memory[info_of(token)]

    def activate_right(token: Any) -> None:
        touched.add(node)
        if token.tag is _VALID:
            node.right_memory.append(info_of(token))
            inc = 1
        else:
            inc = -1
            node.right_memory.remove(info_of(token))
        left_memory = node.left_memory
        context = token.context
        for left in left_memory:
            if trivial:
                matched = _same_context(left.context, context)
            else:
                matched = matcher(dict(left.context), context)
            if matched:
                left_memory[left] += inc
                count = left_memory[left]
                if (count == 0 and inc == -1) or (count == 1 and inc == 1):
                    tag = _VALID if inc == -1 else _INVALID
                    new = _TUPLE_NEW(Token, (tag, set(left.data), dict(left.context)))
                    for child in node.children:
                        child.callback(new)

    return activate_left, activate_right


def _join(node: Any, touched: set[Any], info_of: Callable[[Any], Any]) -> tuple[Callback, Callback]:
    """An OrdinaryMatchNode's left and right inputs, as experta's `__activation` runs them."""
    matcher = node.matcher
    trivial = _passes_empty_left(matcher)

    def activation(token: Any, branch: list[Any], other: list[Any], is_left: bool) -> None:
        if token.tag is _VALID:
            branch.append(info_of(token))
        else:
            with contextlib.suppress(ValueError):
                branch.remove(info_of(token))
        context = token.context
        for other_data, other_items in other:
            other_context = dict(other_items)
            left, right = (context, other_context) if is_left else (other_context, context)
            if (trivial and not left) or matcher(left, right):
                new_context = {k: v for k, v in context.items() if isinstance(k, str)}
                for k, v in other_context.items():
                    if not isinstance(k, tuple):
                        new_context[k] = v
                new = _TUPLE_NEW(Token, (token.tag, token.data | other_data, new_context))
                for child in node.children:
                    child.callback(new)

    def activate_left(token: Any) -> None:
        touched.add(node)
        activation(token, node.left_memory, node.right_memory, True)

    def activate_right(token: Any) -> None:
        touched.add(node)
        activation(token, node.right_memory, node.left_memory, False)

    return activate_left, activate_right


Entry = tuple[int, Callback, Any]
"""A dispatched child: its index among its parent's children, its callback, and what
`_dispatch` needs to run it in place when it is a plain field test (else None)."""


def _dispatch(
    by_field: dict[str, list[Entry]],
    by_literal: dict[str, dict[Any, list[Entry]]],
    rest: list[Entry],
) -> Callback:
    """Hand a fact only to the field tests that can pass.

    Those are the tests on a field the fact has and, for a literal, on the value it has (each
    test still runs). Children are called in their order.
    """
    everything = sorted(
        [
            *rest,
            *(entry for entries in by_field.values() for entry in entries),
            *(e for tests in by_literal.values() for entries in tests.values() for e in entries),
        ],
        key=_first,
    )

    if not rest and not by_field and len(by_literal) == 1:
        ((what, literals),) = by_literal.items()
        return _dispatch_literal(what, literals, everything)
    field_keys = by_field.keys()
    literal_keys = by_literal.keys()

    def activate(token: Any) -> None:
        for fact in token.data:
            if type(fact).__fields__:
                # Declared fields have defaults the fact's own keys do not show: every test
                # reads the fact as experta does.
                chosen = everything
            else:
                chosen = list(rest)
                keys = fact.keys()
                # The fields the fact has that some test reads (a set intersection, in C).
                for key in keys & field_keys:
                    chosen.extend(by_field[key])
                for key in keys & literal_keys if literal_keys else ():
                    literals = by_literal[key]
                    if literals:
                        value = fact[key]
                        if type(value) in _HASHED_AS_EQUAL:
                            tests = literals.get(value)
                        else:
                            # Unhashable, or a type whose `==` may be looser than its hash:
                            # every literal test on the field sees it, as in experta.
                            tests = [e for entries in literals.values() for e in entries]
                        if tests:
                            chosen.extend(tests)
                # By index: entries begin with distinct indexes, so the tuples' own order is
                # the index order (nothing after the index is ever compared).
                chosen.sort()
                _run_chosen(chosen, token, fact)
                return
            for _, callback, _ in chosen:
                callback(token)
            return

    return activate


def _run_chosen(chosen: list[Entry], token: Any, fact: Any) -> None:
    """Run the children chosen for `fact` (it has each one's field), in their order.

    Each plain test here rather than through its closure: the fact has the field (it was
    chosen by it), so the test reads it and, when it holds, hands the token on as the closure
    would.
    """
    for _, callback, plain in chosen:
        if plain is None:
            callback(token)
            continue
        what, test, below, capture = plain
        if test(fact[what]):
            if capture is not None and not token.context:
                # The capture below, as `_capture` runs it on a token with no bindings: a new
                # token binding the fact.
                bind, after = capture
                new = _TUPLE_NEW(Token, (token.tag, set(token.data), {bind: fact}))
                for child in after:
                    child(new)
            else:
                for child in below:
                    child(token)


def _dispatch_literal(
    what: str, literals: dict[Any, list[Entry]], everything: list[Entry]
) -> Callback:
    """`_dispatch` for children that all test one field for a literal (`Derived(id=...)`).

    A conclusion fact meets only the tests of its own id: its value picks them, already in
    their order, without `_dispatch`'s key sets and sort (a fact per firing).
    """

    def activate(token: Any) -> None:
        for fact in token.data:
            if type(fact).__fields__:
                for _, callback, _ in everything:  # declared defaults: as `_dispatch` does
                    callback(token)
                return
            value = dict.get(fact, what, _MISSING)
            if value is _MISSING:
                return
            if type(value) in _HASHED_AS_EQUAL:
                chosen = literals.get(value)
            else:
                # As in `_dispatch`: every literal test on the field sees it.
                chosen = sorted(e for entries in literals.values() for e in entries)
            if chosen:
                _run_chosen(chosen, token, fact)
            return

    return activate


def _first(entry: Entry) -> int:
    return entry[0]


DISPATCH_FROM = 8
"""A parent with at least this many children dispatches on the fact's fields (fewer: a loop)."""


_ENTRIES = {
    "activate": "_activate",
    "activate_left": "_activate_left",
    "activate_right": "_activate_right",
}


def _uncopied(node: Any, callback: Callback) -> Callback:
    """A join, NOT or conflict-set node's input without experta's defensive copy of the token.

    These nodes never change a token they receive (they keep `to_info()` snapshots, and a join
    makes new tokens); the nodes that do change one, alpha nodes, copy before they do.
    """
    name = getattr(callback, "__name__", "")
    if getattr(callback, "__self__", None) is not node or name not in _ENTRIES:
        return callback
    if not isinstance(node, ConflictSetNode | NotNode | OrdinaryMatchNode):
        return callback
    return getattr(node, _ENTRIES[name])  # type: ignore[no-any-return]


_MEMORIES: dict[type, tuple[str, ...]] = {
    ConflictSetNode: ("memory",),
    NotNode: ("left_memory", "right_memory"),
    OrdinaryMatchNode: ("left_memory", "right_memory"),
}
"""The memories each kind of node keeps (what its `_reset` replaces); their contents (token
infos, counts) are immutable, so a shallow copy is a copy."""


_TWO_INPUTS: dict[
    type, Callable[[Any, set[Any], Callable[[Any], Any]], tuple[Callback, Callback]]
] = {
    NotNode: _not_node,
    OrdinaryMatchNode: _join,
}


def _own_entry(node: Any, callback: Any) -> str:
    """The name of the node's own input this callback is (`activate`...), or ''."""
    name = getattr(callback, "__name__", "")
    if getattr(callback, "__self__", None) is not node or name not in _ENTRIES:
        return ""
    return str(name)


def _plain_field(check: Any) -> bool:
    """A field test experta would apply to `fact[what]` itself (no nested access, no index)."""
    what = check.what
    return isinstance(what, str) and "__" not in what and not what.isnumeric()


def _fast_field_node(child: Any) -> bool:
    """Whether this module runs the alpha node itself.

    It does for a type test (of a fact class without field defaults), a plain field test or a
    fact capture, reached through the node's ordinary entry point.
    """
    node = child.node
    if type(node) is not FeatureTesterNode or child.callback != node.activate:
        return False
    check = node.matcher
    if isinstance(check, TypeCheck):
        return not check.fact_type.__fields__  # no declared fields, so no default values
    if isinstance(check, FeatureCheck):
        return _plain_field(check)
    return isinstance(check, FactCapture)


def _literal(check: Any) -> bool:
    """A field test for one hashable literal value, binding nothing (`Derived(id='x')`)."""
    how = check.how
    if not isinstance(how, L) or how.__bind__ is not None:
        return False
    # Looked up by hash: only for values whose equality their hash follows.
    return type(how.value) in _HASHED_AS_EQUAL


class FastReteMatcher(ReteMatcher):  # type: ignore[misc]
    """A ReteMatcher that activates experta's network along the shorter path described above.

    Its conflict-set cache also belongs to the matcher: experta caches the list of conflict-set
    nodes with a class-level `lru_cache(maxsize=1)`, so two engines in one process would evict
    each other's cache on every call and re-walk the network.
    """

    def __init__(self, engine: Any):
        self._conflict_set_nodes: tuple[Any, ...] | None = None
        super().__init__(engine)
        nodes = self._nodes()
        self._memory_nodes = tuple(n for n in nodes if type(n)._reset is not NoMemory._reset)
        self._rank = {node: index for index, node in enumerate(self._get_conflict_set_nodes())}
        self._dirty: set[Any] = set()
        self._touched: set[Any] = set(self._memory_nodes)
        self._saved: list[tuple[Any, tuple[tuple[str, Any], ...]]] | None = None
        self._saved_nodes: frozenset[Any] = frozenset()
        self._rewire(nodes)

    def _get_conflict_set_nodes(self) -> tuple[Any, ...]:
        # experta's order (depth first, first visit), without its list-membership test per
        # node: quadratic, seconds at 10,000 rules.
        if self._conflict_set_nodes is None:
            found: dict[int, Any] = {}
            stack = [self.root_node]
            while stack:
                node = stack.pop()
                if isinstance(node, ConflictSetNode):
                    found.setdefault(id(node), node)
                stack.extend(child.node for child in reversed(node.children))
            self._conflict_set_nodes = tuple(found.values())
        return self._conflict_set_nodes

    def _nodes(self) -> list[Any]:
        """Every node of the network once, parents before children."""
        seen: set[int] = set()
        order: list[Any] = []
        stack = [self.root_node]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            order.append(node)
            stack.extend(child.node for child in reversed(node.children))
        return order

    def _rewire(self, nodes: list[Any]) -> None:
        """Give every parent fast callbacks for its children (children keep their order).

        Field tests are chained into closures down to the first join or conflict-set node; a
        parent with many field tests below it dispatches on the fact's fields; every node with
        a memory is marked when a token reaches it (for `reset`), every conflict-set node also
        for `changes`.
        """
        memo: dict[tuple[int, str], Callback] = {}
        beta: dict[int, tuple[Callback, Callback]] = {}
        below_type: dict[int, list[Callback]] = {}
        info_of = _info_of()

        def callback_of(child: Any) -> Callback:
            node, callback = child.node, child.callback
            key = (id(node), getattr(callback, "__name__", ""))
            if key in memo:
                return memo[key]
            fast: Callback = callback
            entry = _own_entry(node, callback)
            if entry == "activate" and type(node) is ConflictSetNode:
                fast = _conflict_set(node, self._dirty, self._touched, info_of)
            elif entry in ("activate_left", "activate_right") and type(node) in _TWO_INPUTS:
                pair = beta.get(id(node))
                if pair is None:
                    pair = beta[id(node)] = _TWO_INPUTS[type(node)](node, self._touched, info_of)
                fast = pair[0] if entry == "activate_left" else pair[1]
            elif isinstance(node, ConflictSetNode):
                fast = _marking(node, _uncopied(node, callback), self._dirty, self._touched)
            elif type(node)._reset is not NoMemory._reset:
                fast = _touching(node, _uncopied(node, callback), self._touched)
            elif _fast_field_node(child):
                check = node.matcher
                below = fan_out(node.children)
                if isinstance(check, TypeCheck):
                    fast = _type_test(check.fact_type, below)
                    below_type[id(node)] = below
                elif isinstance(check, FeatureCheck):
                    fast = _field_test(check, below)
                else:
                    fast = _capture(check, below)
            memo[key] = fast
            return fast

        def fan_out(children: list[Any]) -> list[Callback]:
            callbacks = [callback_of(child) for child in children]
            if len(children) < DISPATCH_FROM:
                return callbacks
            by_field: dict[str, list[Entry]] = {}
            by_literal: dict[str, dict[Any, list[Entry]]] = {}
            rest: list[Entry] = []
            for index, (child, callback) in enumerate(zip(children, callbacks, strict=True)):
                check = child.node.matcher if _fast_field_node(child) else None
                entry = (index, callback, getattr(callback, "plain", None))
                if not isinstance(check, FeatureCheck):
                    rest.append(entry)
                elif _literal(check):
                    literals = by_literal.setdefault(check.what, {})
                    literals.setdefault(check.how.value, []).append(entry)
                else:
                    by_field.setdefault(check.what, []).append(entry)
            return [_dispatch(by_field, by_literal, rest)]

        # Computed from the network as experta built it, then installed.
        rewired = {
            id(node): [ChildNode(child.node, callback_of(child)) for child in node.children]
            for node in nodes
        }
        for node in nodes:
            node.children = rewired[id(node)]
        # The root hands each fact to its type tests, a few: a loop.
        self.root_node.children = [
            ChildNode(child.node, callback_of(child)) for child in self.root_node.children
        ]
        # When they are all type tests this module runs, `changes` goes straight to the tests
        # below the one for the fact's type (each fact passes exactly one).
        self._by_type: dict[type, list[Callback]] | None = {}
        for child in self.root_node.children:
            below = below_type.get(id(child.node))
            if below is None:  # not a type test run here
                self._by_type = None
                break
            self._by_type[child.node.matcher.fact_type] = below

    def changes(self, adding: Any = None, deleting: Any = None) -> tuple[list[Any], list[Any]]:
        """Pass the changes to the network; collect activations from the nodes they reached."""
        if deleting is not None:
            for deleted in deleting:
                self.root_node.remove(deleted)
        if adding is not None:
            by_type = self._by_type
            children = self.root_node.children
            for added_fact in adding:
                # BusNode.add: a valid token of the fact, to every child (the fact was checked
                # when it was declared).
                token = _TUPLE_NEW(Token, (_VALID, {added_fact}, {}))
                if by_type is not None:
                    # Every child is a type test: only the one for the fact's type passes it on.
                    for callback in by_type.get(type(added_fact), ()):
                        callback(token)
                else:
                    for child in children:
                        child.callback(token)
        added: list[Any] = []
        removed: list[Any] = []
        dirty = self._dirty
        if dirty:
            # In the network's order, as experta's full walk would return them.
            for node in sorted(dirty, key=self._rank.__getitem__) if len(dirty) > 1 else dirty:
                if type(node) is ConflictSetNode:
                    # ConflictSetNode.get_activations, spelt out.
                    node_added, node_removed = node.added, node.removed
                    node.added = set()
                    node.removed = set()
                else:
                    node_added, node_removed = node.get_activations()
                added.extend(node_added)
                removed.extend(node_removed)
            dirty.clear()
        return added, removed

    def reset(self) -> None:
        """Forget every match: each node with a memory that a token reached, once."""
        for node in self._touched:
            node._reset()
        self._touched.clear()

    def remember(self) -> bool:
        """Keep the memories the network holds now, for `restore`; False if it cannot.

        Called right after a reset and its initial facts: `restore` then brings the network
        back to that state without passing the initial facts through it again.
        """
        saved: list[tuple[Any, tuple[tuple[str, Any], ...]]] = []
        for node in self._touched:
            names = _MEMORIES.get(type(node))
            if names is None:  # a memory this module does not know how to copy
                self._saved = None
                return False
            saved.append((node, tuple((name, getattr(node, name).copy()) for name in names)))
        self._saved = saved
        self._saved_nodes = frozenset(node for node, _ in saved)
        return True

    def restore(self) -> None:
        """`reset()`, then the memories `remember()` kept (copies: the network changes them)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError("restore() without a successful remember()")
        kept = self._saved_nodes
        touched = self._touched
        for node in touched - kept:
            # The node's own _reset, spelt out for experta's three kinds of memory node.
            kind = type(node)
            if kind is NotNode:
                node.left_memory = {}
                node.right_memory = []
            elif kind is OrdinaryMatchNode:
                node.left_memory = []
                node.right_memory = []
            elif kind is ConflictSetNode:
                node.memory = set()
            else:
                node._reset()
        for node, memories in saved:
            for name, memory in memories:
                setattr(node, name, memory.copy())
        # The same set object: the network's callbacks add to it.
        touched.clear()
        touched.update(kept)


__all__ = ["FastReteMatcher"]
