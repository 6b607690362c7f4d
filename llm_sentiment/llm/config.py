"""The router config (LiteLLM Router's shape): model groups, retries, timeout, fallbacks, aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment.errors import ConfigError

LOCAL_PROVIDER = "local"


class Deployment(BaseModel):
    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return str(self.litellm_params.get("model", "")).startswith(f"{LOCAL_PROVIDER}/")

    @property
    def local_name(self) -> str:
        """The embedded model's name, ``qwen2.5-coder-1.5b`` of ``local/qwen2.5-coder-1.5b``."""
        return str(self.litellm_params["model"]).split("/", 1)[1]


class RouterSettings(BaseModel):
    num_retries: int = Field(1, ge=0)
    timeout: float = Field(600, gt=0)
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    model_group_alias: dict[str, str] = Field(
        default_factory=dict,
        description="Model names clients send (e.g. a vendor's) mapped to a model group; '*' maps any other name.",
    )


class RouterConfig(BaseModel):
    model_list: list[Deployment]
    router_settings: RouterSettings = Field(default_factory=RouterSettings)

    @classmethod
    def load(cls, path: Path) -> RouterConfig:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot read router config {path}: {exc.strerror}",
                hint="Set LLM_SENTIMENT_ROUTER_CONFIG to a models.yaml.",
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"router config {path} is not valid YAML: {exc}") from None
        try:
            config = cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"router config {path}: {where}: {first['msg']}") from None
        config.check()
        return config

    def check(self) -> None:
        names = {d.model_name for d in self.model_list}
        for rule in self.router_settings.fallbacks:
            for primary, backups in rule.items():
                unknown = [m for m in (primary, *backups) if m not in names]
                if unknown:
                    raise ConfigError(
                        f"router_settings.fallbacks names unknown models: {', '.join(unknown)}",
                        hint=f"Known model groups: {', '.join(sorted(names))}.",
                    )

        unknown_targets = sorted(t for t in self.router_settings.model_group_alias.values() if t not in names)
        if unknown_targets:
            raise ConfigError(
                f"router_settings.model_group_alias maps to unknown models: {', '.join(unknown_targets)}",
                hint=f"Known model groups: {', '.join(sorted(names))}.",
            )

    def resolve(self, model: str) -> str:
        """The model group a client's model name means: a group itself, an alias, or the '*' alias."""
        if model in self.groups():
            return model
        aliases = self.router_settings.model_group_alias
        target = aliases.get(model) or aliases.get("*")
        if target is None:
            raise ConfigError(
                f"unknown model {model!r}",
                hint=f"Model groups: {', '.join(self.groups())}; or add it to router_settings.model_group_alias.",
            )
        return target

    def groups(self) -> list[str]:
        return list(dict.fromkeys(d.model_name for d in self.model_list))

    def fallbacks_for(self, model: str) -> list[str]:
        for rule in self.router_settings.fallbacks:
            if model in rule:
                return list(rule[model])
        return []
