"""The on-chain risk guard: program source and build, Anchor IDL, Python client, local cluster, deploy."""
