"""The site: the host and its active pool, the iocage tree on it (jails, releases, config.json and
defaults.json), locks and runtime state, and `with_jail`, which opens a jail for a verb."""
