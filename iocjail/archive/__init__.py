"""Export and import of iocage-compatible archives."""
