"""Prints each tensor of a GGUF file (any order in the file) as `name type sha256-of-bytes`, sorted
by name, with gguf-py: two files whose tensors are identical print the same lines whatever their
metadata. usage: python3 Benchmarks/gguf_tensor_digest.py FILE.gguf"""
import hashlib, sys
from gguf import GGUFReader

reader = GGUFReader(sys.argv[1])
for t in sorted(reader.tensors, key=lambda t: t.name):
    print(t.name, t.tensor_type.name, hashlib.sha256(t.data.tobytes()).hexdigest())
