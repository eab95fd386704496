"""Saving and loading (``rnnviz.serializers``)."""
from .npz import DictionarySerializer, NpzDeserializer, load_npz, save_npz
from .hdf5 import load_hdf5, save_hdf5  # h5py is imported only when they are called

__all__ = ["DictionarySerializer", "NpzDeserializer", "load_hdf5", "load_npz", "save_hdf5", "save_npz"]
