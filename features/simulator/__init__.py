"""A dealer network with known ground truth, in the input data contract.

No real dealer data ships with the project, so the demo, the tests and the quality bars
stand on this simulator; it records why each churner left (``_truth/``) so that the
models' reasons can be checked, not only their scores. See docs/simulator.md.
"""

from features.simulator.run import simulate

__all__ = ["simulate"]
