"""Settings: the only place that reads the environment.

Every variable has the `CONTROL_TOWER_` prefix. Everything else in the
product receives a `Settings` (or a path or connection derived from it).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from control_tower import resources

# The machine and DuckDB resources part lives in `control_tower.machine`; these names stay
# importable from here for the code that reads them with the settings.
from control_tower.machine import GIB as GIB
from control_tower.machine import MAX_THREADS, MIN_MEMORY, MIN_TEMP, WEB_MEMORY, SizeError
from control_tower.machine import MIB as MIB
from control_tower.machine import DuckDBResources as DuckDBResources
from control_tower.machine import Machine as Machine
from control_tower.machine import default_duckdb_resources as default_duckdb_resources
from control_tower.machine import parse_size as parse_size

PREFIX = "CONTROL_TOWER_"
# The governed KPI catalog shipped with the product (override: CONTROL_TOWER_KPI_DEFINITIONS).
DEFAULT_KPI_DEFINITIONS = resources.shipped("kpi_definitions")
# Source mappings shipped as examples (override: CONTROL_TOWER_MAPPINGS). None runs unless the
# data folder's sources.yml enables it.
DEFAULT_MAPPINGS = resources.shipped("mappings")


class SettingsError(ValueError):
    """A setting has a value the product cannot use."""


# The data folder holds password hashes, session secrets and every landed record: its folders
# and files are for the account that runs the product only.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create the folder `path` and its missing parents owner-only (0700, whatever the umask)
    and return it. A folder that exists already is left as it is (its owner chose its mode)."""
    missing: list[Path] = []
    current = Path(path)
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # created by another process meanwhile: it chose the mode
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is cut by the umask
    return Path(path)


def private_file(path: Path) -> Path:
    """Make an existing file owner-only (0600) and return it."""
    os.chmod(path, PRIVATE_FILE_MODE)
    return Path(path)


def create_private_file(path: Path) -> bool:
    """Create `path` empty and owner-only (0600, whatever the umask) in an owner-only folder
    when it does not exist yet; whether it was created."""
    private_dir(Path(path).parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return default if value is None or value.strip() == "" else value.strip()


def named_variable(variable: str) -> str | None:
    """A variable the configuration names itself (a SQL source's URL, a secret); prefix required."""
    if not variable.startswith(PREFIX):
        raise SettingsError(f"{variable!r} is not a {PREFIX}* variable")
    return _env(variable.removeprefix(PREFIX))


def available_cores() -> int:
    """CPU cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _positive_float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a number") from None
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name}={raw!r} must be greater than 0")
    return value


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one control tower installation."""

    home: Path
    app_db_url: str
    ingest_every_minutes: float = 5.0
    secret_key: str = field(default="", repr=False)
    keep_snapshots: int = 3
    # The product's KPI catalog and source mappings folders (the shipped ones unless overridden);
    # `kpi_definitions` and `mappings` add the data folder's own beside them.
    kpi_definitions_dir: Path = DEFAULT_KPI_DEFINITIONS
    mappings_dir: Path = DEFAULT_MAPPINGS
    # Sign-in: consecutive failures before a lockout, and how long the lockout lasts.
    login_max_attempts: int = 5
    lockout_minutes: float = 15.0
    # How long a sign-in lasts at most, whatever the activity.
    session_hours: float = 12.0
    # Secure flag of the session cookie: None sets it when the request came over https.
    cookie_secure: bool | None = None
    # Signed-in sessions with no activity for this long are signed out.
    idle_minutes: float = 30.0
    # Reverse proxies in front of the web app whose X-Forwarded-* headers are trusted (hops).
    trusted_proxies: int = 0
    # Largest request body the web app accepts (bytes); larger ones get 413.
    max_request_bytes: int = 2_000_000
    # Uncached KPI computations one user may start per minute (pages and API).
    kpi_computations_per_minute: int = 30
    # Web server processes (`control-tower serve`) and request threads in each.
    web_workers: int = 1
    web_threads: int = 4
    # DuckDB buffer memory of each web worker's serving connection (at most `duckdb`'s), and
    # seconds between a worker's looks at the serving pointer to warm a new snapshot (0: off).
    web_duckdb_memory_bytes: int = WEB_MEMORY
    web_warm_seconds: int = 5
    # KPI alert notifications: in the app always; e-mail and webhook only when configured.
    smtp_host: str | None = None
    smtp_port: int = 25
    alert_email_from: str = "control-tower@localhost"
    alert_email_to: tuple[str, ...] = ()
    alert_webhook_url: str | None = None
    # The notification outbox: a delivery that failed all its tries is retried by later runs,
    # first after `outbox_retry_minutes`, then twice as long each time up to
    # `outbox_retry_max_hours`, and given up once it is `outbox_give_up_hours` old.
    outbox_retry_minutes: float = 5.0
    outbox_retry_max_hours: float = 6.0
    outbox_give_up_hours: float = 72.0
    # Action requests: besides the files in <home>/outbox/<system>/, a signed webhook (HMAC-SHA256
    # with the secret) when a URL is set; a sent request not confirmed by the data within
    # `action_confirm_grace_days` after its action date becomes overdue.
    action_webhook_url: str | None = None
    action_webhook_secret: str | None = field(default=None, repr=False)
    action_confirm_grace_days: int = 2
    # DuckDB's memory, threads and spill folder on every connection (None: the machine defaults).
    duckdb_resources: DuckDBResources | None = None
    # A failing post-load step is retried after `step_retry_minutes`, twice as long after each
    # further failure, at most `step_retry_max_hours` apart.
    step_retry_minutes: float = 15.0
    step_retry_max_hours: float = 24.0
    # A run recomputes what its batches touched; every step recomputes everything at least this
    # often (and on the first run of each as-of day).
    full_refresh_hours: float = 24.0
    # The currency figures across entities are converted to (ISO 4217 code, docs/currency.md).
    reporting_currency: str = "USD"
    # Where the post-load `lake` step publishes the Parquet lake (docs/lake.md); None: off.
    lake_dir: Path | None = None

    @property
    def duckdb(self) -> DuckDBResources:
        """The DuckDB resources every connection of this installation gets."""
        return self.duckdb_resources or default_duckdb_resources(Machine.of(self.home), self.home)

    @property
    def web_duckdb(self) -> DuckDBResources:
        """The DuckDB resources of a web worker's serving connection: the installation's, with
        the web workers' memory limit."""
        base = self.duckdb
        return replace(base, memory_bytes=min(self.web_duckdb_memory_bytes, base.memory_bytes))

    # The pipeline's risk step retrains a risk model once it is this many days old (or missing).
    risk_retrain_days: float = 7.0

    # Folders and files under home.
    @property
    def outbox(self) -> Path:
        """Approved action requests, one folder per executing system (`actions.outbox`)."""
        return self.home / "outbox"

    @property
    def inbox(self) -> Path:
        """Where extracts are dropped: inbox/{erp,wms,tms}/."""
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        """Where landed files are moved after their batch commits."""
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        """Where files that cannot be read at all are moved, with a reason file."""
        return self.home / "quarantine"

    @property
    def user_kpi_definitions(self) -> Path:
        """This installation's own KPIs (`*.yml`) and base models (`models/*.yml`)."""
        return self.home / "kpi_definitions"

    @property
    def user_mappings(self) -> Path:
        """This installation's own source mappings (`*.yml`)."""
        return self.home / "mappings"

    @property
    def kpi_definitions(self) -> tuple[Path, ...]:
        """The folders loaded as one KPI catalog: the product's, then the data folder's own if
        it exists. A name defined in both is refused by the catalog loader."""
        return _with_user_folder(self.kpi_definitions_dir, self.user_kpi_definitions)

    @property
    def mappings(self) -> tuple[Path, ...]:
        """The folders source mappings are looked up in (`<home>/sources.yml` enables them by
        name): the product's, then the data folder's own if it exists. A name in both is refused."""
        return _with_user_folder(self.mappings_dir, self.user_mappings)

    @property
    def models_dir(self) -> Path:
        """The stored risk models (`<version>.joblib` and its card); models load only from here."""
        return self.home / "models"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file the pipeline writes (one writer: the scheduler or ingest)."""
        return self.home / "warehouse.duckdb"

    @property
    def sources_config(self) -> Path:
        """`sources.yml`: which source mappings of the mappings folders run (`enabled: [...]`)."""
        return self.home / "sources.yml"

    @property
    def serving_dir(self) -> Path:
        """Read-only snapshots of the warehouse for the web app and CLI readers."""
        return self.home / "serving"

    @property
    def alert_rules_path(self) -> Path:
        """The KPI alert rules of this installation (YAML; optional)."""
        return self.home / "alert_rules.yml"

    @property
    def escalation_path(self) -> Path:
        """Escalation policies for items past their SLA (YAML; optional)."""
        return self.home / "escalation.yml"

    @property
    def subscriptions_path(self) -> Path:
        """Who follows which queues and KPI alerts, and where their daily digest goes (YAML;
        optional)."""
        return self.home / "subscriptions.yml"

    @property
    def approval_rules_path(self) -> Path:
        """Which action requests need whose approval, by type and value (YAML; optional)."""
        return self.home / "approval_rules.yml"

    @property
    def writer_lock_path(self) -> Path:
        """Lock file held by the one process that writes the warehouse."""
        return self.home / "writer.lock"

    def with_home(self, home: Path) -> Settings:
        """The same settings pointed at another data folder (tests, tools)."""
        resources = self.duckdb_resources
        if resources is not None and resources.temp_dir.is_relative_to(self.home):
            moved = home / resources.temp_dir.relative_to(self.home)
            resources = replace(resources, temp_dir=moved)
        lake = self.lake_dir
        if lake is not None and lake.is_relative_to(self.home):
            lake = home / lake.relative_to(self.home)
        return replace(
            self,
            home=home,
            app_db_url=_default_app_db_url(home),
            duckdb_resources=resources,
            lake_dir=lake,
        )

    def ensure_dirs(self) -> None:
        """Create the data folders this installation uses, owner-only (`private_dir`)."""
        for path in (self.home, self.inbox, self.archive, self.rejected, self.serving_dir):
            private_dir(path)
        for system in ("erp", "wms", "tms"):
            private_dir(self.inbox / system)


def _with_user_folder(product: Path, user: Path) -> tuple[Path, ...]:
    return resources.folders(product, user if user.is_dir() else None)


def _default_app_db_url(home: Path) -> str:
    return f"sqlite:///{(home / 'app.sqlite').resolve()}"


def _secret_key(home: Path) -> str:
    """The session secret: from the environment, else generated once and kept in home."""
    configured = _env("SECRET_KEY")
    if configured is not None:
        if len(configured) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
        return configured
    path = home / ".secret_key"
    if path.exists():
        return path.read_text().strip()
    private_dir(home)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)
        fh.write(key)
    return key


def _count(name: str, default: int, least: int = 0) -> int:
    raw = _env(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise SettingsError(f"{PREFIX}{name}={raw!r} must be a whole number, {least} or more")
    return int(raw)


def _cookie_secure() -> bool | None:
    raw = (_env("COOKIE_SECURE", "auto") or "auto").lower()
    choices = {"auto": None, "true": True, "1": True, "false": False, "0": False}
    if raw not in choices:
        raise SettingsError(f"{PREFIX}COOKIE_SECURE={raw!r} must be auto, true or false")
    return choices[raw]


def _webhook_url(name: str) -> str | None:
    url = _env(name)
    if url is not None and not url.startswith(("http://", "https://")):
        raise SettingsError(f"{PREFIX}{name}={url!r} must be an http:// or https:// URL")
    return url


def _action_webhook() -> tuple[str | None, str | None]:
    """The action webhook's URL and signing secret: both or neither (an unsigned post could be
    forged by anyone who can reach the receiver)."""
    url, secret = _webhook_url("ACTION_WEBHOOK_URL"), _env("ACTION_WEBHOOK_SECRET")
    if url is not None and not secret:
        raise SettingsError(
            f"{PREFIX}ACTION_WEBHOOK_URL is set but {PREFIX}ACTION_WEBHOOK_SECRET is not: "
            "every action webhook post is signed, set a secret of at least 16 characters"
        )
    if secret is not None and len(secret) < 16:
        raise SettingsError(f"{PREFIX}ACTION_WEBHOOK_SECRET must be at least 16 characters long")
    return url, secret


def _at_least(name: str, value: int, minimum: int, unit: str = " bytes") -> int:
    if value < minimum:
        raise SettingsError(
            f"{PREFIX}{name}={_env(name)!r} is {value}{unit}: DuckDB needs at least {minimum}{unit}"
        )
    return value


def _duckdb_resources(home: Path) -> DuckDBResources:
    """DuckDB's resources: the machine defaults, each replaced by its variable when set."""
    temp_dir = home / Path(_env("DUCKDB_TEMP_DIR") or "duckdb_tmp").expanduser()
    machine = Machine.of(temp_dir)
    base = default_duckdb_resources(machine, home)
    threads = _count("DUCKDB_THREADS", base.threads)
    if threads > MAX_THREADS:
        raise SettingsError(f"{PREFIX}DUCKDB_THREADS={threads} is more than {MAX_THREADS}")
    return DuckDBResources(
        memory_bytes=_size("DUCKDB_MEMORY", base.memory_bytes, machine.ram_bytes, MIN_MEMORY),
        threads=_at_least("DUCKDB_THREADS", threads, 1, unit=""),
        temp_dir=temp_dir,
        temp_max_bytes=_size("DUCKDB_TEMP_MAX", base.temp_max_bytes, machine.free_disk_bytes),
    )


def _size(name: str, default: int, of: int, least: int = MIN_TEMP) -> int:
    """A size variable's bytes (`parse_size`, a share of `of`), `default` when unset."""
    raw = _env(name)
    try:
        size = default if raw is None else parse_size(raw, of=of, what=f"{PREFIX}{name}")
    except SizeError as error:
        raise SettingsError(str(error)) from None
    return _at_least(name, size, least)


def _currency(name: str, default: str) -> str:
    """An ISO 4217 currency code variable: three capital letters such as USD or EUR."""
    raw = _env(name)
    if raw is None:
        return default
    if len(raw) != 3 or not raw.isascii() or not raw.isalpha() or not raw.isupper():
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} must be an ISO 4217 currency code: three capital letters "
            "such as USD or EUR"
        )
    return raw


def load_settings(home: Path | str | None = None) -> Settings:
    """Read settings from the environment (`home` overrides CONTROL_TOWER_HOME)."""
    home_path = Path(home if home is not None else _env("HOME", "./data") or "./data")
    home_path = home_path.expanduser().resolve()
    keep = int(_positive_float("KEEP_SNAPSHOTS", 3))
    clock()  # a bad CONTROL_TOWER_NOW is refused at start, not at the first timestamp
    action_webhook = _action_webhook()
    return Settings(
        home=home_path,
        app_db_url=_env("APP_DB_URL") or _default_app_db_url(home_path),
        ingest_every_minutes=_positive_float("INGEST_EVERY_MINUTES", 5.0),
        secret_key=_secret_key(home_path),
        keep_snapshots=max(keep, 2),
        login_max_attempts=int(_positive_float("LOGIN_MAX_ATTEMPTS", 5)),
        lockout_minutes=_positive_float("LOCKOUT_MINUTES", 15.0),
        session_hours=_positive_float("SESSION_HOURS", 12.0),
        cookie_secure=_cookie_secure(),
        idle_minutes=_positive_float("IDLE_MINUTES", 30.0),
        trusted_proxies=_count("TRUSTED_PROXIES", 0),
        max_request_bytes=int(_positive_float("MAX_REQUEST_MB", 2.0) * 1_000_000),
        kpi_computations_per_minute=int(_positive_float("KPI_COMPUTATIONS_PER_MINUTE", 30)),
        web_workers=_count("WEB_WORKERS", available_cores(), least=1),
        web_threads=_count("WEB_THREADS", 4, least=1),
        web_duckdb_memory_bytes=_size(
            "WEB_DUCKDB_MEMORY", WEB_MEMORY, Machine.of(home_path).ram_bytes, MIN_MEMORY
        ),
        web_warm_seconds=_count("WEB_WARM_SECONDS", 5),
        smtp_host=_env("SMTP_HOST"),
        smtp_port=int(_positive_float("SMTP_PORT", 25)),
        alert_email_from=_env("ALERT_EMAIL_FROM") or "control-tower@localhost",
        alert_email_to=tuple(
            a.strip() for a in (_env("ALERT_EMAIL_TO") or "").split(",") if a.strip()
        ),
        alert_webhook_url=_webhook_url("ALERT_WEBHOOK_URL"),
        outbox_retry_minutes=_positive_float("OUTBOX_RETRY_MINUTES", 5.0),
        outbox_retry_max_hours=_positive_float("OUTBOX_RETRY_MAX_HOURS", 6.0),
        outbox_give_up_hours=_positive_float("OUTBOX_GIVE_UP_HOURS", 72.0),
        action_webhook_url=action_webhook[0],
        action_webhook_secret=action_webhook[1],
        action_confirm_grace_days=_count("ACTION_CONFIRM_GRACE_DAYS", 2),
        duckdb_resources=_duckdb_resources(home_path),
        step_retry_minutes=_positive_float("STEP_RETRY_MINUTES", 15.0),
        step_retry_max_hours=_positive_float("STEP_RETRY_MAX_HOURS", 24.0),
        full_refresh_hours=_positive_float("FULL_REFRESH_HOURS", 24.0),
        reporting_currency=_currency("REPORTING_CURRENCY", "USD"),
        risk_retrain_days=_positive_float("RISK_RETRAIN_DAYS", 7.0),
        kpi_definitions_dir=Path(_env("KPI_DEFINITIONS") or DEFAULT_KPI_DEFINITIONS)
        .expanduser()
        .resolve(),
        mappings_dir=Path(_env("MAPPINGS") or DEFAULT_MAPPINGS).expanduser().resolve(),
        lake_dir=_lake_dir(home_path),
    )


def _lake_dir(home: Path) -> Path | None:
    """CONTROL_TOWER_LAKE_DIR (relative to the data folder), or None: no lake is published."""
    raw = _env("LAKE_DIR")
    return None if raw is None else (home / Path(raw).expanduser()).resolve()


# --- the clock ----------------------------------------------------------------------------------

_CLOCK_STARTED = datetime.now(UTC)  # the real instant at which this process's clock started


def _clock_start(raw: str) -> datetime:
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}NOW must be an ISO 8601 instant such as 2026-03-15T11:00:00Z, got {raw!r}"
        ) from None
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)


def clock() -> datetime:
    """The current instant (aware, UTC): what the product means by "now" and "today".

    CONTROL_TOWER_NOW (an ISO 8601 instant, UTC unless it says otherwise) sets the clock to
    that instant when the process starts (each process starts its own); it runs on in real
    time from there. A demo or a test suite uses it to read its data as of the day the data
    was extracted, whatever the day it runs.
    """
    real = datetime.now(UTC)
    raw = _env("NOW")
    return real if raw is None else _clock_start(raw) + (real - _CLOCK_STARTED)


def utc_now() -> datetime:
    """The clock as naive UTC, the warehouse's convention."""
    return clock().replace(tzinfo=None)
