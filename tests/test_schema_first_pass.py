"""The first pass of a cold index (WorkspaceIndex.index_all with `schema_first`) parses what the
schema-first look reads: the migrations, the model modules, and the modules whose names they
read (through re-exports and star imports, in function bodies; a settings module that importlib
loads, read as an attribute of its package), transitively; the application's other code waits for the second
pass, also the modules the models import but read nothing of. What the first look sees of the
schema is what the full index builds."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import write_files

SERVICES = 210  # a workspace of 200 Python files or more is indexed in two passes

FILES = {
    "app/__init__.py": "",
    "app/models.py": (
        "from sqlalchemy import Column, Index, Integer\nfrom sqlalchemy.orm import declarative_base\n"
        "from app.services.service_1 import handle_1\n"  # imported, read by nothing the models hold
        "from app.names import TOTAL_INDEX\n"
        "from app import settings\nfrom app.types import money\n\nBase = declarative_base()\n"
        "key_definitions = settings.dynamic_settings.key_definitions((Integer, {}))\n\n\n"
        "def key_type(name):\n    return key_definitions[name][0]\n\n\n"
        "class Order(Base):\n    __tablename__ = 'orders'\n    id = Column(Integer, primary_key=True)\n"
        "    total = Column(money())\n    user_id = Column(key_type('User'))\n\n\n"
        "Index(TOTAL_INDEX, Order.total)\n"),  # a module-level call reads a name too
    "app/names.py": "TOTAL_INDEX = 'ix_orders_by_total'\n",
    "app/types/__init__.py": "from app.types.numbers import *\n",
    "app/types/numbers.py": ("from sqlalchemy import Numeric\nfrom app.constants import SCALE\n\n\n"
                             "def money():\n    return Numeric(12, SCALE)\n"),
    "app/constants.py": ("from app.services.service_2 import handle_2\n\nSCALE = 3\n\n\n"
                         "def pay(order):\n    return handle_2(order)\n"),  # a name no model reads
    # redash: dynamic_settings = importlib.import_module(os.environ.get(..., "redash.settings.dynamic_settings"))
    "app/settings/__init__.py": ("import importlib\nimport os\n\n"
                                 "dynamic_settings = importlib.import_module(os.environ.get('APP_SETTINGS', "
                                 "'app.settings.dynamic_settings'))\n"),
    "app/settings/dynamic_settings.py": "def key_definitions(default):\n    return {'User': default}\n",
    # applies the migrations at startup: the lock checks hold back (AuditContext.migrations_run_offline)
    "app/startup.py": "from flask_migrate import upgrade\n\n\ndef boot(app):\n    upgrade()\n",
    "app/billing.py": "def upgrade(plan):\n    return plan.next\n",  # an everyday word
    **{f"app/services/service_{number}.py": f"def handle_{number}(order):\n    return order.total\n"
       for number in range(SERVICES)},
}


def test_the_first_pass_reads_the_models_and_what_they_read_only(tmp_path: Path):
    write_files(tmp_path, FILES)
    index = WorkspaceIndex(tmp_path, workers=1, cache_dir=tmp_path / "cache")
    looked: list = []
    model = index.index_all(schema_first=looked.append)
    first = looked[0]
    assert first.orm.tables == model.orm.tables
    orders = model.orm.tables["orders"]
    assert [column.type for column in orders.columns] == ["integer", "numeric(12,3)", "integer"]
    assert [index.name for index in orders.indexes] == ["ix_orders_by_total"]
    assert {"app/models.py", "app/types/__init__.py", "app/types/numbers.py", "app/constants.py", "app/names.py",
            "app/settings/__init__.py", "app/settings/dynamic_settings.py"} <= set(first.summaries)
    assert first.migrating_modules == model.migrating_modules == {"app/startup.py"}
    assert not {"app/services/service_0.py", "app/services/service_1.py", "app/services/service_2.py",
                "app/billing.py"} & set(first.summaries)
    assert first.files["app/services/service_0.py"] == "python"  # known, not read yet
    assert "app/services/service_0.py" in model.summaries
