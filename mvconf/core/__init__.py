"""The shared leaves every stage may use: errors, domain facts, clock, hosts, JSON text, files,
locks, logs and redaction, phone numbers, the API settings a command runs with."""
