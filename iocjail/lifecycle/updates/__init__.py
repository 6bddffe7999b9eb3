"""Jail update and upgrade plans: freebsd-update and etcupdate run against a jail's root."""
