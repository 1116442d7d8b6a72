"""Account changes after the close: aliases know their source, and hierarchies move them.

Each test builds its hierarchy in a nearly empty sandbox org, syncs, changes the hierarchy
the way an operator does in Salesforce, syncs again, and checks the store against what the
org's records say: which customer holds which alias (and from where), which customer is
archived into which, and where every usage event is attributed. A manual alias on every
customer involved must come through each change untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.moves import list_moves
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.records import list_contracts
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_by_field
from sfsync.models.customers.records import get_customer
from sfsync.models.customers.retirement import archive_customer
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.tables import AliasMove, Customer, IngestAlias
from sfsync.models.types import (
    AliasMoveReason,
    AliasSource,
    ContractStatus,
    CustomerStatus,
    DeadLetterStatus,
    utcnow,
)
from sfsync.models.usage.events import get_event
from sfsync.sandbox import SandboxOrg
from sfsync.sync.replay import replay_letter
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.usage import UsageRules, ingest
from tests.integration.conftest import Poll
from tests.integration.helpers import contract_of, won_deal

FIELD = "Ingest_Alias__c"


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh, nearly empty org per test: these tests build their own hierarchies."""
    with SandboxOrg(seed=5, accounts=3, opportunities=0) as org:
        yield org


def customer_of(store: Store, account: str) -> uuid.UUID:
    with store.session() as s:
        found = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account)
    assert found is not None, f"no customer for account {account}"
    return found


def holdings(store: Store) -> dict[str, tuple[uuid.UUID, str, str | None, str | None]]:
    """alias → (owner, source, source account, source field) for every alias in the store."""
    with store.session() as s:
        return {
            a.alias: (a.customer_id, a.source.value, a.source_account_id, a.source_field)
            for a in s.query(IngestAlias)
        }


def attach_manual(store: Store, customer: uuid.UUID, alias: str) -> None:
    with store.session() as s:
        add_aliases(s, customer, [alias])


def send_usage(store: Store, settings: Settings, key: str, transaction_id: str) -> None:
    event = {
        "transaction_id": transaction_id,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": (utcnow() - timedelta(hours=1)).isoformat(),
        "properties": {},
    }
    with store.session() as s:
        assert ingest(s, [event], UsageRules.of(settings)).counts()["accepted"] == 1


def attributed(store: Store, transaction_id: str) -> uuid.UUID | None:
    with store.session() as s:
        return get_event(s, transaction_id).customer_id


def open_letters(store: Store) -> list[str]:
    with store.session() as s:
        return [
            f"{x.error_class}: {x.error_message}"
            for x in list_letters(s, status=DeadLetterStatus.OPEN)
        ]


def test_every_alias_records_its_salesforce_account_and_field_or_manual(
    org: SandboxOrg, enterprise, sync_deals: Poll, sync_accounts: Poll, store: Store
) -> None:
    """Ids record field `Id`, alias-field values the field, and a hand-attached alias manual."""
    root = enterprise("Globex", "globex")
    sync_deals()
    child = org.create("Account", {"Name": "Globex JP", "ParentId": root, FIELD: "gjp"})
    sync_accounts()
    customer = customer_of(store, root)
    attach_manual(store, customer, "globex-ops")
    assert holdings(store) == {
        root: (customer, "salesforce", root, "Id"),
        "globex": (customer, "salesforce", root, FIELD),
        child: (customer, "salesforce", child, "Id"),
        "gjp": (customer, "salesforce", child, FIELD),
        "globex-ops": (customer, "manual", None, None),
    }


def test_a_detached_child_takes_its_aliases_and_its_usage_leaves_the_enterprise(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """ParentId set to null: the child's aliases leave, its usage is pending, manual stays."""
    root = enterprise("Initech", "initech")
    child = org.create("Account", {"Name": "Initech Labs", "ParentId": root, FIELD: "labs"})
    sync_deals()
    enterprise_customer = customer_of(store, root)
    attach_manual(store, enterprise_customer, "initech-ops")
    send_usage(store, sf_settings, "labs", "tx-labs-1")
    send_usage(store, sf_settings, "initech-ops", "tx-ops-1")
    assert attributed(store, "tx-labs-1") == enterprise_customer

    org.update("Account", child, {"ParentId": None})
    sync_accounts()

    held = holdings(store)
    assert {a for a, h in held.items() if h[0] == enterprise_customer} == {
        root,
        "initech",
        "initech-ops",
    }
    assert child not in held and "labs" not in held
    assert attributed(store, "tx-labs-1") is None  # pending again
    assert attributed(store, "tx-ops-1") == enterprise_customer
    with store.session() as s:
        moves = {(m.alias, m.reason) for m in s.query(AliasMove)}
    assert moves == {(child, AliasMoveReason.DETACHED), ("labs", AliasMoveReason.DETACHED)}
    assert open_letters(store) == []

    # A won deal on the detached account: its own customer, which gets the usage.
    won_deal(org, child, Name="Labs - New")
    sync_deals()
    own = customer_of(store, child)
    assert attributed(store, "tx-labs-1") == own
    assert holdings(store)["labs"] == (own, "salesforce", child, FIELD)
    assert open_letters(store) == []


def test_a_deal_on_a_detached_child_before_the_account_stream_runs_claims_its_aliases(
    org: SandboxOrg, enterprise, sync_deals: Poll, store: Store, sf_settings: Settings
) -> None:
    """The deal's customer takes the child's aliases from the enterprise: no dead letter."""
    root = enterprise("Umbrella", "umbrella")
    child = org.create("Account", {"Name": "Umbrella Bio", "ParentId": root, FIELD: "bio"})
    sync_deals()
    send_usage(store, sf_settings, child, "tx-bio-1")
    org.update("Account", child, {"ParentId": None})
    won_deal(org, child, Name="Bio - New")
    sync_deals()
    assert open_letters(store) == []
    own = customer_of(store, child)
    assert holdings(store)[child] == (own, "salesforce", child, "Id")
    assert attributed(store, "tx-bio-1") == own
    assert {a for a, h in holdings(store).items() if h[0] == customer_of(store, root)} == {
        root,
        "umbrella",
    }


def test_a_re_parented_child_moves_with_a_record_of_the_move(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """Under another enterprise: aliases and usage move, the move is recorded, manual stays."""
    old_root, new_root = enterprise("Old Parent"), enterprise("New Parent")
    child = org.create("Account", {"Name": "Sub", "ParentId": old_root, FIELD: "sub"})
    sync_deals()
    old, new = customer_of(store, old_root), customer_of(store, new_root)
    attach_manual(store, old, "old-ops")
    send_usage(store, sf_settings, "sub", "tx-sub-1")
    org.update("Account", child, {"ParentId": new_root})
    sync_accounts()
    held = holdings(store)
    assert held["sub"] == (new, "salesforce", child, FIELD)
    assert held[child] == (new, "salesforce", child, "Id")
    assert held["old-ops"] == (old, "manual", None, None)
    assert attributed(store, "tx-sub-1") == new
    with store.session() as s:
        moves = {
            (m.alias, m.from_customer_id, m.to_customer_id, m.reason) for m in s.query(AliasMove)
        }
    assert moves == {
        (child, old, new, AliasMoveReason.REPARENTED),
        ("sub", old, new, AliasMoveReason.REPARENTED),
    }
    assert open_letters(store) == []


def test_an_acquired_root_merges_its_customer_into_the_acquirer(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """A root with its own customer placed under another root: one customer, the other archived."""
    acquirer, acquired = enterprise("Acquirer", "acq"), enterprise("Target", "target")
    sub = org.create("Account", {"Name": "Target EU", "ParentId": acquired, FIELD: "target-eu"})
    sync_deals()
    survivor, absorbed = customer_of(store, acquirer), customer_of(store, acquired)
    attach_manual(store, absorbed, "target-ops")
    send_usage(store, sf_settings, "target-eu", "tx-eu-1")
    send_usage(store, sf_settings, "target-ops", "tx-ops-1")

    org.update("Account", acquired, {"ParentId": acquirer})
    sync_accounts()

    assert open_letters(store) == []
    held = holdings(store)
    for alias, account, field in [
        (acquired, acquired, "Id"),
        ("target", acquired, FIELD),
        (sub, sub, "Id"),
        ("target-eu", sub, FIELD),
    ]:
        assert held[alias] == (survivor, "salesforce", account, field)
    assert held["target-ops"] == (absorbed, "manual", None, None)
    assert attributed(store, "tx-eu-1") == survivor
    assert attributed(store, "tx-ops-1") == absorbed
    with store.session() as s:
        gone = get_customer(s, absorbed)
        assert (gone.status, gone.merged_into) == (CustomerStatus.ARCHIVED, survivor)
        assert {c.customer_id for c in list_contracts(s)} == {survivor}
        assert len(list_contracts(s)) == 2

    # Deals keep flowing: a new deal on the acquired account is the survivor's.
    won_deal(org, acquired, Name="Target - Upsell")
    sync_deals()
    assert open_letters(store) == []
    with store.session() as s:
        assert {c.customer_id for c in list_contracts(s)} == {survivor}
        assert len(list_contracts(s)) == 3


def test_a_deal_on_an_acquired_root_before_the_account_stream_merges_and_provisions(
    org: SandboxOrg, enterprise, sync_deals: Poll, store: Store
) -> None:
    """The deal path merges too: the acquired customer's deal never dead-letters."""
    acquirer, acquired = enterprise("Parent Co"), enterprise("Bought Co", "bought")
    sync_deals()
    survivor, absorbed = customer_of(store, acquirer), customer_of(store, acquired)
    org.update("Account", acquired, {"ParentId": acquirer})
    won_deal(org, acquired, Name="Bought - Renewal")
    sync_deals()
    assert open_letters(store) == []
    with store.session() as s:
        assert get_customer(s, absorbed).merged_into == survivor
        assert {c.customer_id for c in list_contracts(s)} == {survivor}
        assert len(list_contracts(s)) == 3
    assert holdings(store)["bought"][:3] == (survivor, AliasSource.EXTERNAL.value, acquired)


def test_a_salesforce_merge_moves_the_losers_customer_into_the_masters(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """Loser deleted with MasterRecordId: contracts, aliases and usage move; loser archived."""
    master, loser = enterprise("Master Co", "master"), enterprise("Loser Co", "loser")
    loser_sub = org.create("Account", {"Name": "Loser Sub", "ParentId": loser, FIELD: "lsub"})
    sync_deals()
    survivor, absorbed = customer_of(store, master), customer_of(store, loser)
    attach_manual(store, absorbed, "loser-ops")
    send_usage(store, sf_settings, "loser", "tx-loser-1")
    send_usage(store, sf_settings, loser, "tx-loser-2")
    send_usage(store, sf_settings, "lsub", "tx-lsub-1")

    org.merge(master, [loser])
    assert org.get("Account", loser_sub)["ParentId"] == master  # what Salesforce does
    sync_accounts()

    assert open_letters(store) == []
    held = holdings(store)
    assert held[loser] == (survivor, "salesforce", master, "MasterRecordId")
    assert held["loser"] == (survivor, "salesforce", master, "MasterRecordId")
    assert held[loser_sub] == (survivor, "salesforce", loser_sub, "Id")
    assert held["lsub"] == (survivor, "salesforce", loser_sub, FIELD)
    assert held["loser-ops"] == (absorbed, "manual", None, None)
    for tx in ("tx-loser-1", "tx-loser-2", "tx-lsub-1"):
        assert attributed(store, tx) == survivor
    with store.session() as s:
        gone = get_customer(s, absorbed)
        assert (gone.status, gone.merged_into) == (CustomerStatus.ARCHIVED, survivor)
        assert {c.customer_id for c in list_contracts(s)} == {survivor}

    # Read again (lookback) and after the deals' own re-parenting: nothing changes back.
    sync_accounts(full=True)
    sync_deals()
    assert open_letters(store) == []
    assert holdings(store) == held
    with store.session() as s:
        assert {c.customer_id for c in list_contracts(s)} == {survivor}
        assert len(list_contracts(s)) == 2


def test_aliases_merged_into_a_master_follow_it_to_another_enterprise(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """A merge's aliases stay the master's: re-parented, the master takes them along."""
    first, second = enterprise("Holding One", "h-one"), enterprise("Holding Two", "h-two")
    master = org.create("Account", {"Name": "Ops", "ParentId": first, FIELD: "ops"})
    loser = org.create("Account", {"Name": "Ops Dup", "ParentId": first, FIELD: "ops-dup"})
    sync_deals()
    old, new = customer_of(store, first), customer_of(store, second)
    send_usage(store, sf_settings, "ops-dup", "tx-dup-1")
    org.merge(master, [loser])
    sync_accounts()
    assert holdings(store)["ops-dup"] == (old, "salesforce", master, "MasterRecordId")

    org.update("Account", master, {"ParentId": second})
    sync_accounts()

    assert open_letters(store) == []
    held = holdings(store)
    # The org's truth: the master and what came to it through the merge now sit under
    # the second enterprise, whose customer holds them.
    assert held[master] == (new, "salesforce", master, "Id")
    assert held["ops"] == (new, "salesforce", master, FIELD)
    assert held[loser] == (new, "salesforce", master, "MasterRecordId")
    assert held["ops-dup"] == (new, "salesforce", master, "MasterRecordId")
    assert attributed(store, "tx-dup-1") == new
    with store.session() as s:
        moves = {
            (m.alias, m.from_customer_id, m.to_customer_id, m.reason) for m in s.query(AliasMove)
        }
    assert {(a, f, t, r) for a, f, t, r in moves if r is AliasMoveReason.REPARENTED} == {
        (alias, old, new, AliasMoveReason.REPARENTED) for alias in (master, "ops", loser, "ops-dup")
    }
    assert not any(t is None for _, _, t, _ in moves)  # nothing released on the way


@pytest.mark.parametrize("one_poll", [False, True], ids=["poll-between", "one-poll"])
def test_a_chain_of_merges_takes_every_alias_to_the_last_master_without_letters(
    one_poll: bool,
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
) -> None:
    """A into B, then B into C: A's and B's aliases end with C's customer; re-reads are quiet."""
    a, b, c = (
        enterprise("Chain A", "chain-a"),
        enterprise("Chain B", "chain-b"),
        enterprise("Chain C", "chain-c"),
    )
    sync_deals()
    last = customer_of(store, c)
    org.merge(b, [a])
    if not one_poll:
        sync_accounts()
    org.merge(c, [b])
    sync_accounts()
    sync_accounts(full=True)  # the first loser again, its master now merged away too

    assert open_letters(store) == []
    held = holdings(store)
    for alias in (a, "chain-a", b, "chain-b"):
        assert held[alias] == (last, "salesforce", c, "MasterRecordId"), alias
    assert held[c] == (last, "salesforce", c, "Id")
    with store.session() as s:
        assert {cu.id for cu in s.query(Customer) if cu.status is CustomerStatus.ACTIVE} >= {last}
        assert {
            cu.merged_into for cu in s.query(Customer) if cu.status is CustomerStatus.ARCHIVED
        } == {last}


@pytest.mark.parametrize("move", ["detach", "reparent"])
def test_a_sub_organisations_own_deal_follows_it_out_of_its_enterprise(
    move: str,
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    sf_settings: Settings,
) -> None:
    """Won long before its account leaves: the contract still goes with the account's new root."""
    parent, other = enterprise("Parent Co", "parent"), enterprise("Other Co", "other")
    child = org.create("Account", {"Name": "Parent Labs", "ParentId": parent, FIELD: "labs"})
    deal = won_deal(org, child, Name="Labs - Platform")
    # Five levels below the child, as deep as a hierarchy goes: its deal moves with it too.
    deep = child
    for level in range(5):
        deep = org.create("Account", {"Name": f"Labs L{level}", "ParentId": deep})
    deep_deal = won_deal(org, deep, Name="Labs - Deep")
    sync_deals()
    enterprise_customer = customer_of(store, parent)
    assert contract_of(store, deal).customer_id == enterprise_customer
    send_usage(store, sf_settings, "labs", "tx-labs-1")
    # Far past the lookback: the deals' own stream will not read this deal again.
    org.clock.advance(sf_settings.sync_lookback_seconds * 10)
    org.update("Account", child, {"ParentId": None if move == "detach" else other})
    sync_deals()
    sync_accounts()

    assert open_letters(store) == []
    # The org's truth: the deal's account now has as its root itself (detached) or the
    # other enterprise; that root's customer holds the deal and the account's aliases.
    root = child if move == "detach" else other
    new_home = customer_of(store, root)
    assert new_home != enterprise_customer
    moved = contract_of(store, deal)
    assert (moved.customer_id, moved.status) == (new_home, ContractStatus.ACTIVE)
    assert contract_of(store, deep_deal).customer_id == new_home
    with store.session() as s:
        assert [r.cause for r in history(s, moved.id)][-1] == "account moved"
    held = holdings(store)
    assert held["labs"][0] == held[child][0] == new_home
    assert attributed(store, "tx-labs-1") == new_home
    with store.session() as s:
        moved_ids = {moved.id, contract_of(store, deep_deal).id}
        own_deals = {c.customer_id for c in list_contracts(s) if c.id not in moved_ids}
    assert own_deals == {enterprise_customer, customer_of(store, other)}


def test_a_deal_for_an_archived_customers_account_is_a_dead_letter_saying_so(
    org: SandboxOrg, enterprise, sync_deals: Poll, sync_accounts: Poll, store: Store
) -> None:
    """Archived by hand: a new deal gets no contract, but a letter naming the archived customer."""
    account = enterprise("Retired Co", "retired")
    sync_deals()
    customer = customer_of(store, account)
    with store.session() as s:
        archive_customer(s, customer)
    upsell = won_deal(org, account, Name="Retired - Upsell")
    org.update("Account", account, {FIELD: "retired-2"})
    sync_deals()
    sync_accounts()
    with store.session() as s:
        (letter,) = list_letters(s, status=DeadLetterStatus.OPEN)
        assert (letter.reference, letter.error_class) == (upsell, "AccountArchived")
        assert str(customer) in letter.error_message and "archived" in letter.error_message
        assert len(list_contracts(s)) == 1
    assert holdings(store) == {}  # released, and the account stream gives it nothing new


def _big_hierarchy(org: SandboxOrg, root: str, children: int, per_child: int) -> list[str]:
    """`children` sub-organisations, each with `per_child` alias-field values."""
    return [
        org.create(
            "Account",
            {
                "Name": f"Sub {i}",
                "ParentId": root,
                FIELD: ";".join(f"c{i}-{j}" for j in range(per_child)),
            },
        )
        for i in range(children)
    ]


def test_a_hierarchy_over_2000_aliases_gets_its_contract_name_and_one_overflow_letter(
    org: SandboxOrg,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    client: SalesforceClient,
    sf_settings: Settings,
) -> None:
    """What fits is attached, the name kept current; the rest is one replayable letter."""
    root = org.create("Account", {"Name": "Mega Corp", FIELD: "mega"})
    subs = _big_hierarchy(org, root, 100, 20)  # 2 + 100 * 21 = 2,102 aliases
    won_deal(org, root, Name="Mega - New")
    sync_deals()
    customer = customer_of(store, root)
    with store.session() as s:
        assert [c.name for c in list_contracts(s)] == ["Mega - New"]
    assert len(holdings(store)) == 2000
    with store.session() as s:
        (letter,) = list_letters(s, status=DeadLetterStatus.OPEN)
        assert (letter.reference, letter.error_class) == (root, "AliasOverflow")
        assert "2102" in letter.error_message and "102 were not attached" in letter.error_message
        # The last sub-organisations in hierarchy order are the ones that did not fit.
        assert isinstance(letter.payload, dict)
        assert set(letter.payload["accounts"]) == set(sorted(subs)[-5:])
        assert {c.name for c in list_contracts(s)} == {"Mega - New"}

    org.update("Account", root, {"Name": "Mega Corp Global"})
    sync_accounts()
    with store.session() as s:
        assert get_customer(s, customer).name == "Mega Corp Global"
        (letter,) = list_letters(s, status=DeadLetterStatus.OPEN)
        assert letter.error_class == "AliasOverflow"
        letter_id = letter.id

    # The operator trims the hierarchy; replaying the letter attaches the rest.
    for sub in sorted(subs)[:10]:
        org.update("Account", sub, {FIELD: None})
    result = replay_letter(
        store, sf_settings, letter_id, client=lambda: client, run_task=lambda *a: None
    )
    assert result.replayed, result.error
    assert open_letters(store) == []
    expected = {root, "mega", *subs} | {
        f"c{i}-{j}" for i, sub in enumerate(subs) for j in range(20) if sub not in sorted(subs)[:10]
    }
    assert set(holdings(store)) == expected


def test_usage_keyed_on_a_15_character_or_recased_account_id_reaches_its_customer(
    org: SandboxOrg, enterprise, sync_deals: Poll, store: Store, sf_settings: Settings
) -> None:
    """Account-id keys resolve in any of their forms; other keys stay case-sensitive."""
    root = enterprise("Keyed Co", "keyed")
    child = org.create("Account", {"Name": "Keyed Sub", "ParentId": root})
    send_usage(store, sf_settings, child[:15], "tx-15")  # before the alias exists: pending
    sync_deals()
    customer = customer_of(store, root)
    send_usage(store, sf_settings, child.lower(), "tx-lower")
    send_usage(store, sf_settings, root[:15], "tx-root-15")
    send_usage(store, sf_settings, "KEYED", "tx-upper")
    assert attributed(store, "tx-15") == customer
    assert attributed(store, "tx-lower") == customer
    assert attributed(store, "tx-root-15") == customer
    assert attributed(store, "tx-upper") is None


def test_an_acquired_root_detached_again_takes_its_own_customer_back_for_good(
    org: SandboxOrg, enterprise, sync_deals: Poll, sync_accounts: Poll, store: Store
) -> None:
    """An acquisition undone: the root's customer is revived with its tree and deals, stably."""
    acquirer, acquired = enterprise("Holding"), enterprise("Spun Off", "spun")
    sync_deals()
    survivor, own = customer_of(store, acquirer), customer_of(store, acquired)
    org.update("Account", acquired, {"ParentId": acquirer})
    sync_accounts()
    org.update("Account", acquired, {"ParentId": None})
    late = org.create("Account", {"Name": "Spun Sub", "ParentId": acquired, FIELD: "spun-sub"})
    for _ in range(2):  # stable: no flip-flop between the two trees
        sync_accounts()
        won_deal(org, acquired, Name="Spun - Renewal")
        sync_deals()
        assert open_letters(store) == []
        held = holdings(store)
        assert {a for a, h in held.items() if h[0] == survivor} == {acquirer}
        assert {a for a, h in held.items() if h[0] == own} == {acquired, "spun", late, "spun-sub"}
        with store.session() as s:
            assert get_customer(s, own).status is CustomerStatus.ACTIVE
            assert {c.customer_id for c in list_contracts(s)} == {survivor, own}


def test_aliases_a_detached_accounts_new_customer_takes_at_once_show_where_they_went(
    org: SandboxOrg,
    enterprise,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
) -> None:
    """`aliases moves` names the new customer of a detached account, not `released`."""
    parent = enterprise("Parent Co", "parent")
    child = org.create("Account", {"Name": "Parent Labs", "ParentId": parent, FIELD: "labs"})
    won_deal(org, child, Name="Labs - Platform")
    sync_deals()
    enterprise_customer = customer_of(store, parent)
    org.update("Account", child, {"ParentId": None})
    sync_deals()
    sync_accounts()
    new_home = customer_of(store, child)
    with store.session() as s:
        for alias in ("labs", child):
            newest = list_moves(s, alias=alias, limit=1)[0]
            assert (newest.from_customer_id, newest.to_customer_id) == (
                enterprise_customer,
                new_home,
            ), alias
