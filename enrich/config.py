"""Settings: defaults, then the user's file, then the environment, then flags.

``config/default.toml`` is both the defaults and the schema: a key the user
sets must exist there and have the same type as its default. The result is a
tree of frozen dataclasses. Every mistake is one :class:`ConfigError` that
names the file, the key and what is allowed.

Modules that own a settings table read it with ``config.section("analysis",
AnalysisConfig)``, so this module stays generic.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from enrich.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")  # a settings dataclass

SOURCES = ("lastfm", "musicbrainz", "claude")

# Environment variables and the setting each one overrides.
ENV_OVERRIDES = {
    "ENRICH_DB": "paths.db",
    "ENRICH_CACHE_DIR": "paths.cache_dir",
    "LASTFM_API_KEY": "sources.lastfm.api_key",
    "ANTHROPIC_API_KEY": "sources.claude.api_key",
}

# Settings whose value is a secret: never echoed in an error or a repr.
SECRET_KEYS = frozenset({"sources.lastfm.api_key", "sources.claude.api_key"})

# Tables whose keys the user may choose freely (their values still type-check
# against the first default value in the table).
OPEN_TABLES: frozenset[str] = frozenset()


def config_dir() -> Path:
    """Where the bundled config/ lives: the source tree, or inside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "config", here / "_config"):
        if (candidate / "default.toml").is_file():
            return candidate
    raise ConfigError("enrich is installed without its config/default.toml; reinstall it")


def xdg(kind: str, env: Mapping[str, str]) -> str:
    fallback = {"DATA": "~/.local/share", "CACHE": "~/.cache", "CONFIG": "~/.config"}[kind]
    return os.path.expanduser(env.get(f"XDG_{kind}_HOME") or fallback)


def expand_path(value: str, env: Mapping[str, str]) -> Path:
    for kind in ("DATA", "CACHE", "CONFIG"):
        value = value.replace(f"$XDG_{kind}_HOME", xdg(kind, env))
    return Path(os.path.expanduser(os.path.expandvars(value)))


# ---------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class PathsConfig:
    db: Path
    cache_dir: Path
    library: tuple[Path, ...]


@dataclass(frozen=True)
class ScanConfig:
    workers: int
    follow_symlinks: bool
    leave_roots: bool
    read_timeout: float
    read_memory_mb: int
    chunk_size: int
    extensions: tuple[str, ...]


@dataclass(frozen=True)
class StoreConfig:
    batch_size: int
    flush_interval: float
    queue_size: int
    busy_timeout_ms: int


@dataclass(frozen=True)
class HttpConfig:
    contact: str
    cache_max_mb: int


@dataclass(frozen=True)
class SourceConfig:
    name: str
    enabled: bool
    base_url: str
    rate: float
    burst: int
    concurrency: int
    timeout: float
    ttl_days: float
    negative_ttl_days: float
    max_retries: int
    breaker_threshold: int
    api_key: str = field(default="", repr=False)
    user_agent: str = ""
    model: str = ""
    # Source-specific settings beyond the common ones, as read from the file.
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Config:
    paths: PathsConfig
    scan: ScanConfig
    store: StoreConfig
    http: HttpConfig
    sources: Mapping[str, SourceConfig]
    # The merged, validated tree and where each value came from.
    tree: Mapping[str, Any] = field(repr=False)
    origins: Mapping[str, str] = field(repr=False)
    user_file: Path | None = None  # the settings file read over the defaults, if any

    def section(self, dotted: str, cls: type[T]) -> T:
        """Build the dataclass ``cls`` from the table at ``dotted``."""
        table: Any = self.tree
        for part in dotted.split("."):
            table = table[part]
        return build(cls, table, dotted, self.origins)

    def workers(self, requested: int | None, configured: int) -> int:
        """The worker count: the flag if given, else the setting; 0 means cores."""
        n = requested if requested is not None else configured
        return n if n > 0 else (os.cpu_count() or 1)


# ---------------------------------------------------------------- loading


def load(
    config_file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Load settings. ``overrides`` maps dotted keys to values from flags."""
    env = os.environ if env is None else env
    defaults_path = config_dir() / "default.toml"
    tree = read_toml(defaults_path)
    origins: dict[str, str] = {}
    note_origins(tree, "", str(defaults_path), origins)

    user_path = find_user_file(config_file, env)
    if user_path is not None:
        merge(tree, read_toml(user_path), "", str(user_path), origins)

    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            set_dotted(tree, key, env[var], f"${var}", origins)
    for key, value in (overrides or {}).items():
        if value is not None:
            set_dotted(tree, key, value, "command line", origins)

    return dataclasses.replace(build_config(tree, origins, env), user_file=user_path)


def find_user_file(config_file: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if config_file:
        path = Path(config_file).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (given with --config)")
        return path
    if env.get("ENRICH_CONFIG"):
        path = Path(env["ENRICH_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (given in $ENRICH_CONFIG)")
        return path
    path = Path(xdg("CONFIG", env)) / "enrich" / "config.toml"
    return path if path.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc


def note_origins(tree: dict[str, Any], prefix: str, origin: str, origins: dict[str, Any]) -> None:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        origins[dotted] = origin
        if isinstance(value, dict):
            note_origins(value, dotted + ".", origin, origins)


def merge(base: dict[str, Any], user: dict[str, Any], prefix: str, origin: str, origins: dict[str, Any]) -> None:
    """Merge ``user`` into ``base`` in place, checking keys and types against base."""
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        table = prefix.rstrip(".")
        if key not in base:
            if table in OPEN_TABLES and base:
                template = next(iter(base.values()))
            else:
                allowed = ", ".join(sorted(base)) or "(none)"
                where = f"[{table}]" if table else "the top level"
                raise ConfigError(f"{origin}: unknown key '{dotted}' in {where}; allowed: {allowed}")
        else:
            template = base[key]
        if isinstance(template, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: '{dotted}' must be a table")
            base.setdefault(key, {})
            merge(base[key], value, dotted + ".", origin, origins)
            continue
        base[key] = check_type(dotted, value, template, origin)
        origins[dotted] = origin


def set_dotted(tree: dict[str, Any], dotted: str, value: Any, origin: str, origins: dict[str, Any]) -> None:
    *parents, leaf = dotted.split(".")
    table = tree
    for part in parents:
        table = table[part]
    table[leaf] = check_type(dotted, value, table[leaf], origin)
    origins[dotted] = origin


def describe(template: Any) -> str:
    if isinstance(template, bool):
        return "true or false"
    if isinstance(template, int):
        return "a whole number"
    if isinstance(template, float):
        return "a number"
    if isinstance(template, str):
        return "a string"
    if isinstance(template, list):
        inner = describe(template[0]) if template else "values"
        return f"a list of {inner}s".replace("a list of a ", "a list of ")
    return type(template).__name__


def check_type(dotted: str, value: Any, template: Any, origin: str) -> Any:
    shown = "(hidden)" if dotted in SECRET_KEYS else repr(value)
    bad = ConfigError(f"{origin}: '{dotted}' = {shown} is not allowed; expected {describe(template)}")
    if isinstance(template, bool):
        if isinstance(value, str) and origin.startswith("$"):
            value = value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise bad
    elif isinstance(template, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif isinstance(template, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
    elif isinstance(template, str):
        if not isinstance(value, str):
            value = str(value) if isinstance(value, os.PathLike) else value
        if not isinstance(value, str):
            raise bad
    elif isinstance(template, list):
        if not isinstance(value, list):
            raise bad
        if template:
            value = [check_type(dotted, v, template[0], origin) for v in value]
    return value


# ---------------------------------------------------------------- building

RULES: dict[str, tuple[Any, str]] = {
    # suffix of a dotted key -> (predicate, what is allowed)
    "rate": (lambda v: v > 0, "a number above 0 (requests per second)"),
    "burst": (lambda v: v >= 1, "a whole number of at least 1"),
    "concurrency": (lambda v: v >= 1, "a whole number of at least 1"),
    "timeout": (lambda v: v > 0, "a number of seconds above 0"),
    "ttl_days": (lambda v: v >= 0, "a number of days, 0 or more"),
    "negative_ttl_days": (lambda v: v >= 0, "a number of days, 0 or more"),
    "max_retries": (lambda v: v >= 0, "a whole number, 0 or more"),
    "breaker_threshold": (lambda v: v >= 1, "a whole number of at least 1"),
    "workers": (lambda v: v >= 0, "a whole number, 0 or more (0 = one per core)"),
    "batch_size": (lambda v: v >= 1, "a whole number of at least 1"),
    "queue_size": (lambda v: v >= 1, "a whole number of at least 1"),
    "flush_interval": (lambda v: v > 0, "a number of seconds above 0"),
    "read_timeout": (lambda v: v > 0, "a number of seconds above 0"),
    "read_memory_mb": (lambda v: v >= 64, "a whole number of MB, at least 64"),
    "chunk_size": (lambda v: v >= 1, "a whole number of at least 1"),
}


def check_rules(tree: dict[str, Any], prefix: str, origins: Mapping[str, str]) -> None:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            check_rules(value, dotted + ".", origins)
        elif key in RULES and isinstance(value, (int, float)):
            ok, allowed = RULES[key]
            if not ok(value):
                raise ConfigError(
                    f"{origins.get(dotted, 'config')}: '{dotted}' = {value!r} is not allowed; expected {allowed}"
                )


def build(cls: type[T], table: Mapping[str, Any], dotted: str, origins: Mapping[str, str]) -> T:
    """Make dataclass ``cls`` from a validated table; lists become tuples."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{config_dir() / 'default.toml'}: [{dotted}] lacks '{f.name}'")
            continue
        value = table[f.name]
        hint = hints[f.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            value = build(hint, value, f"{dotted}.{f.name}", origins)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = types.MappingProxyType(dict(value))
        values[f.name] = value
    return cls(**values)


def build_config(tree: dict[str, Any], origins: dict[str, Any], env: Mapping[str, str]) -> Config:
    check_rules(tree, "", origins)
    paths = tree["paths"]
    paths_cfg = PathsConfig(
        db=expand_path(paths["db"], env),
        cache_dir=expand_path(paths["cache_dir"], env),
        library=tuple(expand_path(p, env) for p in paths["library"]),
    )
    common = {f.name for f in dataclasses.fields(SourceConfig)} - {"name", "options"}
    sources = {}
    for name in SOURCES:
        table = tree["sources"][name]
        sources[name] = SourceConfig(
            name=name,
            options=types.MappingProxyType({k: v for k, v in table.items() if k not in common}),
            **{k: v for k, v in table.items() if k in common},
        )
    return Config(
        paths=paths_cfg,
        scan=build(ScanConfig, tree["scan"], "scan", origins),
        store=build(StoreConfig, tree["store"], "store", origins),
        http=build(HttpConfig, tree["http"], "http", origins),
        sources=types.MappingProxyType(sources),
        tree=types.MappingProxyType(tree),
        origins=types.MappingProxyType(origins),
    )
