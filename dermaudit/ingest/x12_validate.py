"""X12 implementation-guide validation with pyx12 (BSD), for ``dermaudit inspect``.

pyx12 checks every segment and element against the 837P (005010X222A1) and 835
(005010X221A1) maps: loop and segment order and repeats, required elements, lengths and code
values. It is thorough and slow (thousands of segments a second), so the scan itself uses the
vectorised reader in ``x12.py`` and this module only runs when a user asks for validation.

Two known pyx12 pitfalls are handled before the file is handed over: pyx12 ships the X222A1
map only, so an ``005010X222A2`` envelope is validated against it; and a file whose composites
use another component separator than the one its ISA declares is given the separator it
really uses. pyx12's own messages quote segment and element values, which may be PHI, so
they are never shown: each error is rewritten from its error code, the segment identifier,
the element position and the element's name in the implementation guide. No acknowledgement
file is written (pyx12 would write one next to the input).
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .x12_segments import ISA_LEN, SEG_ID_RE, Problem, read_segments

# IK304 segment syntax error codes (code numbers of the X12 999; our own short words)
SEGMENT_CODES = {
    "1": "unrecognised segment",
    "2": "segment not expected here",
    "3": "required segment missing",
    "4": "loop repeated more often than allowed",
    "5": "segment repeated more often than allowed",
    "6": "segment not defined in this transaction set",
    "7": "segment out of order",
    "8": "segment has element errors",
    "I4": "segment marked 'not used' is present",
    "I6": "segment required in this situation is missing",
    "I7": "loop occurs fewer times than required",
    "I9": "segment marked 'not used' in this situation is present",
    "SEG1": "trailing element separators",
    "LX": "service line numbers (LX01) do not run 1, 2, 3 within the claim",
    "HL1": "hierarchical ids (HL01) are not numbered 1, 2, 3 in order",
    "HL2": "the parent named in HL02 is not a valid parent loop",
}
# IK502 transaction set, AK905 functional group and TA105 interchange error codes
ENVELOPE_CODES = {
    "ST": {
        "1": "transaction set not supported",
        "2": "SE trailer missing",
        "3": "ST and SE control numbers differ",
        "4": "SE01 segment count differs from the segments in the transaction set",
        "5": "one or more segments in error",
        "6": "transaction set identifier missing or invalid",
        "7": "transaction set control number missing or invalid",
        "23": "transaction set control number repeated within the group",
    },
    "GS": {
        "1": "functional group not supported",
        "2": "functional group version not supported",
        "3": "GE trailer missing",
        "4": "GS and GE control numbers differ",
        "5": "GE01 transaction set count differs from the transaction sets in the group",
        "6": "group control number invalid",
    },
    "ISA": {
        "001": "ISA and IEA control numbers differ",
        "021": "IEA01 group count differs from the groups in the interchange",
        "022": "invalid interchange control structure",
        "023": "the file ends before the interchange trailer",
        "024": "invalid interchange content",
        "025": "duplicate interchange control number",
        "026": "invalid element separator",
        "027": "invalid component separator",
    },
}
# IK403 element syntax error codes
ELEMENT_CODES = {
    "1": "required element missing",
    "2": "conditionally required element missing",
    "3": "too many elements",
    "4": "value too short",
    "5": "value too long",
    "6": "invalid character",
    "7": "code value not allowed",
    "8": "invalid date",
    "9": "invalid time",
    "10": "element present that another excludes",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in this implementation",
    "I9": "element required in this situation is missing",
    "I10": "element marked 'not used' is present",
    "I11": "too few repetitions",
    "I12": "value does not match the required pattern",
    "I13": "element marked 'not used' in this situation is present",
}


@dataclass
class Validation:
    problems: list[Problem] = field(default_factory=list)
    segments: int = 0
    checked: int = 0
    ok: bool = True

    def summary(self) -> str:
        scope = (
            f"segments 1-{self.checked:,} of {self.segments:,} checked"
            if self.checked < self.segments
            else f"all {self.segments:,} segments checked"
        )
        if not self.problems:
            return f"no problems ({scope})"
        return f"{len(self.problems)} problem(s) ({scope}); values are not shown"


def _prepare(path: Path, max_segments: int) -> tuple[str, int, int]:
    """The text pyx12 reads: X222A2 -> X222A1, the real component separator in ISA16, and at
    most ``max_segments`` segments."""
    seg = read_segments(path)
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff").lstrip()
    text = text.replace("005010X222A2", "005010X222A1")
    real = seg.seps[0].component
    if text[ISA_LEN - 1] != real:
        text = text[: ISA_LEN - 1] + real + text[ISA_LEN:]
    total = seg.frame.height
    term = seg.seps[0].segment
    if total > max_segments and len(seg.seps) == 1:
        pos = -1
        for _ in range(max_segments):
            pos = text.find(term, pos + 1)
        text = text[: pos + 1]
        return text, total, max_segments
    return text, total, total


def _env(level: str, err: dict[str, Any]) -> str:
    cde = str(err.get("err_cde"))
    return f"{level}: " + ENVELOPE_CODES[level].get(cde, f"envelope error code {cde}")


def _ele_text(seg_id: str, ele: dict[str, Any], err: dict[str, Any]) -> str:
    pos = ele.get("ele_pos")
    sub = ele.get("subele_pos")
    ref = f"{seg_id}{int(pos):02d}" if isinstance(pos, int) else seg_id
    if isinstance(sub, int) and sub > 0:
        ref += f"-{sub:02d}"
    what = ELEMENT_CODES.get(str(err.get("err_cde")), f"element error {err.get('err_cde')}")
    name = str(ele.get("name") or "")
    return f"{ref}{f' ({name})' if name else ''}: {what}"


def _collect(doc: dict[str, Any], truncated: bool) -> list[Problem]:
    out: list[Problem] = []
    for isa in doc.get("interchanges", []):
        if not truncated:
            for err in isa.get("errors", []):
                out.append(
                    Problem(
                        int(isa.get("cur_line") or 0),
                        _env("ISA", err),
                    )
                )
        for gs in isa.get("groups", []):
            if not truncated:
                for err in gs.get("errors", []):
                    out.append(
                        Problem(
                            int(gs.get("cur_line") or 0),
                            _env("GS", err),
                        )
                    )
            for st in gs.get("transactions", []):
                if not truncated:
                    for err in st.get("errors", []):
                        out.append(
                            Problem(
                                int(st.get("cur_line") or 0),
                                _env("ST", err),
                            )
                        )
                for seg in st.get("segments", []):
                    line = int(seg.get("cur_line") or 0)
                    sid = str(seg.get("seg_id") or "")
                    sid = sid if re.fullmatch(SEG_ID_RE, sid) else "segment"
                    name = str(seg.get("name") or "")
                    for err in seg.get("errors", []):
                        cde = str(err.get("err_cde"))
                        what = SEGMENT_CODES.get(cde, f"segment error {cde}")
                        out.append(Problem(line, f"{sid}{f' ({name})' if name else ''}: {what}"))
                    for ele in seg.get("elements", []):
                        for err in ele.get("errors", []):
                            out.append(Problem(line, _ele_text(sid, ele, err)))
    return out


def validate(path: Path, max_segments: int = 50_000) -> Validation:
    """Validate one X12 file with pyx12; at most ``max_segments`` segments are checked."""
    import pyx12.params
    import pyx12.x12n_document

    try:
        text, total, checked = _prepare(path, max_segments)
    except InputError as exc:
        return Validation([Problem(0, str(exc))], 0, 0, ok=False)
    # pyx12's loggers quote element values (possibly PHI): swallow every record for the
    # duration (a NullHandler also keeps Python's last-resort stderr handler away)
    log = logging.getLogger("pyx12")
    sink = logging.NullHandler()
    saved = log.propagate
    log.addHandler(sink)
    log.propagate = False
    out = io.StringIO()
    try:
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), None, None, fd_json=out
        )
    except Exception as exc:  # pyx12 raises on maps it lacks and on broken envelopes
        return Validation(
            [Problem(0, f"pyx12 could not validate the file ({type(exc).__name__})")],
            total,
            checked,
            ok=False,
        )
    finally:
        log.removeHandler(sink)
        log.propagate = saved
    raw = out.getvalue()
    doc = json.loads(raw) if raw.strip() else {}
    problems = _collect(doc, truncated=checked < total)
    return Validation(problems, total, checked, ok=bool(ok) and not problems)
