"""Updaters: one call of ``update()`` reads batches, computes the loss and updates the parameters."""
from .standard_updater import StandardUpdater, Updater

__all__ = ["StandardUpdater", "Updater"]
