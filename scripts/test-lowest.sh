#!/usr/bin/env bash
# Run the LangChain handler's tests on the LOWEST langchain-core, langchain-classic, langchain,
# langgraph and langchain-community that pyproject.toml allows (every other package as
# constraints.txt pins it), in a virtualenv of its own (.venv-lowest, or $LOWEST_VENV).
# Usage: scripts/test-lowest.sh [pytest arguments]    (scripts/test.sh runs it when CI=true)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LOWEST_VENV:-.venv-lowest}
python=${PYTHON:-python3}
started=$(date +%s)
# name==lower bound, for each package, from its ">=" requirement in pyproject.toml.
pins=$("$python" - <<'PY'
import re
import tomllib

names = ("langchain-core", "langchain-classic", "langchain", "langgraph", "langchain-community")
with open("pyproject.toml", "rb") as file:
    extras = tomllib.load(file)["project"]["optional-dependencies"].values()
requirements = [r.strip() for extra in extras for r in extra]
for name in names:
    bound = next(m.group(1) for r in requirements
                 if (m := re.fullmatch(rf"{re.escape(name)}\s*>=\s*([\w.]+)", r)))
    print(f"{name}=={bound}")
PY
)
# langgraph 1.0.0 does not import with the newest langgraph-prebuilt its range accepts (1.0.10
# needs langgraph.runtime.ExecutionInfo): the lowest LangGraph comes with its own prebuilt.
pins="$pins
langgraph-prebuilt==1.0.0"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# The LangChain family is left out of the constraints: pip picks what the lowest pins accept;
# so is packaging (langchain-core 1.0 needs packaging<26).
grep -vE '^(langchain|langgraph|langsmith|packaging=)' constraints.txt > "$venv/constraints-lowest.txt"
if [ "$(cat "$venv/pins.txt" 2>/dev/null)" != "$pins" ]; then
  echo "== installing into $venv: $(echo $pins)"
  # uv installs the same as pip, in a fraction of the time (pip when uv cannot be installed).
  installer=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv; then
    installer=("$venv/bin/uv" pip install --quiet --python "$venv/bin/python")
  fi
  # shellcheck disable=SC2086  # one argument per pin
  "${installer[@]}" -c "$venv/constraints-lowest.txt" -e ".[dev,all]" $pins
  echo "$pins" > "$venv/pins.txt"
fi
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
  | grep -E '^(langchain|langgraph|langsmith)' | tr -s ' ' | sed 's/^/   /'
"$venv/bin/pytest" -q -p no:cacheprovider tests/langchain "$@"
echo "== lowest versions: done in $(( $(date +%s) - started )) s"
