"""Saving and loading (``rnnviz.serializers``)."""
from .npz import DictionarySerializer, NpzDeserializer, load_npz, save_npz

__all__ = ["DictionarySerializer", "NpzDeserializer", "load_npz", "save_npz"]
