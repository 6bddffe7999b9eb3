"""The Linux runtime: its plan (namespaces, bind mounts, veth), its runner and the runtime object."""
