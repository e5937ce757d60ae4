"""Offline tools over files: replay events through the detection core, evaluate decisions."""
