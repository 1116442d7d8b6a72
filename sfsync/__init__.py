"""sfsync: Salesforce closed-won deals into billing customers, contracts and usage.

The one importable name of the distribution. The repository keeps its designed top level
(`config/`, `models/`, `sync/`, `tasks/`, `api/`, `commands/`, `sandbox/`, `bench/`,
`cli.py`, `celery_app.py`); this folder links each of them under ``sfsync`` so that an
installed sfsync adds a single name to site-packages and never shadows, or is shadowed by,
a user's own `config.py` or `models.py`.
"""
