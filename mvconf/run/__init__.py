"""What a command runs in (runtime.py: endpoint, one client, the one event loop, signals, the
journal's lock) and the flows that join the stages (flows.py: plan, apply, rollback)."""
