"""What a command runs in and the flows that join the stages: runtime.py (endpoint, one client,
the one event loop, signals, the journal's lock), flows.py (plan, apply, rollback, reading as
plain functions), planning.py (a new plan's way through the stages), grants.py (the policy
exceptions a run may be applied under), since.py (--changed-since)."""
