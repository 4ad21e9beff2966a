"""Pure, synchronous cpuset layer: the cpuset tree, its file interface, partitions, mempolicy.

Imports only the standard library and topology (tests/test_layering.py).
"""
