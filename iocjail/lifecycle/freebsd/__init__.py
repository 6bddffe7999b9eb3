"""The FreeBSD runtime: its plan (jail(8), vnet, host checks), its runner and the runtime object."""
