"""jaxnn: an introductory neural-networks course as pure, jit-compiled JAX functions.

Submodules (each with its own ``__all__``):

* :mod:`jaxnn.activations` - activation functions, their analytic derivatives, look-up by name.
* :mod:`jaxnn.losses` - the course's losses in their correct forms.
* :mod:`jaxnn.init` - parameter initializers.
* :mod:`jaxnn.nn` - dense layers and networks (stax-style ``init``/``apply`` pairs), the matrix form.
* :mod:`jaxnn.heads` - the four output heads (regression, multivariate regression, binary, multi-class).
* :mod:`jaxnn.train` - the fused, jitted training engine (``fit``, ``sweep``, early stopping).
* :mod:`jaxnn.checkpoint` - safe, atomic checkpoints of any pytree (safetensors or ``.npz``).
"""

from jaxnn import activations, checkpoint, heads, init, losses, nn, train
from jaxnn._version import __version__

__all__ = ["__version__", "activations", "checkpoint", "heads", "init", "losses", "nn", "train"]
