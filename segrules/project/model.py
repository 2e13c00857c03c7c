"""The ``segrules.yml`` project file as pydantic v2 models (the source of its JSON Schema too).

A project names its specs (files, folders, globs; each entry may pick its own target), the
default target (a named database connection), the state store and defaults for command options.
A target is either written in the project (``db:``) or refers to a profile of the user's
``~/.segrules/profiles.yml`` (``profile:``), where connections with credentials live outside the
repository. :class:`Connection` is the part targets and profiles share; settings for other
engines (issue 16: Spark) extend it with fields of their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


TargetType = Literal["duckdb", "postgres", "spark", "snowflake", "bigquery"]
Scalar = Union[str, int, float, bool]


class Connection(_Strict):
    """Where a target's tables are: a ``db:`` URL, or ``type:`` and that engine's fields
    (:data:`segrules.project.connections.FIELDS` says which; checked with positions when the file
    is loaded). Values may use ``${ENV_VAR}``, ``${ENV_VAR:-default}``, ``{{ env_var('NAME') }}``
    and ``{{ env_var('NAME', 'default') }}``, read from the environment when the target is used
    (never when the file is loaded)."""

    db: str | None = Field(
        None, description="DuckDB file (relative to the project file) or Ibis URL (postgres://...). "
        "Without it (and without type:) the target has no database: specs are checked against their "
        "schema: blocks only.")
    as_of: Union[datetime, date, None] = Field(
        None, description="The time the target's data is as of (a frozen dump, demo data): the default "
        "of --as-of for commands run on this target.")
    type: TargetType | None = Field(None, description="The engine of a typed target (instead of db:).")
    path: str | None = Field(None, description="duckdb: the database file (relative to the project file).")
    host: str | None = Field(None, description="postgres: the server.")
    port: Union[int, str, None] = Field(None, description="postgres: the port (default 5432).")
    user: str | None = Field(None, description="postgres, snowflake: the user.")
    password: str | None = Field(None, description="postgres, snowflake: the password; write "
                                 "{{ env_var('NAME') }} to keep it out of the file. Never shown.")
    dbname: str | None = Field(None, description="postgres: the database.")
    schema_: str | None = Field(None, alias="schema", description="postgres, snowflake: the schema.")
    master: str | None = Field(None, description="spark: the master of a local or cluster Spark (local[2]).")
    remote: str | None = Field(None, description="spark: a Spark Connect server, sc://host:15002.")
    token: str | None = Field(None, description="spark: the Spark Connect token. Never shown.")
    catalog: str | None = Field(None, description="spark: the catalog to read tables from.")
    database: str | None = Field(None, description="spark, snowflake: the database.")
    settings: dict[str, Scalar] | None = Field(None, description="spark: spark.* settings, applied when "
                                                "the session is built.")
    account: str | None = Field(None, description="snowflake: the account identifier.")
    warehouse: str | None = Field(None, description="snowflake: the warehouse.")
    role: str | None = Field(None, description="snowflake: the role.")
    project: str | None = Field(None, description="bigquery: the project id.")
    dataset: str | None = Field(None, description="bigquery: the dataset.")


class Target(Connection):
    """A named connection of the project: its own ``db:``, or a ``profile:`` of the user's profiles
    file (``~/.segrules/profiles.yml``, or the file ``$SEGRULES_PROFILES`` names)."""

    profile: Name | None = Field(
        None, description="Take the connection from this profile of the user's profiles file.")
    description: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Target":
        if self.profile is not None and (self.db is not None or self.type is not None):
            raise ValueError("give db:, type: or profile:, one of them")
        return self


class Profile(Connection):
    """A connection kept in the user's profiles file (credentials stay out of the repository)."""

    description: str | None = None


class ProfilesModel(_Strict):
    """``~/.segrules/profiles.yml``: named connections, shared by every project of the user."""

    profiles: dict[Name, Profile] = Field(default_factory=dict)


class SpecEntry(_Strict):
    """Spec files of the project: a file, a folder (every ``*.yaml``/``*.yml`` under it, test
    files excepted) or a glob, relative to the project file; ``target:`` for these specs."""

    path: str = Field(description="File, folder or glob (`**` crosses folders), relative to segrules.yml.")
    target: Name | None = Field(None, description="The target of these specs (default: the project's).")
    reason: str | None = Field(None, description="Why these specs get their own target.")


class Exclusion(_Strict):
    """Files under the spec paths that are not part of the project, and why."""

    path: str = Field(description="File or glob relative to segrules.yml.")
    reason: str = Field(description="Why the file is kept out of the project.")


class ProjectModel(_Strict):
    """``segrules.yml``: the project at the root of a repository of specs."""

    version: Literal[1] = Field(description="Project file format version.")
    name: Name | None = Field(None, description="Name of the project.")
    specs: list[Union[str, SpecEntry]] = Field(
        default_factory=lambda: ["."], description="Spec files, folders or globs; a later entry's target "
        "wins for a file several entries match.")
    exclude: list[Union[str, Exclusion]] = Field(
        default_factory=list, description="Files or globs that are not specs of the project.")
    target: Name | None = Field(None, description="The default target (a key of targets:).")
    targets: dict[Name, Target] = Field(default_factory=dict, description="Named connections.")
    state: str | None = Field(
        None, description="State store (history, sync state): a DuckDB file relative to the project file, "
        "or URL#schema. Default: .segrules/state.duckdb beside segrules.yml.")
    defaults: dict[Name, dict[str, Any]] = Field(
        default_factory=dict, description="Option defaults per command: {validate: {strict: true}, "
        "audit: {min_size: 5}} (option names as the command's parameters, - or _).")

    def entries(self) -> list[SpecEntry]:
        return [SpecEntry(path=e) if isinstance(e, str) else e for e in self.specs]

    def exclusions(self) -> list[Exclusion]:
        return [Exclusion(path=e, reason="") if isinstance(e, str) else e for e in self.exclude]
