"""Root conftest: make the installed packages win over same-named folders.

pytest's importlib mode names a test module after its path
(``gateway/tests/unit/test_x.py`` → ``gateway.tests.unit.test_x``) and would
otherwise bind ``gateway`` and ``shared`` to the repository folders of those
names instead of the installed packages.
"""

import gateway  # noqa: F401
import shared  # noqa: F401
