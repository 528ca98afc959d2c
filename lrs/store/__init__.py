"""Storage backends behind one narrow async interface (``lrs.store.base.Store``)."""

from lrs.store.base import Credential, Store, open_store

__all__ = ["Credential", "Store", "open_store"]
