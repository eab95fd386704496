"""Link, Chain and ChainList: objects that own parameters and child links.

A link registers a Parameter or a child Link assigned inside ``with self.init_scope():``.
Calling a link calls its ``forward`` inside a scope that names the link, so every function node
recorded there knows which link made it (the graph tracer groups by this).
"""
import contextlib
import copy as _copy
import warnings

import numpy

from ..core import Parameter, backend
from ..core.annotations import pop_scope, push_scope


class Link:
    """A parameterised function. Subclasses register parameters in ``init_scope()`` and define ``forward``."""

    def __init__(self, **params):
        object.__setattr__(self, "_params", [])
        object.__setattr__(self, "_children", [])
        object.__setattr__(self, "_persistent", [])
        object.__setattr__(self, "_within_init_scope", False)
        object.__setattr__(self, "name", None)
        if params:  # Chainer v1: Link(W=(3, 2)) made a parameter of that shape
            warnings.warn("Link(name=shape, ...) is Chainer v1's form; assign "
                          "Parameter(...) inside `with self.init_scope():` instead", DeprecationWarning, stacklevel=2)
            for name, shape in params.items():
                self.add_param(name, shape)

    # -- registration -----------------------------------------------------------------------
    @contextlib.contextmanager
    def init_scope(self):
        """Inside, assigning a Parameter or a Link to an attribute registers it."""
        old = self._within_init_scope
        object.__setattr__(self, "_within_init_scope", True)
        try:
            yield
        finally:
            object.__setattr__(self, "_within_init_scope", old)

    def __setattr__(self, name, value):
        if self.__dict__.get("_within_init_scope"):
            if isinstance(value, Parameter):
                value.name = name
                if name not in self._params:
                    self._params.append(name)
            elif isinstance(value, Link):
                value.name = name
                if name not in self._children:
                    self._children.append(name)
        object.__setattr__(self, name, value)

    def add_param(self, name, shape=None, dtype=numpy.float32, initializer=None):
        """Register a new parameter (zeros, or ``initializer`` array) called ``name``."""
        where = f"{type(self).__name__}.add_param"
        if initializer is None and shape is None:
            raise ValueError(f"{where}: give the shape of '{name}' (or an "
                             f"initializer array)")
        self._check_new_name(where, name)
        if initializer is None:
            dims = (shape,) if isinstance(shape, (int, numpy.integer)) else shape
            try:
                array = numpy.zeros(dims, dtype=dtype)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: the shape of '{name}' must be a tuple of ints >= 0, got "
                                 f"{shape!r}") from None
        else:
            array = initializer
        with self.init_scope():
            setattr(self, name, Parameter(array))

    def add_link(self, name, link):
        """Register ``link`` as the child ``name`` (Chainer v1's form of assigning it in init_scope)."""
        where = f"{type(self).__name__}.add_link"
        if not isinstance(link, Link):
            raise TypeError(f"{where}: expected a Link for '{name}', got {type(link).__name__}")
        self._check_new_name(where, name)
        with self.init_scope():
            setattr(self, name, link)

    def _check_new_name(self, where, name):
        """A new parameter or child may not silently replace an attribute that is already there."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{where}: the name must be a Python identifier, got {name!r}")
        if name in self.__dict__ or hasattr(type(self), name):
            raise AttributeError(f"{where}: {type(self).__name__} already has an attribute {name!r}; "
                                 f"choose another name")

    def register_persistent(self, name):
        """Save and load attribute ``name`` (an array or a number) with the parameters."""
        if name not in self._persistent:
            self._persistent.append(name)

    def add_persistent(self, name, value):
        """Set attribute ``name`` to ``value`` and save and load it with the parameters."""
        if name in self.__dict__ and name not in self._persistent:
            raise AttributeError(f"add_persistent: {type(self).__name__} already has an attribute {name!r}")
        object.__setattr__(self, name, value)
        self.register_persistent(name)

    # -- traversal ------------------------------------------------------------------------------
    def children(self):
        for name in self._children:
            yield getattr(self, name)

    def namedlinks(self, skipself=False):
        """(path, link) for this link and all below it, e.g. ('/predictor/mid', <LSTM>)."""
        if not skipself:
            yield "/", self
        stack = [("", self)]
        while stack:
            prefix, link = stack.pop(0)
            for child_name in link._children:
                child = getattr(link, child_name)
                path = f"{prefix}/{child_name}"
                yield path, child
                stack.append((path, child))

    def links(self, skipself=False):
        for _, link in self.namedlinks(skipself):
            yield link

    def namedparams(self, include_uninit=True):
        """(path, param) for every parameter, e.g. ('/predictor/out/W', <parameter W>)."""
        for path, link in self.namedlinks():
            prefix = "" if path == "/" else path
            for name in link._params:
                param = getattr(link, name)
                if include_uninit or param.array is not None:
                    yield f"{prefix}/{name}", param

    def params(self, include_uninit=True):
        for _, param in self.namedparams(include_uninit):
            yield param

    def count_params(self):
        return sum(p.size for p in self.params() if p.array is not None)

    # -- gradients and devices ----------------------------------------------------------------------
    def cleargrads(self):
        """Set every parameter's grad to None (gradients then start afresh)."""
        for param in self.params():
            param.cleargrad()

    def zerograds(self):
        """Chainer v1: set every gradient to zeros (deprecated; ``cleargrads()`` is cheaper)."""
        warnings.warn("Link.zerograds() is Chainer v1's form; use cleargrads() instead",
                      DeprecationWarning, stacklevel=2)
        for param in self.params():
            if param.array is not None:
                param.zerograd()

    def to_device(self, device):
        """Move every parameter (and persistent array) to ``'cpu'`` or ``'gpu'``, in place; returns self."""
        for link in self.links():
            for name in link._params:
                p = getattr(link, name)
                if p.array is not None:
                    p.array = backend.to_device(p.array, device)
                if p.grad is not None:
                    p.grad = backend.to_device(p.grad, device)
            for name in link._persistent:
                value = getattr(link, name)
                if hasattr(value, "shape"):
                    object.__setattr__(link, name, backend.to_device(value, device))
            link._to_device_extra(device)
        return self

    def to_cpu(self):
        return self.to_device("cpu")

    def to_gpu(self, device=None):
        return self.to_device("gpu")

    def _to_device_extra(self, device):
        """Hook for links with other arrays (recurrent states)."""

    @property
    def xp(self):
        for p in self.params(include_uninit=False):
            return backend.get_array_module(p.array)
        return numpy

    def copy(self, mode="share"):
        """A copy of the link tree. ``mode='share'``: parameters share their arrays with this link
        (new Parameter objects, grads cleared); ``mode='copy'``: arrays are copied too."""
        if mode not in ("share", "copy"):
            raise ValueError(f"{type(self).__name__}.copy: mode must be 'share' or 'copy', got {mode!r}")
        new = _copy.copy(self)
        object.__setattr__(new, "_params", list(self._params))
        object.__setattr__(new, "_children", list(self._children))
        object.__setattr__(new, "_persistent", list(self._persistent))
        for name in self._params:
            p = getattr(self, name)
            array = p.array if mode == "share" or p.array is None else p.array.copy()
            q = Parameter(array, name=p.name)
            object.__setattr__(new, name, q)
        for name in self._children:
            object.__setattr__(new, name, getattr(self, name).copy(mode))
        new._copy_extra(mode)
        return new

    def _copy_extra(self, mode):
        """Hook: links with extra state (recurrent links) adjust their copy."""

    # -- saving -------------------------------------------------------------------------------------
    def serialize(self, serializer):
        """Chainer's protocol: ``serializer(key, value)`` saves or loads one entry;
        ``serializer[name]`` is the serializer for child ``name``."""
        for name in self._params:
            param = getattr(self, name)
            loaded = serializer(name, param.array)
            if param.array is None and loaded is not None:
                param.array = loaded
        for name in self._persistent:
            value = serializer(name, getattr(self, name))
            object.__setattr__(self, name, value)
        for name in self._children:
            getattr(self, name).serialize(serializer[name])

    # -- calling ----------------------------------------------------------------------------------
    counts_steps = False  # recurrent links say True: each call is a time step

    def _time_step(self):
        """The time step a call of this link belongs to (recurrent links count their calls)."""
        return None

    def __call__(self, *args, **kwargs):
        prev = push_scope(self.name or type(self).__name__, self._time_step() if self.counts_steps else None)
        try:
            return self.forward(*args, **kwargs)
        finally:
            pop_scope(prev)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for name in self._params:
            p = getattr(self, name)
            shape = None if p.array is None else tuple(p.shape)
            lines.append(f"  {name}: {shape}")
        for name in self._children:
            child = repr(getattr(self, name)).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        lines.append(")")
        return "\n".join(lines) if len(lines) > 2 else f"{type(self).__name__}()"


class Chain(Link):
    """A link made of named child links (assign them in ``init_scope()``)."""

    def __init__(self, **links):
        super().__init__()
        if links:  # Chainer v1: Chain(embed=L.EmbedID(...), out=L.Linear(...))
            warnings.warn("Chain(name=link, ...) is Chainer v1's form; assign the links inside "
                          "`with self.init_scope():` instead", DeprecationWarning, stacklevel=2)
            with self.init_scope():
                for name, link in links.items():
                    if not isinstance(link, Link):
                        raise TypeError(f"Chain: {name}= must be a Link, got {type(link).__name__}")
                    setattr(self, name, link)

    def __getitem__(self, name):
        if name not in self._children:
            raise KeyError(f"{type(self).__name__}[{name!r}]: no child link of that name; the children "
                           f"are {self._children}")
        return getattr(self, name)


class ChainList(Link):
    """A link made of a list of child links, named '0', '1', ..."""

    def __init__(self, *links):
        super().__init__()
        for link in links:
            self.append(link)

    def append(self, link):
        if not isinstance(link, Link):
            raise TypeError(f"ChainList.append: expected a Link, got {type(link).__name__}")
        name = str(len(self._children))
        link.name = name
        self._children.append(name)
        object.__setattr__(self, name, link)

    def add_link(self, link):
        self.append(link)

    def __getitem__(self, index):
        try:
            name = self._children[index]
        except IndexError:
            raise IndexError(f"{type(self).__name__}[{index}]: out of range for {len(self._children)} "
                             f"link(s)") from None
        except TypeError:
            raise TypeError(f"{type(self).__name__}: index with an int, got {index!r}") from None
        if isinstance(name, list):  # a slice
            return [getattr(self, n) for n in name]
        return getattr(self, name)

    def __iter__(self):
        return iter(self.children())

    def __len__(self):
        return len(self._children)
