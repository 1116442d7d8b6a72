"""models/ speaks of the store only: no Salesforce vocabulary outside a justified allow-list."""

from __future__ import annotations

import re
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
#: The source's words: its name and abbreviations, its objects and its version field.
VOCABULARY = re.compile(r"salesforce|sforce|sf_|sfdc|opportunit|systemmodstamp|soql", re.I)

#: Text a models/ line may hold though it matches the vocabulary, by file, and why.
ALLOWED: dict[str, tuple[str, ...]] = {
    # The custom-field keys of the billing model's customers and contracts: data the API's
    # clients read and write under these names, which the store reserves and (the account id)
    # keeps in canonical form. Renaming them would change the API and the stored rows.
    "*": ("SFDC_ACCOUNT_ID", "SFDC_OPPORTUNITY_ID", "sfdc_account_id", "sfdc_opportunity_id"),
    # Stored values, written in rows and named in a CHECK since migration 0007; renaming them
    # is a data migration and a change of what `aliases` show. The member says what it is.
    "types.py": (
        'EXTERNAL = "salesforce"',
        # The streams' and letter sources' names: stored (cursors, runs, letters) and shown
        # (`--stream`, `dlq list`). The streams move to sync/'s registry (issue #27 item 1).
        'OPPORTUNITIES = "opportunities"',
        'OPPORTUNITY = "salesforce.opportunity"',
        'ACCOUNT = "salesforce.account"',
        'WRITEBACK = "salesforce.writeback"',
    ),
    "tables/customers.py": ("(source = 'salesforce')",),
    # config's record-id algorithm, named by config: a key shaped like an Account id is
    # canonical in its 18-character form.
    "keys.py": ("salesforce_id_18",),
}


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(MODELS)): path.read_text()
        for path in MODELS.rglob("*.py")
        if "migrations" not in path.relative_to(MODELS).parts
    }


def vocabulary_lines(sources: dict[str, str]) -> list[str]:
    """`path:line: text` of each line still speaking the source's vocabulary once the allowed
    text of its file is taken out."""
    found = []
    for path, text in sorted(sources.items()):
        allowed = ALLOWED["*"] + ALLOWED.get(path, ())
        for number, line in enumerate(text.splitlines(), 1):
            rest = line
            for phrase in allowed:
                rest = rest.replace(phrase, "")
            if VOCABULARY.search(rest):
                found.append(f"{path}:{number}: {line.strip()}")
    return found


def test_the_scan_finds_vocabulary_outside_the_allow_list() -> None:
    """A SystemModstamp in a docstring, or a `salesforce` value in another file, is reported."""
    sources = {
        "x.py": '"""Written at the SystemModstamp."""\nsfdc_account_id = 1\n',
        "y.py": 'EXTERNAL = "salesforce"\n',
    }
    assert vocabulary_lines(sources) == [
        'x.py:1: """Written at the SystemModstamp."""',
        'y.py:1: EXTERNAL = "salesforce"',
    ]


def test_models_speak_no_salesforce_outside_the_allow_list() -> None:
    """Outside its migrations, models/ names no Salesforce thing but the allowed data."""
    sources = _sources()
    assert "types.py" in sources and "tables/customers.py" in sources
    assert vocabulary_lines(sources) == []
