"""Sub-commands of ``codemode``: each module defines ``register(app)``."""
