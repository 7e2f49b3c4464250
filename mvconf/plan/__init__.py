"""Plans: what differs between the manifests and the live account, and who will change it."""
