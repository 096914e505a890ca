"""The documentation agrees with the product: KPIs, contract, settings, API routes and links.

Each test reads the facts from the code (the KPI definition files, the
contract tables, the settings and every `CONTROL_TOWER_*` name in the
source, the Flask app's URL map) and checks that the pages in `docs/` say
them, so a change to the product that the docs do not follow fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from control_tower.contracts import TABLES
from control_tower.kpi.certification import SIGNOFF_LOG

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
API_PREFIX = "/api/v1"
ENV_NAME = re.compile(r"CONTROL_TOWER_[A-Z0-9_<>]*")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def page(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


def sections(text: str, level: int) -> dict[str, str]:
    """Heading text -> the text under it, up to the next heading of that level or higher."""
    marks = list(re.finditer(rf"^#{{1,{level}}} (.+)$", text, re.MULTILINE))
    out = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[m.group(1).strip()] = text[m.end() : end]
    return out


def ticked(text: str) -> set[str]:
    """Every `code` span of a text."""
    return set(re.findall(r"`([^`]+)`", text))


# KPIs ---------------------------------------------------------------------------------------


def kpi_definitions() -> dict[str, dict]:
    folder = ROOT / "kpi_definitions"
    found = {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in folder.glob("*.yml")
        if p.name != SIGNOFF_LOG  # who signed off which version: no definition
    }
    assert found, f"no KPI definitions in {folder}"
    return found


def expected_exception_types(name: str, definition: dict) -> list[str]:
    """The exception types a KPI's definition lists (required; `[]` means no queue yet)."""
    assert "exception_types" in definition, f"{name}: no exception_types key"
    return list(definition["exception_types"] or [])


def kpi_sections() -> dict[str, str]:
    found = {}
    for heading, body in sections(page("kpis.md"), 3).items():
        m = re.fullmatch(r"`([a-z0-9_]+)`", heading)
        if m:
            found[m.group(1)] = body
    return found


def test_every_kpi_has_a_section_with_its_owner_status_and_target() -> None:
    documented = kpi_sections()
    definitions = kpi_definitions()
    assert sorted(set(definitions) - set(documented)) == [], "KPIs without a section in kpis.md"
    assert sorted(set(documented) - set(definitions)) == [], "kpis.md documents unknown KPIs"
    for name, definition in definitions.items():
        body = documented[name]
        rows = dict(re.findall(r"^\| ([a-z ]+) \| (.*) \|$", body, re.MULTILINE))
        assert rows.get("owner") == definition["owner"], f"{name}: owner"
        assert rows.get("status") == f"{definition['status']}, version {definition['version']}", (
            f"{name}: status and version"
        )
        assert f"`{definition['time_dimension']}`" in rows.get("time dimension", ""), name
        assert ticked(rows.get("dimensions", "")) == set(definition["dimensions"]), name
        if definition.get("target") is None:
            assert rows.get("target") == "none", f"{name}: has no target"
        else:
            assert rows.get("target", "none") != "none", f"{name}: target missing"


def test_every_kpi_section_lists_the_exception_types_behind_it() -> None:
    documented = kpi_sections()
    for name, definition in kpi_definitions().items():
        rows = dict(re.findall(r"^\| ([a-z ]+) \| (.*) \|$", documented[name], re.MULTILINE))
        assert "exception types" in rows, f"{name}: no exception types row"
        listed = ticked(rows["exception types"]) - {"[]"}
        expected = expected_exception_types(name, definition)
        assert listed == set(expected), f"{name}: docs list {sorted(listed)}, KPI has {expected}"
        if not expected:
            assert "no queue yet" in rows["exception types"], name


# Extract contract ---------------------------------------------------------------------------


def test_every_contract_table_and_column_is_documented_with_its_key() -> None:
    documented = {
        m.group(1): body
        for heading, body in sections(page("extract-contract.md"), 3).items()
        if (m := re.fullmatch(r"`([a-z_]+)`", heading))
    }
    assert sorted(set(TABLES) - set(documented)) == [], "tables missing from extract-contract.md"
    assert sorted(set(documented) - set(TABLES)) == [], "extract-contract.md has unknown tables"
    for name, table in TABLES.items():
        body = documented[name]
        rows = dict(re.findall(r"^\| `([a-z_]+)` \| [^|]* \| ([^|]*) \|$", body, re.MULTILINE))
        for col in table.columns:
            assert col.name in rows, f"{name}.{col.name} is not in its table"
            presence = rows[col.name].strip()
            if col.required:
                assert presence.startswith("required"), f"{name}.{col.name} is required"
                assert ("may be empty" in presence) == col.nullable, f"{name}.{col.name}"
            else:
                assert presence == "optional", f"{name}.{col.name} is optional"
        key_line = re.search(r"^- Key: (.*)$", body, re.MULTILINE)
        assert key_line is not None, f"{name}: no key line"
        assert re.findall(r"`([a-z_]+)`", key_line.group(1)) == list(table.key), f"{name}: key"
        assert f"inbox/{table.system}/" in page("extract-contract.md")


# Configuration ------------------------------------------------------------------------------


def names_in_code() -> set[str]:
    """Every `CONTROL_TOWER_*` name the product's code mentions or reads through its settings."""
    names: set[str] = set()
    files = [
        ROOT / "app.py",
        *(ROOT / "control_tower").rglob("*.py"),
        *(ROOT / "pipelines").rglob("*"),
    ]
    for path in files:
        if path.is_file() and path.suffix in (".py", ".yml"):
            names |= set(ENV_NAME.findall(path.read_text(encoding="utf-8")))
    # settings.py reads most variables by their name without the prefix: _env("HOME"), ...
    tree = ast.parse((ROOT / "control_tower" / "settings.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9_]*", first.value)
            ):
                names.add("CONTROL_TOWER_" + first.value)
    return names


def configuration_table() -> set[str]:
    body = sections(page("operations.md"), 2).get("Configuration")
    assert body is not None, "operations.md has no Configuration section"
    found = set(re.findall(r"^\| `(CONTROL_TOWER_[A-Z0-9_<>]+)` \|", body, re.MULTILINE))
    assert found, "the Configuration section has no table of variables"
    return found


def test_every_setting_the_code_reads_is_in_the_one_configuration_table() -> None:
    table = configuration_table()
    code = names_in_code()
    assert {"CONTROL_TOWER_HOME", "CONTROL_TOWER_MAPPINGS"} <= code  # the scan finds names
    # A documented `<NAME>` stands for any name; a name ending in `_` is a prefix the code
    # builds names from (CONTROL_TOWER_SOURCE_{...}_URL).
    patterns = [re.compile(re.sub(r"<[A-Z]+>", "[A-Z0-9_]+", t)) for t in table]
    missing = sorted(
        n
        for n in code
        if not (
            n in table
            or any(p.fullmatch(n) for p in patterns)
            or (n.endswith("_") and any(t.startswith(n) for t in table))
        )
    )
    assert missing == [], f"not in the configuration table of docs/operations.md: {missing}"
    stale = sorted(table - code)
    assert stale == [], f"documented but not read by the code: {stale}"


def test_the_configuration_table_is_the_only_one() -> None:
    pages = [ROOT / "README.md", *DOCS.glob("*.md")]
    holders = [
        p.name
        for p in pages
        if re.search(
            r"^\| `CONTROL_TOWER_[A-Z_]+` \| [^|]* \| [^|]* \|$", p.read_text(), re.MULTILINE
        )
    ]
    assert holders == ["operations.md"]


# API ----------------------------------------------------------------------------------------


def _normalise(path: str) -> str:
    return re.sub(r"<[^>]*>", "<>", path)


def registered_routes(tmp_path: Path) -> set[str]:
    """`METHOD /api/v1/...` of every API route the web app registers (from its URL map)."""
    from control_tower.settings import load_settings
    from control_tower.web import create_app

    app = create_app(load_settings(tmp_path))
    routes = set()
    for rule in app.server.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.add(f"{method} {_normalise(rule.rule)}")
    return routes


def test_every_api_route_is_documented_and_every_documented_route_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CONTROL_TOWER_APP_DB_URL", "CONTROL_TOWER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    registered = registered_routes(tmp_path)
    assert len(registered) >= 8, registered
    headings = sections(page("api.md"), 3)
    documented = {
        f"{m.group(1)} {_normalise(m.group(2))}"
        for heading in headings
        if (m := re.fullmatch(r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S*)`", heading))
    }
    assert sorted(registered - documented) == [], "routes without a section in docs/api.md"
    assert sorted(documented - registered) == [], "docs/api.md documents routes that do not exist"


# Links and the README -----------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", markdown_pages(), ids=lambda p: p.name)
def test_every_relative_link_resolves(path: Path) -> None:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        assert dest.exists(), f"{path.name}: link to {target} points at nothing"
        if anchor:
            assert dest.suffix == ".md", f"{path.name}: anchor on a non-page link {target}"
            assert anchor in anchors(dest), f"{path.name}: no heading #{anchor} in {dest.name}"


def test_the_docs_folder_has_an_index_linking_every_page() -> None:
    index = page("README.md")
    linked = {t.partition("#")[0] for t in LINK.findall(index)}
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert sorted(pages - linked) == [], "pages missing from docs/README.md"
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_keeps_the_ci_test_command_and_the_task_list() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"^(python3 tasks\.py \w+)\s*$", ci, re.MULTILINE)
    assert command is not None, ".ci/run runs no tasks.py command"
    assert command.group(1) in readme
    assert "python3 tasks.py demo" in readme
    tasks_doc = ast.get_docstring(ast.parse((ROOT / "tasks.py").read_text(encoding="utf-8")))
    tasks = set(re.findall(r"python3 tasks\.py (\w+)", tasks_doc or ""))
    listed = re.search(r"Project tasks \(`python3 tasks\.py TASK`\): ([^.]*)\.", readme)
    assert listed is not None, "README has no list of project tasks"
    assert set(re.findall(r"`(\w+)`", listed.group(1))) == tasks


def test_the_docs_stand_alone() -> None:
    """No page points readers at specification files that are not part of the product."""
    for path in markdown_pages():
        text = path.read_text(encoding="utf-8")
        for name in ("KPI_SEMANTICS", "EXTRACT_CONTRACT", "DESIGN.md"):
            assert name not in text, f"{path.name} mentions {name}"
