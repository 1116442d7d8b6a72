"""Task names: one module names every task, and `celery_app` loads no task module to use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfsync.tasks import names

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this one has long imported the task modules.
PROBE = """
import json, sys
from sfsync import celery_app
app = celery_app.app
loaded = sorted(m for m in sys.modules if m == "sfsync.tasks" or m.startswith("sfsync.tasks."))
schedule = sorted(entry["task"] for entry in app.conf.beat_schedule.values())
app.loader.import_default_modules()
registered = sorted(n for n in app.tasks if not n.startswith("celery."))
print(json.dumps({"loaded": loaded, "schedule": schedule, "registered": registered}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    tmp_path = tmp_path_factory.mktemp("names")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    env.update(PYTHONPATH=str(ROOT), SFSYNC_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,  # no .env of the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_celery_app_loads_only_the_names_module_of_tasks(probe: dict[str, list[str]]) -> None:
    """Building the app imports `tasks.names` (and the package, which imports nothing) only."""
    assert probe["loaded"] == ["sfsync.tasks", "sfsync.tasks.names"]


def test_every_registered_and_scheduled_task_is_named_in_the_names_module(
    probe: dict[str, list[str]],
) -> None:
    """Each task the worker registers, and each beat entry, is a name from `tasks.names`;
    each task name there is registered."""
    groups = {names.SYNC, names.SIGNUP, names.USAGE, names.DEADLETTER}
    tasks = {getattr(names, n) for n in names.__all__} - groups
    assert {task.rpartition(".")[0] for task in tasks} <= groups  # every task is routed
    assert set(probe["registered"]) == tasks
    assert set(probe["schedule"]) <= tasks
