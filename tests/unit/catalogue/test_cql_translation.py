"""The CQL translator: every query either translates or is a diagnostic, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fjernlaan.catalogue.cqlquery import CqlDiagnostic, translate
from fjernlaan.catalogue.query import And, Field, Lookup, LookupKind, Match, Not, Or, Term

INDEXES = ["cql.serverChoice", "dc.title", "dc.creator", "dc.subject", "dc.identifier", "bath.isbn", "rec.id"]
word = st.text(alphabet="abcæøåÆØÅéxyz019", min_size=1, max_size=8)
clause = st.builds(
    lambda i, r, w: f'{i} {r} "{w}"',
    st.sampled_from(INDEXES),
    st.sampled_from(["=", "==", "all", "any", "exact"]),
    word,
)
query = st.recursive(
    clause,
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or", "not"]), inner
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(query)
def test_well_formed_cql_always_translates(text: str) -> None:
    translate(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_translates_or_is_a_diagnostic(text: str) -> None:
    try:
        translate(text)
    except CqlDiagnostic as exc:
        assert exc.code in {10, 16, 19, 37, 80}


def test_booleans_keep_their_shape() -> None:
    result = translate("a and (dc.title = b or bath.isbn = 9788702173437) not dc.subject any c").query
    assert result == Not(
        And(Term(Field.ANY, ("a",)), Or(Term(Field.TITLE, ("b",)), Lookup(LookupKind.ISBN, "9788702173437"))),
        Term(Field.SUBJECT, ("c",), Match.ANY),
    )


def test_danish_words_are_folded() -> None:
    assert translate('dc.title = "Århus Æbler"').query == Term(Field.TITLE, ("aarhus", "aebler"))


def test_an_unknown_index_is_diagnostic_16() -> None:
    try:
        translate("foo.bar = x")
    except CqlDiagnostic as exc:
        assert exc.code == 16
    else:
        raise AssertionError("no diagnostic")
