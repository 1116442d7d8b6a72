"""The docs-example runner: it reads what the pages mark, and a broken example fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import BadDirective, Block, Needs, parse
from tests.docs.runner import ExampleFailed, base_env, run_block, workdir

PAGE = """# A page

<!-- docs-test: skip: needs a real org -->
```sh
sfsync sync run --inline
```

Text.

<!-- docs-test: org -->
```python
print("hello")
```

- a list item with a block:

    ```sh
    echo indented
    ```

```yaml
a: 1
```
"""


def test_blocks_are_read_with_their_language_directive_and_line() -> None:
    """Each fenced block is found, indented ones dedented, with the directive above it."""
    blocks = parse(PAGE, "page.md")
    assert [(b.line, b.lang, b.needs, b.reason) for b in blocks] == [
        (4, "sh", Needs.SKIP, "needs a real org"),
        (11, "python", Needs.ORG, ""),
        (17, "sh", Needs.NOTHING, ""),
        (21, "yaml", Needs.NOTHING, ""),
    ]
    assert blocks[2].code == "echo indented\n"
    assert [b.runnable for b in blocks] == [False, True, True, False]


def test_an_unknown_directive_or_a_skip_without_reason_is_refused() -> None:
    """A typo in a directive cannot silently turn a block off."""
    with pytest.raises(BadDirective, match="unknown"):
        parse("<!-- docs-test: skp -->\n```sh\ntrue\n```\n", "page.md")
    with pytest.raises(BadDirective, match="must say why"):
        parse("<!-- docs-test: skip -->\n```sh\ntrue\n```\n", "page.md")


def test_a_shell_example_that_fails_midway_fails(tmp_path: Path) -> None:
    """A command failing anywhere in a block (not only the last one) fails the example."""
    block = Block("page.md", 3, "sh", "true\nfalse\necho never\n")
    with pytest.raises(ExampleFailed, match=r"page\.md:3: the sh example exited 1"):
        run_block(block, tmp_path, base_env(tmp_path))


def test_a_python_example_that_raises_fails(tmp_path: Path) -> None:
    """An exception in a Python example fails it, with the traceback in the message."""
    block = Block("page.md", 9, "python", "raise RuntimeError('stale example')\n")
    with pytest.raises(ExampleFailed, match="stale example"):
        run_block(block, tmp_path, base_env(tmp_path))


def test_sfsync_through_the_fork_server_keeps_its_output_and_exit_code(
    tmp_path: Path, sfsync_fork_server: Path
) -> None:
    """`.venv/bin/sfsync` in the runner's folder prints and exits as the real command does,
    in that folder with that environment."""
    folder = workdir(tmp_path / "reader", sfsync_fork_server)
    env = base_env(folder)
    ok = Block("page.md", 1, "sh", ".venv/bin/sfsync customers create Acme --alias acme-1\n")
    assert "Acme" in run_block(ok, folder, env)
    # The default data folder: the user data folder, which base_env puts inside `folder`.
    assert (folder / ".local" / "share" / "sfsync" / "sfsync.db").exists()
    missing = Block("page.md", 5, "sh", ".venv/bin/sfsync customers show --alias nobody\n")
    with pytest.raises(ExampleFailed, match="exited 1") as failed:
        run_block(missing, folder, env)
    assert "nobody" in str(failed.value)
