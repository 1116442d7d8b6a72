"""A contract's lifecycle in the store: active, ended, archived, reactivated — each a revision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sfsync.models import ChangeNeedsApproval, Store
from sfsync.models.contracts.records import (
    ContractOutcome,
    billing_period,
    end_contract,
    get_contract,
    set_end_by_operator,
    upsert_contract_by_field,
)
from sfsync.models.contracts.revisions import Change, history
from sfsync.models.types import ContractStatus, EndSource, RevisionKind
from tests.store.conftest import MakeCustomer, spec

START = datetime(2026, 1, 1, tzinfo=UTC)
TERM_END = datetime(2027, 1, 1, tzinfo=UTC)
KEY = "sfdc_opportunity_id"


def sf(at: datetime, run_id: int = 7) -> Change:
    """A change from Salesforce at SystemModstamp `at`."""
    return Change("sync run", source_version=at, run_id=run_id)


def test_a_deal_lost_after_the_start_ends_its_contract_at_the_change(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Started: `ended` with ending_before at the SystemModstamp; the revision keeps both terms."""
    cid = make_customer()
    lost_at = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
        assert end_contract(s, contract.id, lost_at, sf(lost_at, run_id=8))
        assert not end_contract(s, contract.id, lost_at + timedelta(days=1), sf(lost_at))
    with store.session() as s:
        contract = get_contract(s, contract.id)
        assert (contract.status, contract.ending_before) == (ContractStatus.ENDED, lost_at)
        assert contract.end_source is EndSource.SYNC
        created, ended = history(s, contract.id)
    assert (created.kind, created.before) == (RevisionKind.CREATED, None)
    assert ended.kind is RevisionKind.ENDED
    assert ended.before is not None
    assert ended.before["ending_before"] == TERM_END.isoformat()
    assert ended.after["ending_before"] == lost_at.isoformat()
    assert (ended.after["status"], ended.source_version, ended.run_id) == ("ended", lost_at, 8)


def test_an_end_already_earlier_than_the_change_is_never_moved(
    store: Store, make_customer: MakeCustomer
) -> None:
    """A contract whose term is over is `ended` with its own end, not a later one."""
    cid = make_customer()
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
        end_contract(s, contract.id, TERM_END + timedelta(days=30), sf(TERM_END))
        assert (contract.status, contract.ending_before) == (ContractStatus.ENDED, TERM_END)


def test_a_deal_lost_before_the_start_archives_its_contract(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Not started: `archived` (void), its period left as it was, and it bills nothing."""
    cid = make_customer()
    before_start = START - timedelta(days=3)
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
        end_contract(s, contract.id, before_start, sf(before_start))
        assert (contract.status, contract.ending_before) == (ContractStatus.ARCHIVED, TERM_END)
        assert billing_period(contract) == (START, START)
        assert [r.kind for r in history(s, contract.id)] == [
            RevisionKind.CREATED,
            RevisionKind.ARCHIVED,
        ]


def test_a_deal_won_again_is_active_with_its_terms_undoing_only_sfsyncs_end(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Re-won: back to `active` with the deal's end; an operator's end would have stayed."""
    cid = make_customer()
    lost_at = datetime(2026, 3, 1, tzinfo=UTC)
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
        end_contract(s, contract.id, lost_at, sf(lost_at))
        _, outcome = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(lost_at))
        assert outcome is ContractOutcome.UPDATED
        assert (contract.status, contract.ending_before) == (ContractStatus.ACTIVE, TERM_END)
        assert contract.end_source is None
        assert history(s, contract.id)[-1].kind is RevisionKind.REACTIVATED


def test_an_operators_end_survives_an_end_and_a_re_win(
    store: Store, make_customer: MakeCustomer
) -> None:
    """sfsync never moves an end an operator set: not when ending, not when reactivating."""
    cid = make_customer()
    operator_end = datetime(2026, 6, 30, tzinfo=UTC)
    lost_at = datetime(2026, 3, 1, tzinfo=UTC)
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
        set_end_by_operator(s, contract.id, operator_end, "customer cancelled by phone")
        end_contract(s, contract.id, lost_at, sf(lost_at))
        assert (contract.status, contract.ending_before) == (ContractStatus.ENDED, operator_end)
        upsert_contract_by_field(s, cid, KEY, "006A", spec(amount=Decimal(1)), change=sf(lost_at))
        assert (contract.status, contract.ending_before) == (ContractStatus.ACTIVE, operator_end)
        assert contract.end_source is EndSource.OPERATOR


@pytest.mark.parametrize(
    "edit", [{"currency": "EUR"}, {"starting_at": START + timedelta(days=14)}], ids=str
)
def test_a_change_rewriting_a_started_contract_needs_an_operator(
    store: Store, make_customer: MakeCustomer, edit: dict[str, object]
) -> None:
    """Currency or start changed after the start: refused, unchanged, unless accepted."""
    cid = make_customer()
    later = START + timedelta(days=60)
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, cid, KEY, "006A", spec(), change=sf(START))
    with store.session() as s, pytest.raises(ChangeNeedsApproval, match="--accept-change"):
        upsert_contract_by_field(s, cid, KEY, "006A", spec(**edit), change=sf(later))
    with store.session() as s:
        assert len(history(s, contract.id)) == 1
        assert get_contract(s, contract.id).currency == "USD"
        _, outcome = upsert_contract_by_field(
            s, cid, KEY, "006A", spec(**edit), change=sf(later), accept_change=True
        )
        assert outcome is ContractOutcome.UPDATED
        assert history(s, contract.id)[-1].kind is RevisionKind.TERMS_EDITED


def test_a_contract_moved_to_another_customer_is_a_moved_revision(
    store: Store, make_customer: MakeCustomer
) -> None:
    """The deal's account changed: the contract follows to that customer."""
    first, second = make_customer(), make_customer()
    with store.session() as s:
        contract, _ = upsert_contract_by_field(s, first, KEY, "006A", spec(), change=sf(START))
        upsert_contract_by_field(s, second, KEY, "006A", spec(), change=sf(START))
        assert contract.customer_id == second
        moved = history(s, contract.id)[-1]
    assert moved.kind is RevisionKind.MOVED
    assert moved.before is not None
    assert (moved.before["customer_id"], moved.after["customer_id"]) == (str(first), str(second))
