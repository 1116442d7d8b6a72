"""Deals that stopped counting end their contracts (`sync.gone_deals`), on SQLite and PostgreSQL.

Only records whose contract the store holds are gone deals; a record re-read with the very
SystemModstamp its contract was written from is unchanged; a gone deal's contract is ended
at the record's SystemModstamp (archived if it had not started), once, with a revision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sfsync.models import Store
from sfsync.models.contracts.records import create_contract, get_contract
from sfsync.models.contracts.revisions import Change, history
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import ContractStatus, RevisionKind
from sfsync.sync.gone_deals import GoneDeal, apply_gone, gone_deals, unchanged_deals
from sfsync.sync.salesforce import OpportunityRow, normalize_id
from tests.store.conftest import MakeCustomer, spec

HELD, LATE, STRANGER = (normalize_id(f"006{n:012d}") for n in range(1, 4))
WON_AT = datetime(2026, 2, 1, tzinfo=UTC)
STAMP = "2026-06-01T09:30:00.000+0000"
AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
RUN = Change("opportunity stream", run_id=3)


def rows(*records: dict[str, object]) -> list[OpportunityRow]:
    return [OpportunityRow.of(r) for r in records]


def _contract(store: Store, customer: uuid.UUID, opportunity: str, **terms: object) -> uuid.UUID:
    with store.session() as s:
        change = Change("won", source_version=WON_AT)
        return create_contract(
            s,
            customer,
            spec(**terms),
            custom_fields={SFDC_OPPORTUNITY_ID: opportunity},
            change=change,
        ).id


def test_only_records_of_held_deals_are_gone_deals(
    store: Store, make_customer: MakeCustomer
) -> None:
    """A held deal's record gives its contract and time; strangers and unreadable records
    give nothing."""
    contract = _contract(store, make_customer(), HELD)
    records = rows(
        {"Id": HELD, "SystemModstamp": STAMP, "IsDeleted": True},
        {"Id": STRANGER, "SystemModstamp": STAMP},
        {"Id": "not an id", "SystemModstamp": STAMP},
        {"Id": LATE, "SystemModstamp": "yesterday"},
    )
    with store.session() as s:
        assert gone_deals(s, records) == [GoneDeal(HELD, contract, AT, deleted=True)]
        assert gone_deals(s, records[1:]) == []


def test_a_record_with_the_stamp_its_contract_was_written_from_is_unchanged(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Same SystemModstamp as the contract's: unchanged; a later one, or a stranger: not."""
    customer = make_customer()
    _contract(store, customer, HELD)
    _contract(store, customer, LATE)
    won = "2026-02-01T00:00:00.000+0000"
    records = rows(
        {"Id": HELD, "SystemModstamp": won},
        {"Id": LATE, "SystemModstamp": STAMP},
        {"Id": STRANGER, "SystemModstamp": won},
    )
    with store.session() as s:
        assert unchanged_deals(s, records) == {HELD}


def test_a_started_contract_ends_and_one_not_started_is_archived_once(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Ended at the record's stamp (archived before its start), each with a revision saying
    why and which run; applying the same gone deals again changes nothing."""
    customer = make_customer()
    started = _contract(store, customer, HELD)
    future = _contract(
        store,
        customer,
        LATE,
        starting_at=datetime(2027, 1, 1, tzinfo=UTC),
        ending_before=datetime(2028, 1, 1, tzinfo=UTC),
    )
    gone = [GoneDeal(HELD, started, AT, deleted=False), GoneDeal(LATE, future, AT, deleted=True)]
    counters = RunCounters()
    with store.session() as s:
        apply_gone(s, gone, RUN, counters)
    assert (counters.contracts_ended, counters.contracts_archived) == (1, 1)
    with store.session() as s:
        ended, archived = get_contract(s, started), get_contract(s, future)
        assert (ended.status, ended.ending_before) == (ContractStatus.ENDED, AT)
        assert archived.status is ContractStatus.ARCHIVED
        last = history(s, started)[-1]
        assert (last.kind, last.cause) == (
            RevisionKind.ENDED,
            "opportunity no longer won; opportunity stream",
        )
        assert (last.source_version, last.run_id) == (AT, 3)
        assert (
            history(s, future)[-1].cause == "opportunity deleted in Salesforce; opportunity stream"
        )
    again = RunCounters()
    with store.session() as s:
        apply_gone(s, gone, RUN, again)
    assert (again.contracts_ended, again.contracts_archived) == (0, 0)
    with store.session() as s:
        assert len(history(s, started)) == 2
