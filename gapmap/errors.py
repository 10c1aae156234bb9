"""The one error family for user mistakes, and the problems it carries.

Every loader collects *all* problems it finds (osmnx-style) and raises one
`GapmapInputError` listing them, so an analyst can fix a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    `row` is the row number the analyst sees in a spreadsheet (the header is row 1
    in a CSV; Excel rows are the sheet's own numbers), or None for the whole file.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column `{self.column}`"
        return f"{self.severity.upper()}: {where}: {self.message}"


@dataclass
class ValidationReport:
    """All problems found in one or more inputs, errors kept apart from warnings."""

    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, other: ValidationReport | list[Problem]) -> None:
        self.problems.extend(other.problems if isinstance(other, ValidationReport) else other)

    def error(self, file: str, message: str, row: int | None = None, column: str | None = None) -> None:
        self.add(Problem(file, message, row, column, "error"))

    def warn(self, file: str, message: str, row: int | None = None, column: str | None = None) -> None:
        self.add(Problem(file, message, row, column, "warning"))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise GapmapInputError(self.problems)

    def to_text(self) -> str:
        """A report an analyst can read: errors first, then warnings, then a count."""
        lines = [str(p) for p in self.errors] + [str(p) for p in self.warnings]
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s).")
        return "\n".join(lines)


class GapmapInputError(Exception):
    """A user-supplied input is wrong; the message says where and how to fix it.

    Parameters
    ----------
    problems
        Every problem found (warnings may be included; at least one is an error),
        or a single message string for a whole-file problem.
    file
        The file name, when `problems` is a string.
    """

    def __init__(self, problems: list[Problem] | str, file: str = "input") -> None:
        if isinstance(problems, str):
            problems = [Problem(file, problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.report.to_text())

    @property
    def report(self) -> ValidationReport:
        return ValidationReport(list(self.problems))


class ConfigError(GapmapInputError):
    """The vocabulary / benchmark TOML file is wrong."""
