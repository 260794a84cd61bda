"""Comparing two prompt texts with difflib: a unified diff, its hunks, and summary figures.

Pure functions, CPU-bound: callers in async code run `compare` in a thread.
"""

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from shared.prompt_history.schemas import DiffHunk, DiffLine, DiffSummary

CONTEXT_LINES = 3
# A word or a run of punctuation with the whitespace after it (plus any leading whitespace).
# Matching words instead of characters keeps a 100,000-character comparison well under a
# second, where difflib on characters would take minutes; figures stay in characters.
_TOKENS = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+")


def _range(start: int, stop: int) -> tuple[int, int]:
    """A hunk side as `diff -u` numbers it: 1-based start, or the line before when empty."""
    length = stop - start
    return (start + 1 if length else start), length


def _hunk(
    group: Sequence[tuple[str, int, int, int, int]], old: list[str], new: list[str]
) -> DiffHunk:
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            lines += [DiffLine(type="context", text=text) for text in old[i1:i2]]
            continue
        lines += [DiffLine(type="removed", text=text) for text in old[i1:i2]]
        lines += [DiffLine(type="added", text=text) for text in new[j1:j2]]
    old_start, old_lines = _range(group[0][1], group[-1][2])
    new_start, new_lines = _range(group[0][3], group[-1][4])
    return DiffHunk(
        old_start=old_start,
        old_lines=old_lines,
        new_start=new_start,
        new_lines=new_lines,
        lines=lines,
    )


def _header_range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


_PREFIX = {"context": " ", "removed": "-", "added": "+"}


def unified_text(hunks: list[DiffHunk], old_label: str, new_label: str) -> str:
    """The hunks as `diff -u` prints them (identical to `difflib.unified_diff`, lineterm="")."""
    if not hunks:
        return ""
    out = [f"--- {old_label}", f"+++ {new_label}"]
    for hunk in hunks:
        old = _header_range(hunk.old_start, hunk.old_lines)
        new = _header_range(hunk.new_start, hunk.new_lines)
        out.append(f"@@ -{old} +{new} @@")
        out += [_PREFIX[line.type] + line.text for line in hunk.lines]
    return "\n".join(out)


def _summary(
    old_text: str, new_text: str, opcodes: Sequence[tuple[str, int, int, int, int]]
) -> DiffSummary:
    added = sum(j2 - j1 for tag, _, _, j1, j2 in opcodes if tag in ("insert", "replace"))
    removed = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag in ("delete", "replace"))
    old_tokens, new_tokens = _TOKENS.findall(old_text), _TOKENS.findall(new_text)
    blocks = SequenceMatcher(None, old_tokens, new_tokens).get_matching_blocks()
    matched = sum(len(token) for b in blocks for token in old_tokens[b.a : b.a + b.size])
    total = len(old_text) + len(new_text)
    return DiffSummary(
        lines_added=added,
        lines_removed=removed,
        characters_changed=total - 2 * matched,
        similarity=round(2 * matched / total, 4) if total else 1.0,
    )


def compare(
    old_text: str, new_text: str, old_label: str, new_label: str
) -> tuple[str, list[DiffHunk], DiffSummary]:
    """Line diff (hunks and unified text) and word-level summary of `old_text` -> `new_text`."""
    old, new = old_text.splitlines(), new_text.splitlines()
    lines = SequenceMatcher(None, old, new)
    hunks = [_hunk(group, old, new) for group in lines.get_grouped_opcodes(CONTEXT_LINES)]
    summary = _summary(old_text, new_text, lines.get_opcodes())
    return unified_text(hunks, old_label, new_label), hunks, summary
