# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the language: every problem of one template, tool or file at once."""

from __future__ import annotations


class TemplateError(Exception):
    """Every problem found while expanding one template (or reading its file)."""

    def __init__(self, file_name: str, subject: str, problems: list[str]) -> None:
        self.file_name = file_name
        self.subject = subject
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{file_name}: {subject}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([heading] + [f"  - {problem}" for problem in self.problems]))
