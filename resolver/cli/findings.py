"""What `resolver check` found, section by section, and how it is printed for a person or as
JSON. An error makes the command fail; a warning is worth reading before a promotion."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["ok", "info", "warning", "error"]
MARKS: dict[Level, str] = {"ok": "ok", "info": "--", "warning": "!!", "error": "XX"}


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    message: str


@dataclass(slots=True)
class Section:
    """The findings about one thing: the configuration, Redis, an account, a campaign."""

    title: str
    findings: list[Finding] = field(default_factory=list)

    def ok(self, message: str) -> None:
        self.findings.append(Finding("ok", message))

    def info(self, message: str) -> None:
        self.findings.append(Finding("info", message))

    def warn(self, message: str) -> None:
        self.findings.append(Finding("warning", message))

    def error(self, message: str) -> None:
        self.findings.append(Finding("error", message))


@dataclass(slots=True)
class Report:
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        section = Section(title)
        self.sections.append(section)
        return section

    def count(self, level: Level) -> int:
        return sum(f.level == level for s in self.sections for f in s.findings)

    @property
    def failed(self) -> bool:
        return self.count("error") > 0

    def messages(self, level: Level | None = None) -> list[str]:
        """Every message (of `level`), in order: what tests read."""
        return [
            f.message
            for s in self.sections
            for f in s.findings
            if level is None or f.level == level
        ]


def render_text(report: Report) -> str:
    lines: list[str] = []
    for section in report.sections:
        lines.append(section.title)
        for finding in section.findings:
            head, *rest = finding.message.splitlines() or [""]
            lines.append(f"  {MARKS[finding.level]} {head}")
            lines.extend(f"     {line}" for line in rest)
        lines.append("")
    errors, warnings = report.count("error"), report.count("warning")
    verdict = "FAILED" if errors else "ready"
    lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps(
        {
            "ok": not report.failed,
            "errors": report.count("error"),
            "warnings": report.count("warning"),
            "sections": [
                {
                    "title": s.title,
                    "findings": [{"level": f.level, "message": f.message} for f in s.findings],
                }
                for s in report.sections
            ],
        },
        indent=2,
        ensure_ascii=False,
    )
