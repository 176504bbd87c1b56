"""The SDK's version: the worker-admin release it ships with."""
__version__ = "0.1.0"
