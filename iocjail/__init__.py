"""iocjail: ZFS-backed jails, iocage-compatible, on FreeBSD and on Linux namespaces."""

__version__ = "0.1.0"
