"""`sfsync sandbox`: serve a sandbox org until Ctrl-C and print how to point sfsync at it."""

from __future__ import annotations

import shlex
import threading

import click

from sfsync.sandbox.org import SandboxOrg


@click.command(
    "sandbox",
    context_settings={"help_option_names": ["-h", "--help"]},
    # Written out here: the sandbox imports nothing of sfsync (commands.common.examples).
    epilog="\b\nExamples:\n"
    "  $ sfsync sandbox                              # 1,000 deals on a free port\n"
    "  $ sfsync sandbox --port 8765 --opportunities 5000\n"
    "  $ sfsync sandbox --single-currency --currency EUR",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=0, show_default=True, help="Port (0 = any free port).")
@click.option("--seed", default=7, show_default=True, help="Seed for the generated data.")
@click.option("--accounts", type=int, default=None, help="Accounts (default opportunities/5).")
@click.option("--opportunities", default=1000, show_default=True, help="Opportunities.")
@click.option(
    "--load",
    "load",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Serve records saved earlier with SandboxOrg.save() instead of seeding.",
)
@click.option(
    "--single-currency",
    is_flag=True,
    help="A single-currency org: records have no CurrencyIsoCode field.",
)
@click.option(
    "--currency",
    default="USD",
    show_default=True,
    help="The Organization's DefaultCurrencyIsoCode.",
)
def sandbox_command(
    host: str,
    port: int,
    seed: int,
    accounts: int | None,
    opportunities: int,
    load: str | None,
    single_currency: bool,
    currency: str,
) -> None:
    """Serve a Salesforce-compatible sandbox org on loopback until Ctrl-C."""
    org = SandboxOrg(
        seed=seed,
        accounts=accounts,
        opportunities=opportunities,
        host=host,
        port=port,
        load=load,
        multi_currency=not single_currency,
        currency=currency,
    )
    org.start()
    exports = {
        "SFSYNC_SF_INSTANCE_URL": org.instance_url,
        "SFSYNC_SF_ACCESS_TOKEN": org.access_token,
        "SFSYNC_SF_LOGIN_URL": org.login_url,
        "SFSYNC_SF_CONSUMER_KEY": org.consumer_key,
        "SFSYNC_SF_CONSUMER_SECRET": org.consumer_secret,
    }
    for name, value in exports.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"# sandbox org serving at {org.instance_url}; Ctrl-C to stop", err=True)
    try:
        # An Event wait wakes promptly on KeyboardInterrupt, unlike joining the server thread.
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        org.stop()
    click.echo("# sandbox org stopped", err=True)
