"""`sync run --inline`, `sync status`, `runs` and `dlq` through the command line."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from click.testing import Result

from sfsync.models import Store
from sfsync.models.operations.deadletters import get_letter
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.cli.conftest import Invoke, ok_json


@pytest.fixture(scope="module")
def small_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=3, opportunities=60, page_size=200) as org:
        yield org


@pytest.fixture
def sf_env(small_org: SandboxOrg) -> dict[str, str]:
    """Environment that points sfsync at the sandbox org."""
    return {
        "SFSYNC_SF_INSTANCE_URL": small_org.instance_url,
        "SFSYNC_SF_ACCESS_TOKEN": small_org.access_token,
        "SFSYNC_SF_ALIAS_FIELDS": "Ingest_Alias__c",
    }


def run(sfsync: Invoke, env: dict[str, str], *args: str) -> Result:
    return sfsync(*args, env=env)


def lettered_deal(
    sfsync: Invoke, env: dict[str, str], org: SandboxOrg, name: str, amount: float
) -> tuple[str, str, dict[str, Any]]:
    """An account, and a won deal not under it that a sync dead-lettered: (account, deal,
    the deal's letter as `dlq list` shows it)."""
    account = org.create("Account", {"Name": f"{name} Ltd"})
    opp = org.create(
        "Opportunity",
        {
            "Name": f"{name}: no account yet",
            "StageName": "Closed Won",
            "CloseDate": "2026-11-01",
            "Amount": amount,
            "CurrencyIsoCode": "EUR",
        },
    )
    ok_json(run(sfsync, env, "sync", "run", "--stream", "opportunities", "--inline", "--json"))
    letters = ok_json(
        run(sfsync, env, "dlq", "list", "--source", "salesforce.opportunity", "--json")
    )
    (letter,) = [x for x in letters if x["reference"] == opp]
    return account, opp, letter


def test_sync_run_inline_json_reports_the_run(sfsync: Invoke, sf_env: dict[str, str]) -> None:
    """`sync run --inline --json` provisions and prints the run's summary."""
    summary = ok_json(
        run(sfsync, sf_env, "sync", "run", "--stream", "opportunities", "--inline", "--json")
    )
    assert summary["status"] == "succeeded"
    assert summary["records_seen"] > 0
    assert summary["contracts_created"] + summary["dead_lettered"] == summary["records_seen"]
    again = ok_json(
        run(sfsync, sf_env, "sync", "run", "--stream", "opportunities", "--inline", "--json")
    )
    assert again["contracts_created"] == 0


def test_runs_and_status_show_the_history(sfsync: Invoke, sf_env: dict[str, str]) -> None:
    """`runs list`, `runs show` and `sync status` describe what ran."""
    ok_json(run(sfsync, sf_env, "sync", "run", "--stream", "opportunities", "--inline", "--json"))
    runs = ok_json(run(sfsync, sf_env, "runs", "list", "--json"))
    assert runs[0]["trigger"] == "manual" and runs[0]["status"] == "succeeded"
    shown = ok_json(run(sfsync, sf_env, "runs", "show", str(runs[0]["id"]), "--json"))
    assert shown["id"] == runs[0]["id"] and shown["api_calls"] >= 1
    status = ok_json(run(sfsync, sf_env, "sync", "status", "--json"))
    stream = {s["stream"]: s for s in status["streams"]}["opportunities"]
    assert stream["cursor"] is not None and stream["last_run"]["id"] == runs[0]["id"]
    usage = stream["last_run"]["api_usage"]
    assert usage is not None and 0 < usage["used"] <= usage["max"]
    assert status["pending_writebacks"] == 0


def test_missing_account_is_dead_lettered_fixed_and_replayed_once(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """A won deal without an account is dead-lettered; once fixed, replay provisions it once."""
    account, opp, letter = lettered_deal(sfsync, sf_env, small_org, "Fixable", 500.0)
    assert "AccountId" in letter["error_message"]
    detail = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))
    assert detail["payload"]["Id"] == opp and detail["task_name"] == names.PROVISION_OPPORTUNITY
    stats = ok_json(run(sfsync, sf_env, "dlq", "stats", "--json"))
    assert any(s["source"] == "salesforce.opportunity" and s["open"] >= 1 for s in stats)

    small_org.update("Opportunity", opp, {"AccountId": account})
    for _ in range(2):
        run(sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline", "--json")
    contracts = ok_json(run(sfsync, sf_env, "contracts", "list", "--json"))
    assert [c["custom_fields"]["sfdc_opportunity_id"] for c in contracts].count(opp) == 1
    replayed = ok_json(run(sfsync, sf_env, "dlq", "list", "--status", "replayed", "--json"))
    assert letter["id"] in [x["id"] for x in replayed]


def test_a_letter_stored_with_the_old_task_fields_replays_by_its_source(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg, store: Store
) -> None:
    """A deal's letter as syncs wrote it before (naming the provisioning task, with the bare
    list of its arguments) still replays: by its source and reference, once."""
    account, opp, letter = lettered_deal(sfsync, sf_env, small_org, "Old Letter", 700.0)
    letter_id = letter["id"]
    with store.session() as s:
        stored = get_letter(s, letter_id)
        stored.task_name, stored.task_args = names.PROVISION_OPPORTUNITY, [opp]

    small_org.update("Opportunity", opp, {"AccountId": account})
    (result,) = ok_json(run(sfsync, sf_env, "dlq", "retry", str(letter_id), "--inline", "--json"))
    assert result["replayed"] is True, result
    contracts = ok_json(run(sfsync, sf_env, "contracts", "list", "--json"))
    assert [c["custom_fields"]["sfdc_opportunity_id"] for c in contracts].count(opp) == 1


def test_dlq_discard_needs_a_reason_and_closes_the_letter(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """`dlq discard --reason` closes an open letter; it is then no longer listed as open."""
    small_org.create(
        "Opportunity",
        {"Name": "Orphan", "StageName": "Closed Won", "CloseDate": "2026-11-02", "Amount": 1.0},
    )
    ok_json(run(sfsync, sf_env, "sync", "run", "--stream", "opportunities", "--inline", "--json"))
    letters: list[dict[str, Any]] = ok_json(run(sfsync, sf_env, "dlq", "list", "--json"))
    target = letters[0]["id"]
    assert run(sfsync, sf_env, "dlq", "discard", str(target)).exit_code == 2
    assert (
        run(sfsync, sf_env, "dlq", "discard", str(target), "--reason", "test deal").exit_code == 0
    )
    still_open = ok_json(run(sfsync, sf_env, "dlq", "list", "--json"))
    assert target not in [x["id"] for x in still_open]
    assert run(sfsync, sf_env, "dlq", "show", "999999").exit_code == 1


def test_sync_opportunity_provisions_named_ids_and_rejects_bad_ones(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """`sync opportunity ID` provisions it now (15-char ids too); a malformed id exits 2."""
    account = small_org.create("Account", {"Name": "Direct Ltd"})
    opp = small_org.create(
        "Opportunity",
        {
            "Name": "Direct deal",
            "StageName": "Closed Won",
            "CloseDate": "2026-11-03",
            "Amount": 42.0,
            "AccountId": account,
        },
    )
    counts = ok_json(run(sfsync, sf_env, "sync", "opportunity", opp[:15], "--json"))
    assert counts["contracts_created"] == 1
    shown = ok_json(
        run(sfsync, sf_env, "customers", "show", "--sfdc-account-id", account, "--json")
    )
    assert [c["custom_fields"]["sfdc_opportunity_id"] for c in shown["contracts"]] == [opp]
    assert run(sfsync, sf_env, "sync", "opportunity", "not-an-id").exit_code == 2


def test_a_bad_opportunity_filter_is_one_error_line_naming_the_setting(
    sfsync: Invoke, sf_env: dict[str, str]
) -> None:
    """`sync run --inline` with a typo in SFSYNC_SF_OPPORTUNITY_FILTER exits 2 with one line
    naming the setting and Salesforce's reason; the run is recorded as failed."""
    env = {**sf_env, "SFSYNC_SF_OPPORTUNITY_FILTER": "Tpye != 'Renewal'"}
    result = run(sfsync, env, "sync", "run", "--stream", "opportunities", "--inline")
    assert result.exit_code == 2
    # Log lines of the run (its summary, at INFO) may come first; the error is one line.
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ")
    assert "SFSYNC_SF_OPPORTUNITY_FILTER" in message and "Tpye" in message
    (failed,) = ok_json(run(sfsync, env, "runs", "list", "--json"))
    assert failed["status"] == "failed" and "SFSYNC_SF_OPPORTUNITY_FILTER" in failed["error"]


def test_a_currency_change_on_a_started_contract_waits_for_accept_change(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """Not applied by the sync nor by a plain retry; `dlq retry --accept-change` applies it."""
    account = small_org.create("Account", {"Name": "Currency Switch AG"})
    opp = small_org.create(
        "Opportunity",
        {
            "Name": "Started in euros",
            "AccountId": account,
            "StageName": "Closed Won",
            "CloseDate": "2026-10-01",
            "Amount": 900.0,
            "CurrencyIsoCode": "EUR",
        },
    )
    sync_run = ("sync", "run", "--stream", "opportunities", "--inline", "--json")
    ok_json(run(sfsync, sf_env, *sync_run))
    small_org.clock.advance(5)
    small_org.update("Opportunity", opp, {"CurrencyIsoCode": "USD", "Amount": 1000.0})
    ok_json(run(sfsync, sf_env, *sync_run))

    def contract() -> dict[str, Any]:
        rows = ok_json(run(sfsync, sf_env, "contracts", "list", "--json"))
        (row,) = [c for c in rows if c["custom_fields"]["sfdc_opportunity_id"] == opp]
        return dict(row)

    letters = ok_json(run(sfsync, sf_env, "dlq", "list", "--json"))
    (letter,) = [x for x in letters if x["reference"] == opp]
    assert letter["error_class"] == "ChangeNeedsApproval"
    assert "--accept-change" in letter["error_message"]
    assert (contract()["currency"], Decimal(contract()["amount"])) == ("EUR", Decimal(900))

    plain = run(sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline", "--json")
    assert plain.exit_code == 1
    assert contract()["currency"] == "EUR"

    accepted = run(
        sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline", "--accept-change", "--json"
    )
    assert accepted.exit_code == 0, accepted.output
    assert (contract()["currency"], Decimal(contract()["amount"])) == ("USD", Decimal(1000))
    history = ok_json(run(sfsync, sf_env, "contracts", "history", contract()["id"], "--json"))
    assert [h["kind"] for h in history] == ["created", "terms_edited"]
    assert "accepted by an operator" in history[-1]["cause"]
    assert (history[-1]["before"]["currency"], history[-1]["after"]["currency"]) == ("EUR", "USD")


def test_sync_reconcile_inline_and_status_show_the_drift(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """`sync reconcile --inline` provisions what is missing; `sync status` shows its drift."""
    won = [r.id for r in small_org.store.rows("Opportunity") if r.values["IsWon"] and not r.deleted]
    done = ok_json(run(sfsync, sf_env, "sync", "reconcile", "--inline", "--json"))
    assert (done["stream"], done["status"]) == ("reconcile", "succeeded")
    assert done["records_seen"] == len(won)
    assert done["drift_missing"] == len(won)  # an empty store lacks every won deal
    status = ok_json(run(sfsync, sf_env, "sync", "status", "--json"))
    (row,) = [r for r in status["streams"] if r["stream"] == "reconcile"]
    assert row["last_run"]["drift"]["missing"] == len(won)
    assert "reconcile" in run(sfsync, sf_env, "sync", "status").stdout


def test_a_failed_deal_replay_keeps_the_original_error_and_adds_to_the_history(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """A deal lettered for no account, then pointed at a deleted account: the failed replay
    leaves the first error in place and appends its own to `error_history`."""
    account, opp, letter = lettered_deal(sfsync, sf_env, small_org, "Gone Account", 300.0)
    first = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))
    small_org.update("Opportunity", opp, {"AccountId": account})
    small_org.delete("Account", account)
    replayed = run(sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline", "--json")
    assert replayed.exit_code == 1
    shown = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))
    assert shown["status"] == "open"
    assert (shown["error_class"], shown["error_message"]) == (
        first["error_class"],
        first["error_message"],
    )
    assert shown["attempts"] == first["attempts"] + 1
    (entry,) = shown["error_history"]
    assert entry["error_message"] and entry["error_message"] != first["error_message"]


def test_replays_and_discards_record_who_did_them(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """A failed replay and a discard from the command line name the login user, in
    `dlq show --json`, its text, and the failed replay's history entry."""
    *_, letter = lettered_deal(sfsync, sf_env, small_org, "Actor Check", 400.0)
    me = f"cli:{getpass.getuser()}"
    run(sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline", "--json")
    shown = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))
    assert shown["actor"] == me
    assert [h["actor"] for h in shown["error_history"]] == [me]
    run(sfsync, sf_env, "dlq", "discard", str(letter["id"]), "--reason", "test deal")
    discarded = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))
    assert (discarded["status"], discarded["actor"]) == ("discarded", me)
    text = run(sfsync, sf_env, "dlq", "show", str(letter["id"])).stdout
    assert f"actor: {me}" in text.splitlines()


def test_dlq_show_text_lists_the_failed_replays_and_the_discard_reason(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """A failed replay is a history line (when, class, message, actor); a discarded
    letter's text gives the reason."""
    account, opp, letter = lettered_deal(sfsync, sf_env, small_org, "History Shown", 500.0)
    small_org.update("Opportunity", opp, {"AccountId": account})
    small_org.delete("Account", account)
    assert run(sfsync, sf_env, "dlq", "retry", str(letter["id"]), "--inline").exit_code == 1
    reason = "account deleted in Salesforce on purpose"
    assert (
        run(sfsync, sf_env, "dlq", "discard", str(letter["id"]), "--reason", reason).exit_code == 0
    )
    (entry,) = ok_json(run(sfsync, sf_env, "dlq", "show", str(letter["id"]), "--json"))[
        "error_history"
    ]
    lines = run(sfsync, sf_env, "dlq", "show", str(letter["id"])).stdout.splitlines()
    assert f"discard reason: {reason}" in lines
    assert (
        f"  {entry['at']}  {entry['error_class']}: {entry['error_message']}"
        f"  (actor: cli:{getpass.getuser()})"
    ) in lines
