"""Training of the tier-2 classifier and the scanner's own synthetic data (``train`` extra).

Not imported by the scanner at run time; ``tools/train_scanner.py`` and ``codemode bench scan``
use it.
"""
