"""A merge racing deals on the absorbed account, from other processes: none lost, none twice.

One process merges the loser's customer into the survivor while others provision new deals
on the loser's account, through the per-deal path and the set-based page path. Every
opportunity must end with exactly one contract, all on the survivor; the loser archived.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, fields_for
from sfsync.models.customers.retirement import merge_customers
from sfsync.models.operations.runs import RunCounters
from sfsync.models.tables import Contract, Customer
from sfsync.models.types import CustomerStatus
from sfsync.sync.mapping import Deal
from sfsync.sync.opportunities import MappedPage, apply_mapped
from sfsync.sync.provision import provision_deal
from sfsync.sync.provision_batch import BatchItem
from sfsync.sync.salesforce import OpportunityRow

WINNER, LOSER = "001000000000WINAAA", "001000000000LOSAAA"
PROVISIONERS = 4
DEALS_EACH = 6


def _deal(account: str, opportunity: str) -> Deal:
    return Deal(
        account_id=account,
        account_name=f"Account {account[-6:]}",
        aliases=(account,),
        opportunity_id=opportunity,
        contract=ContractTerms(
            name=f"Deal {opportunity[-6:]}",
            starting_at=datetime(2026, 1, 1, tzinfo=UTC),
            ending_before=None,
            amount=Decimal("100"),
            currency="EUR",
        ),
        system_modstamp=datetime(2026, 1, 1, tzinfo=UTC),
        alias_origins=(AliasOrigin(account, "Id"),),  # as the mapping gives them
    )


def _opportunity(worker: int, n: int) -> str:
    return f"006000000{worker:03d}{n:03d}AAA"


def _provisioner(url: str, worker: int, barrier: Any) -> list[str]:
    """Provision this worker's deals on the loser's account, one transaction each."""
    store = Store(url)
    settings = Settings(_env_file=None)
    errors: list[str] = []
    barrier.wait(timeout=60)
    try:
        for n in range(DEALS_EACH):
            deal = _deal(LOSER, _opportunity(worker, n))
            with store.session() as s:
                if worker % 2:
                    provision_deal(s, deal, settings)
                else:  # the page path: screened, set-based, per deal when it must
                    row = OpportunityRow.of({"Id": deal.opportunity_id})
                    page = MappedPage([BatchItem(0, deal)], [])
                    apply_mapped(s, [row], page, settings, RunCounters())
    except Exception:
        errors.append(traceback.format_exc())
    finally:
        store.close()
    return errors


def _merger(url: str, survivor: str, absorbed: str, barrier: Any) -> list[str]:
    store = Store(url)
    barrier.wait(timeout=60)
    try:
        with store.session() as s:
            merge_customers(s, uuid.UUID(absorbed), uuid.UUID(survivor))
    except Exception:
        return [traceback.format_exc()]
    finally:
        store.close()
    return []


def test_a_merge_racing_deals_on_the_loser_loses_and_duplicates_no_contract(store: Store) -> None:
    """4 provisioning processes and 1 merging: one contract per opportunity, all the survivor's."""
    settings = Settings(_env_file=None)
    with store.session() as s:
        survivor = provision_deal(s, _deal(WINNER, "006000000WIN000AAA"), settings).customer_id
        absorbed = provision_deal(s, _deal(LOSER, "006000000LOS000AAA"), settings).customer_id
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(PROVISIONERS + 1)
    with ctx.Pool(PROVISIONERS + 1) as pool:
        merging = pool.apply_async(_merger, (store.url, str(survivor), str(absorbed), barrier))
        provisioning = [
            pool.apply_async(_provisioner, (store.url, w, barrier)) for w in range(PROVISIONERS)
        ]
        errors = merging.get(timeout=120) + [e for p in provisioning for e in p.get(timeout=120)]
    assert errors == []

    expected = {"006000000WIN000AAA", "006000000LOS000AAA"} | {
        _opportunity(w, n) for w in range(PROVISIONERS) for n in range(DEALS_EACH)
    }
    with store.session() as s:
        contracts = list(s.scalars(select(Contract)))
        opportunities = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        held = [opportunities[c.id][SFDC_OPPORTUNITY_ID] for c in contracts]
        assert sorted(held) == sorted(expected)  # none lost, none twice
        assert {c.customer_id for c in contracts} == {survivor}
        loser = s.get(Customer, absorbed)
        assert loser is not None
        assert (loser.status, loser.merged_into) == (CustomerStatus.ARCHIVED, survivor)
        assert s.scalar(select(func.count()).select_from(Customer)) == 2
