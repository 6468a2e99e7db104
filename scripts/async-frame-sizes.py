#!/usr/bin/env python3
"""The async frame size of Swift async functions in a binary.

    python3 scripts/async-frame-sizes.py .build/release/samrom 'SignallingSocket|ConsultationSession'

Every async function has an "async function pointer" (a symbol ending in
`Tu`): a relative offset and the size of the context (frame) the function
allocates from its task's allocator when called. A task keeps the memory
of its deepest chain of frames until it ends (in slabs of about 1 KiB, and
a frame bigger than that gets a slab of its own), so for a task that lives
as long as a connection these sizes are memory per connection.
"""

import re
import struct
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    pattern = re.compile(sys.argv[2] if len(sys.argv) > 2 else ".")
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    symbols = []
    for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split(" ", 2)
        if len(fields) == 3 and fields[2].endswith("Tu"):
            symbols.append((int(fields[0], 16), fields[2]))
    names = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(n for _, n in symbols),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    sections = []
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if match:
            sections.append(tuple(int(g, 16) for g in match.groups()))
    with open(binary, "rb") as f:
        data = f.read()
    rows = []
    for (address, _), name in zip(symbols, names):
        if not pattern.search(name):
            continue
        for start, offset, size in sections:
            if start and start <= address < start + size:
                _, context = struct.unpack("<iI", data[offset + address - start:offset + address - start + 8])
                rows.append((context, name.replace("async function pointer to ", "")))
                break
    for context, name in sorted(rows, reverse=True)[:limit]:
        print(f"{context:7d}  {name[:150]}")


if __name__ == "__main__":
    main()
