"""Checking real traffic: a webhook receiver and the verdict of events against manifests."""
