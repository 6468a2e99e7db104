#!/usr/bin/env python3
"""What a server's live heap holds, part by part, from a heaptrack recording.

    SAMROM_BENCH_HEAPTRACK=/tmp/heap .build/release/samrom-bench run \
        --profile quick --only connections --saltyrtc ""
    python3 scripts/heap-breakdown.py /tmp/heap/samrom.raw --per 2000

heaptrack (Debian's `heaptrack`) records every allocation with its stack.
This script takes the heap the server still held when the recording ended
(under heaptrack the connections scenario kills the server with SIGKILL while
every connection is held, so that is exactly the held heap),
gives each allocation to the part of the stack that asked for it, and prints
the bytes per part, divided by `--per` (the connections held). The parts
are matched from the allocating frame outwards: the first frame that belongs
to a part decides, so a ByteBuffer allocated by NIOSSLHandler counts as TLS
and a task created by Samrom's socket counts as a task started by Samrom.

heaptrack counts bytes asked of malloc, not pages touched, so the total is
not the RSS: a 32 KiB buffer of which one page was written costs 32 KiB here
and 4 KiB of RSS. Both are printed; the difference is the allocator's
(untouched parts of blocks, free blocks kept, per-arena overhead).
"""

import argparse
import collections
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

INTERPRET = "/usr/lib/heaptrack/libexec/heaptrack_interpret"

# Frames that only carry an allocation (buffers, collections, the runtime's
# allocator): skipped, so the frame that asked for them decides.
PLUMBING = re.compile(
    r"^(\$?[Ss]wift\.|NIOCore\.(ByteBuffer|CircularBuffer|MarkedCircularBuffer)|_NIODataStructures\.|DequeModule\.|"
    r"Foundation\.|FoundationEssentials\.)|^(swift_|malloc|calloc|realloc|operator new|_dispatch|start_thread|clone)")

# Words in front of a demangled Swift name that say how it was compiled.
PREFIX = re.compile(r"^(\(\d+\) (suspend|await) resume partial function for |partial apply forwarder for |partial apply for |"
                    r"(function signature|generic) specialization <[^>]*(<[^>]*>[^>]*)*> of |specialized |merged |static |"
                    r"protocol witness for |reabstraction thunk helper from |outlined \w+ of |async function pointer to )")


def owner(frame: str) -> str:
    """The declaration a demangled frame belongs to: `Module.Type.method(...)`,
    with closures resolved to the function they are in."""
    while True:
        stripped = PREFIX.sub("", frame, count=1)
        if stripped == frame:
            break
        frame = stripped
    if frame.startswith(("closure #", "implicit closure #")):
        frame = frame.replace("->", "→")
        depth, cut = 0, -1
        for i, ch in enumerate(frame):
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1
            elif depth == 0 and frame.startswith(" in ", i):
                cut = i + 4
        if cut > 0:
            return owner(frame[cut:])
    return frame


# Modules, and C symbol prefixes, to parts.
PARTS = [
    ("TLS: BoringSSL's connection state", lambda f, m: f.startswith("CNIOBoringSSL") or "bssl::" in f),
    ("TLS: swift-nio-ssl's handler and buffers", lambda f, m: m in ("NIOSSL", "HummingbirdTLS")),
    ("WebSocket: handler, frame buffers, streams", lambda f, m: m in ("WSCore", "NIOWebSocket", "HummingbirdWebSocket")),
    ("HTTP/1 and Hummingbird's connection", lambda f, m: m in ("HummingbirdCore", "Hummingbird", "NIOHTTP1", "NIOHTTPTypes",
                                                               "NIOHTTPTypesHTTP1", "HTTPTypes", "NIOExtras")),
    ("Samrom's state: hub, sessions, outbox, guards", lambda f, m: m is not None and m.startswith("Samrom") and m != "SamromBench"
     or m == "Sodium"),
    ("SQLite page cache and GRDB", lambda f, m: m == "GRDB" or f.startswith("sqlite3")),
    ("NIO: channel, pipeline, receive buffer", lambda f, m: m in ("NIOPosix", "NIOCore", "NIOConcurrencyHelpers")),
    ("ceiling relay (bench only)", lambda f, m: m == "SamromBench"),
]
ASYNC_STACK = "Swift tasks: async call stacks (task allocator slabs)"
TASK = "Swift tasks: task objects"
OTHER = "other (runtime, libc, start-up)"


def flamegraph(recording: str, cost: str) -> str:
    """heaptrack_print's stacks file, interpreting a .raw first."""
    work = tempfile.mkdtemp(prefix="heap-breakdown-")
    data = recording
    if recording.endswith(".raw"):
        data = os.path.join(work, "recording.gz")
        with open(recording, "rb") as raw, gzip.open(data, "wb") as out:
            interpreted = subprocess.run([INTERPRET], stdin=raw, stdout=subprocess.PIPE, check=True)
            out.write(interpreted.stdout)
    stacks = os.path.join(work, "stacks.txt")
    subprocess.run(
        ["heaptrack_print", "-f", data, "-p", "0", "-a", "0", "-T", "0", "--flamegraph-cost-type", cost, "-F", stacks],
        stdout=subprocess.DEVNULL, check=True)
    with open(stacks, encoding="utf-8", errors="replace") as f:
        text = f.read()
    shutil.rmtree(work)
    return text


def demangled(frames):
    """Each distinct frame demangled once, through the toolchain's demangler."""
    names = sorted(frames)
    out = subprocess.run(["swift", "demangle"], input="\n".join(names), capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")
    return dict(zip(names, lines)) if len(lines) >= len(names) else {n: n for n in names}


def module_of(frame: str):
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\.", owner(frame))
    return match.group(1) if match else None


def function_of(frame: str) -> str:
    """A short name for a demangled frame: Type.method."""
    name = re.sub(r"[(<].*", "", owner(frame))
    return ".".join(name.split(".")[-2:])[:50]


def classify(frames):
    """(part, what asked for it), scanning from the allocation outwards."""
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if "StackAllocator" in frame or "swift_task_alloc" in frame:
            if index > 0 and "initializeLinkParent" in frames[index - 1]:
                return ASYNC_STACK, "a new task's first slab"
            for outer in range(index - 1, -1, -1):
                if module_of(frames[outer]) and not PLUMBING.match(owner(frames[outer])):
                    return ASYNC_STACK, function_of(frames[outer])
            return ASYNC_STACK, "?"
        if re.match(r"swift_task_create|swift_asyncLet|swift_taskGroup|swift::AsyncTask", frame):
            for outer in range(index - 1, -1, -1):
                module = module_of(frames[outer])
                if module and not PLUMBING.match(owner(frames[outer])):
                    return TASK, module
            return TASK, "?"
        if PLUMBING.match(owner(frame)):
            continue
        module = module_of(frame)
        for name, test in PARTS:
            if test(frame, module):
                return name, function_of(frame)
    return OTHER, function_of(frames[-1]) if frames else "?"


def breakdown(recording: str, cost: str):
    """Bytes per part, and per part the frames that asked for them."""
    stacks = []
    for line in flamegraph(recording, cost).splitlines():
        stack, _, amount = line.rpartition(" ")
        if amount.isdigit() and int(amount) > 0 and stack:
            stacks.append(([re.sub(r" \([^()]*\)$", "", f) for f in stack.split(";") if f], int(amount)))
    names = demangled({f for frames, _ in stacks for f in frames})
    parts = collections.Counter()
    causes = collections.defaultdict(collections.Counter)
    for frames, bytes_ in stacks:
        part, cause = classify([names[f] for f in frames])
        parts[part] += bytes_
        causes[part][cause] += bytes_
    return parts, causes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recording", help="heaptrack .raw (from the bench) or .gz")
    parser.add_argument("--per", type=int, default=1, help="divide by this many connections")
    parser.add_argument("--causes", type=int, default=3, help="name this many causes per part")
    parser.add_argument("--cost", default="leaked", choices=["leaked", "peak"],
                        help="leaked: held when the recording ended (default); peak: at the heap's highest")
    parser.add_argument("--baseline", help="a recording of the same server holding (almost) nothing, subtracted")
    parser.add_argument("--baseline-per", type=int, default=0, help="connections the baseline recording held")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    parts, causes = breakdown(args.recording, args.cost)
    per = args.per
    if args.baseline:
        # The same server holding (almost) nothing: what it holds anyway.
        base, _ = breakdown(args.baseline, args.cost)
        parts.subtract(base)
        per -= args.baseline_per
    total = sum(parts.values())

    per = max(per, 1)
    if args.markdown:
        print("| part | heap per connection | share |")
        print("|---|---|---|")
    for part, bytes_ in parts.most_common():
        share = 100 * bytes_ / total if total else 0
        top = ", ".join(f"{c} {b / per / 1024:.1f}" for c, b in causes[part].most_common(args.causes))
        if args.markdown:
            print(f"| {part} | {bytes_ / per / 1024:.1f} KiB | {share:.0f} % |")
        else:
            print(f"{bytes_ / per / 1024:8.1f} KiB  {share:4.0f} %  {part}   [{top}]")
    if args.markdown:
        print(f"| **heap held** | **{total / per / 1024:.1f} KiB** | |")
    else:
        print(f"{total / per / 1024:8.1f} KiB         heap held, per {per}")


if __name__ == "__main__":
    sys.exit(main())
