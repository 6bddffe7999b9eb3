"""Release mirrors, MANIFEST verification, downloads and safe extraction."""
