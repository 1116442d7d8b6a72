"""The README's and the docs' examples run, in order, as a reader would type them."""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from tests.docs.blocks import DATA, Block, Needs, all_blocks
from tests.docs.runner import base_env, for_server, live_server, run_block, workdir

BLOCKS = all_blocks()
BY_PAGE: dict[str, list[Block]] = defaultdict(list)
for _block in BLOCKS:
    BY_PAGE[_block.page].append(_block)
RUNNABLE_PAGES = sorted(page for page, blocks in BY_PAGE.items() if any(b.runnable for b in blocks))
SKIPPED = [block for block in BLOCKS if block.needs is Needs.SKIP]


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_the_examples_of_the_page_run(
    page: str, tmp_path: Path, sfsync_fork_server: Path, request: pytest.FixtureRequest
) -> None:
    """Each runnable block of the page exits 0, run in order in one throwaway folder (the
    sandbox org for `org` blocks, PostgreSQL for `postgres` blocks, a live `sfsync serve`
    for `serve` blocks)."""
    folder = workdir(tmp_path / "reader", sfsync_fork_server)
    env = base_env(folder)
    blocks = [block for block in BY_PAGE[page] if block.runnable]
    with ExitStack() as stack:
        server: tuple[str, str] | None = None
        for written in blocks:
            block, block_env = written, dict(env)
            if block.needs is Needs.ORG:
                block_env.update(request.getfixturevalue("docs_org"))
            if block.needs is Needs.POSTGRES:
                block_env["SFSYNC_DATABASE_URL"] = request.getfixturevalue("postgres_url")
            if block.needs is Needs.SERVE:
                if server is None:
                    server = stack.enter_context(live_server(folder, env))
                block = for_server(written, *server)
                block_env["KEY"] = server[1]
            run_block(block, folder, block_env)


@pytest.mark.parametrize("block", SKIPPED, ids=[block.where for block in SKIPPED])
def test_block_marked_not_to_run(block: Block) -> None:
    """A block marked `docs-test: skip` is reported with its reason (never silently left)."""
    pytest.skip(f"{block.where}: {block.reason}")


def test_few_examples_are_skipped() -> None:
    """No more shell and Python examples are marked not to run than run."""
    runnable = [block for block in BLOCKS if block.runnable]
    assert len(SKIPPED) <= len(runnable), [block.where for block in SKIPPED]


@pytest.mark.parametrize(
    "block",
    [block for block in BLOCKS if block.lang in DATA],
    ids=[block.where for block in BLOCKS if block.lang in DATA],
)
def test_the_json_and_yaml_examples_parse(block: Block) -> None:
    """Each JSON and YAML block of the docs is well-formed."""
    if block.lang == "json":
        json.loads(block.code)
    else:
        yaml.safe_load(block.code)
