"""``${VAR}`` references in config strings, as a small parser rather than a regular expression.

Why a parser: the regular expression it replaces left anything it did not match as literal
text, so ``${A:-${B:-x}}`` silently became ``${B:-x}``-ish garbage and there was no way to write
a literal ``${``. The forms, as in docker compose:

- ``${VAR}``: the variable's value; unset is an error;
- ``${VAR:-default}``: the default when VAR is unset (set but empty gives ""; hashwatch has
  always read it so); the default may itself hold
  references (``${A:-${B:-x}}``), evaluated only when used, nested at most 8 deep;
- ``$${``: a literal ``${``; a ``$`` anywhere else is literal.

Anything else that starts with ``${`` (no closing brace, a bad name, ``${VAR-x}``,
``${VAR:?}``) is an error naming the form and the fix, never passed through.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_NESTING = 8
_FIX = "write $${ for a literal ${"


class _Parser:
    def __init__(self, text: str, env: Mapping[str, str]):
        self.text = text
        self.env = env
        self.i = 0

    def expand(self, depth: int, evaluate: bool, *, inner: bool) -> str:
        """Text up to the end (or, when ``inner``, up to the closing ``}`` of a default)."""
        out: list[str] = []
        text = self.text
        while self.i < len(text):
            if text.startswith("$${", self.i):
                out.append("${")
                self.i += 3
            elif text.startswith("${", self.i):
                self.i += 2
                out.append(self.reference(depth + 1, evaluate))
            elif inner and text[self.i] == "}":
                return "".join(out)
            else:
                out.append(text[self.i])
                self.i += 1
        if inner:
            raise ValueError(f"unterminated ${{...}} in a default value; {_FIX}")
        return "".join(out)

    def reference(self, depth: int, evaluate: bool) -> str:
        if depth > MAX_NESTING:
            raise ValueError(f"${{...}} defaults nested more than {MAX_NESTING} deep")
        text, start = self.text, self.i
        while self.i < len(text) and (text[self.i].isalnum() or text[self.i] == "_") and (
            text[self.i].isascii()
        ):
            self.i += 1
        name = text[start : self.i]
        if not name or name[0].isdigit():
            raise ValueError(f"malformed ${{...}}: expected a variable name after ${{; {_FIX}")
        if text.startswith("}", self.i):
            self.i += 1
            if not evaluate:
                return ""
            if name in self.env:
                return self.env[name]
            raise ValueError(
                f"environment variable {name} is not set; export it or write "
                f"${{{name}:-default}}"
            )
        if text.startswith(":-", self.i):
            self.i += 2
            value = self.env.get(name, "") if evaluate else ""
            use_default = evaluate and name not in self.env
            default = self.expand(depth, use_default, inner=True)
            self.i += 1  # the closing brace
            return default if use_default else value
        if self.i >= len(text):
            raise ValueError(f"unterminated ${{{name}...}}; {_FIX}")
        raise ValueError(
            f"unsupported form ${{{name}{text[self.i : self.i + 2]}...}}: use ${{{name}}} or "
            f"${{{name}:-default}}; {_FIX}"
        )


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every reference replaced; ValueError (one line, no value) if malformed."""
    return _Parser(text, env).expand(0, True, inner=False)
