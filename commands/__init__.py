"""The `sfsync` command's groups, one module per concern; `cli.py` assembles them."""
