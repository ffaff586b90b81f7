"""Dataset recipes: fetch public recordings into the local cache, check them, read them.

Each recipe module knows where a dataset lives, its checksums, and how to turn its
files into a :class:`neurodecode.data.Session`.
"""
