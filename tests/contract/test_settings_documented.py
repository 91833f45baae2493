"""Every setting an operator can give a service is documented in the README's configuration table.

The variable names are a contract (architecture.md, "Configuration"): a setting added to a service's
config without a README row is one nobody can find. Settings shared by every service are documented once
as a ``<SERVICE>_…`` row; the service's own name and its database name are derived, not configured.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from pydantic import AliasChoices

from shared.settings import ServiceSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"`([A-Z<][A-Z0-9_<>]+)`", README))

CONFIGS = {
    "GATEWAY_": "gateway.config",
    "IDENTITY_": "identity_service.config",
    "CAMPAIGN_": "campaign_service.config",
    "TAGGING_": "tagging_service.config",
    "MESSAGING_": "messaging_service.config",
    "METRICS_": "metrics_service.config",
}
# Derived from the package, never set by an operator (the database URL and service URLs have their rows).
DERIVED = {"service_name", "database_name", "service_urls"}


def _settings_class(module_name: str) -> type[ServiceSettings]:
    module = importlib.import_module(module_name)
    classes = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings]
    assert len(classes) == 1, f"{module_name} should define one settings class, found {classes}"
    return classes[0]


def _variable(prefix: str, name: str, alias: object) -> str:
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    if isinstance(alias, str):
        return alias.upper()
    return f"{prefix}{name}".upper()


@pytest.mark.parametrize("prefix", CONFIGS)
def test_every_setting_has_a_readme_row(prefix):
    cls = _settings_class(CONFIGS[prefix])
    missing = []
    for name, field in cls.model_fields.items():
        if name in DERIVED:
            continue
        variable = _variable(prefix, name, field.validation_alias)
        generic = "<SERVICE>_" + variable.removeprefix(prefix)
        if variable not in DOCUMENTED and generic not in DOCUMENTED:
            missing.append(variable)
    assert not missing, f"settings without a row in README.md's configuration table: {missing}"
